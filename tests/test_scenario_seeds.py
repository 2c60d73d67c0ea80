"""Seeds 000 (blue-green), 002/004 (abort, retry, template back to stable, reuse of an old
ReplicaSet), 001 (a crashing image -> ProgressDeadlineExceeded), replayed with --now."""

import json
import shutil

import pytest

from tests.backends import cli, get_view
from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow
BG = "rollout-test-bluegreen-nginx"
CANARY = "rollout-test-canary-nginx"


def at(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"2026-01-01T{hours:02d}:{minutes:02d}:{secs:02d}Z"


def set_image(path, old, new):
    path.write_text(path.read_text().replace(f"image: {old}", f"image: {new}"))


def tags(view):
    return [(rs["revision"], rs["replicas"], rs["tags"]) for rs in view["replicaSets"]]


def test_seed000_bluegreen(backend, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "bluegreen-nginx", repo)
    manifest = repo / "nginx_blue-green.yaml"
    assert cli(backend, "run", str(repo), now=at(0)).returncode == 0
    view = get_view(backend, BG, at(16))
    assert (view["status"], view["strategy"]) == ("Healthy", "BlueGreen")
    assert tags(view) == [(1, 5, ["stable", "active"])]

    set_image(manifest, "nginx:1.14.1", "nginx:1.14.2")
    cli(backend, "run", str(repo), now=at(840))
    view = get_view(backend, BG, at(853))
    assert (view["status"], view["message"]) == ("Progressing", "active service cutover pending")
    # as seed 000 shows (and Argo's TestBlueGreenRolloutStatusHPAStatusFieldsActiveSelectorSet):
    # Ready/Available count the ReplicaSet the active Service selects, not the preview's pods
    assert view["replicas"] == {"desired": 5, "current": 10, "updated": 5, "ready": 5, "available": 5}
    # Seed 000 shows revision 2 tagged preview here. The preview Service moves to a ReplicaSet only
    # once a run has seen its pods available (DESIGN rule 7, issue 10 §2): the run at 840 created
    # it, so the preview Service still selects revision 1; the next run moves both Services at once.
    assert tags(view) == [(2, 5, []), (1, 5, ["stable", "active"])]

    cli(backend, "run", str(repo), now=at(854))  # available: the active Service switches
    view = get_view(backend, BG, at(856))
    assert view["status"] == "Healthy"
    assert tags(view) == [(2, 5, ["stable", "active"]), (1, 5, [])]
    assert view["replicaSets"][1]["scaleDownDeadline"] == at(884)
    cluster = backend.cluster()
    active = cluster.get("Service", "default", "rollout-test-bluegreen-active")
    assert active["spec"]["selector"]["rollouts-pod-template-hash"] == view["replicaSets"][0]["podTemplateHash"]

    cli(backend, "run", str(repo), now=at(870))  # within scaleDownDelaySeconds: old still up
    assert get_view(backend, BG, at(871))["replicaSets"][1]["replicas"] == 5
    cli(backend, "run", str(repo), now=at(885))
    view = get_view(backend, BG, at(886))
    assert [(rs["revision"], rs["status"]) for rs in view["replicaSets"]] == [(2, "Healthy"), (1, "ScaledDown")]
    assert view["replicas"]["current"] == 5


def test_bluegreen_manual_promotion_skips_middle_revision(backend, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "bluegreen-nginx", repo)
    manifest = repo / "nginx_blue-green.yaml"
    text = manifest.read_text().replace("autoPromotionEnabled: true", "autoPromotionEnabled: false")
    if "autoPromotionEnabled" not in text:
        text = text.replace("activeService: rollout-test-bluegreen-active", "activeService: rollout-test-bluegreen-active\n      autoPromotionEnabled: false")
    manifest.write_text(text)
    cli(backend, "run", str(repo), now=at(0))
    set_image(manifest, "nginx:1.14.1", "nginx:1.14.2")
    cli(backend, "run", str(repo), now=at(10))
    cli(backend, "run", str(repo), now=at(20))
    view = get_view(backend, BG, at(21))
    assert (view["status"], view["message"]) == ("Paused", "BlueGreenPause")
    set_image(manifest, "nginx:1.14.2", "nginx:1.14.3")
    cli(backend, "run", str(repo), now=at(30))
    view = get_view(backend, BG, at(31))
    assert [(rs["revision"], rs["replicas"]) for rs in view["replicaSets"]] == [(3, 5), (2, 0), (1, 5)]
    cli(backend, "run", str(repo), now=at(40))
    assert get_view(backend, BG, at(41))["status"] == "Paused"
    assert cli(backend, "promote", BG).returncode == 0
    cli(backend, "run", str(repo), now=at(50))
    view = get_view(backend, BG, at(51))
    assert view["status"] == "Healthy"
    assert tags(view)[0] == (3, 5, ["stable", "active"])


def _canary_repo(tmp_path, steps_yaml=None):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "canary-nginx", repo)
    return repo, repo / "nginx.yaml"


def test_abort_retry_and_back_to_stable(backend, tmp_path):
    repo, manifest = _canary_repo(tmp_path)
    cli(backend, "run", str(repo), now=at(0))
    set_image(manifest, "nginx:1.14.1", "nginx:1.14.2")
    cli(backend, "run", str(repo), now=at(10))
    cli(backend, "run", str(repo), now=at(20))
    assert get_view(backend, CANARY, at(21))["message"] == "CanaryPauseStep"

    assert cli(backend, "abort", CANARY).returncode == 0
    proc = cli(backend, "run", str(repo), now=at(30))
    assert proc.returncode == 1  # aborted this run
    view = get_view(backend, CANARY, at(31))
    assert (view["status"], view["message"]) == ("Degraded", "RolloutAborted: Rollout aborted update to revision 2")
    assert (view["step"], view["setWeight"], view["actualWeight"]) == (0, 0, 0)
    assert view["replicas"]["updated"] == 0 and view["replicas"]["available"] == 5
    assert tags(view) == [(2, 0, ["canary"]), (1, 5, ["stable"])]
    assert [i["image"] for i in view["images"]] == ["nginx/nginx-prometheus-exporter:0.11.0", "nginx:1.14.1"]
    assert cli(backend, "run", str(repo), now=at(40)).returncode == 0  # still Degraded, but not new
    assert get_view(backend, CANARY, at(41))["status"] == "Degraded"

    assert cli(backend, "retry", CANARY).returncode == 0
    cli(backend, "run", str(repo), now=at(50))
    view = get_view(backend, CANARY, at(51))
    assert (view["status"], view["step"], view["setWeight"]) == ("Progressing", 0, 20)

    cli(backend, "abort", CANARY)
    cli(backend, "run", str(repo), now=at(60))
    # seed 004: the template set back to the stable one is Healthy at once, under a new revision
    set_image(manifest, "nginx:1.14.2", "nginx:1.14.1")
    assert cli(backend, "run", str(repo), now=at(70)).returncode == 0
    view = get_view(backend, CANARY, at(71))
    assert (view["status"], view["step"], view["setWeight"]) == ("Healthy", 4, 100)
    assert tags(view) == [(3, 5, ["stable"]), (2, 0, [])]


def test_new_revision_mid_canary_and_undo_reuses_replicaset(backend, tmp_path):
    repo, manifest = _canary_repo(tmp_path)
    cli(backend, "run", str(repo), now=at(0))
    set_image(manifest, "nginx:1.14.1", "nginx:2")
    cli(backend, "run", str(repo), now=at(10))
    cli(backend, "run", str(repo), now=at(20))
    set_image(manifest, "nginx:2", "nginx:3")  # seed 002 figure 4: restart at step 0
    cli(backend, "run", str(repo), now=at(30))
    view = get_view(backend, CANARY, at(31))
    assert (view["step"], view["revision"]) == (0, 3)
    assert tags(view) == [(3, 1, ["canary"]), (2, 0, []), (1, 4, ["stable"])]
    cli(backend, "run", str(repo), now=at(40))
    assert get_view(backend, CANARY, at(41))["message"] == "CanaryPauseStep"
    set_image(manifest, "nginx:3", "nginx:2")  # undo: revision 4 from revision 2's ReplicaSet
    cli(backend, "run", str(repo), now=at(50))
    view = get_view(backend, CANARY, at(51))
    assert [(rs["revision"], rs["replicas"]) for rs in view["replicaSets"]] == [(4, 1), (3, 0), (1, 4)]
    assert len({rs["podTemplateHash"] for rs in view["replicaSets"]}) == 3


def test_promote_and_promote_full(backend, tmp_path):
    repo, manifest = _canary_repo(tmp_path)
    manifest.write_text(manifest.read_text().replace("pause: {duration: 60}", "pause: {}"))
    cli(backend, "run", str(repo), now=at(0))
    set_image(manifest, "nginx:1.14.1", "nginx:1.14.2")
    cli(backend, "run", str(repo), now=at(10))
    cli(backend, "run", str(repo), now=at(20))
    cli(backend, "run", str(repo), now=at(3600))  # an indefinite pause waits for promote
    assert get_view(backend, CANARY, at(3601))["step"] == 1
    cli(backend, "promote", CANARY)
    cli(backend, "run", str(repo), now=at(3610))
    view = get_view(backend, CANARY, at(3611))
    assert (view["step"], view["setWeight"]) == (2, 80)
    cli(backend, "promote", CANARY, "--full")
    cli(backend, "run", str(repo), now=at(3620))
    assert get_view(backend, CANARY, at(3621))["step"] == 4
    for t in (3630, 3640, 3650):
        cli(backend, "run", str(repo), now=at(t))
    assert get_view(backend, CANARY, at(3651))["status"] == "Healthy"


def test_promote_from_git_acts_once(backend, tmp_path):
    repo, manifest = _canary_repo(tmp_path)
    manifest.write_text(manifest.read_text().replace("pause: {duration: 60}", "pause: {}"))
    cli(backend, "run", str(repo), now=at(0))
    set_image(manifest, "nginx:1.14.1", "nginx:1.14.2")
    cli(backend, "run", str(repo), now=at(10))
    cli(backend, "run", str(repo), now=at(20))
    text = manifest.read_text().replace("  name: rollout-test-canary-nginx\n", "  name: rollout-test-canary-nginx\n  annotations:\n    reconciler.rollouts.io/promote: \"2\"\n", 1)
    manifest.write_text(text)
    cli(backend, "run", str(repo), now=at(30))
    assert get_view(backend, CANARY, at(31))["step"] == 2
    cli(backend, "run", str(repo), now=at(40))  # the stable shrinks within the budget
    cli(backend, "run", str(repo), now=at(50))
    assert get_view(backend, CANARY, at(51))["step"] == 3  # step 2 done; the next pause
    cli(backend, "run", str(repo), now=at(60))
    assert get_view(backend, CANARY, at(61))["step"] == 3  # the annotation acted once


def test_crashing_image_times_out(backend, tmp_path):
    repo, manifest = _canary_repo(tmp_path)
    backend.kubelet_config({"crash": ["nginx:broken*"]})
    cli(backend, "run", str(repo), now=at(0))
    set_image(manifest, "nginx:1.14.1", "nginx:broken")
    cli(backend, "run", str(repo), now=at(10))
    assert cli(backend, "run", str(repo), now=at(300)).returncode == 0
    view = get_view(backend, CANARY, at(301))
    assert view["status"] == "Progressing"
    canary = next(rs for rs in view["replicaSets"] if rs["tags"] == ["canary"])
    assert canary["pods"][0]["status"] == "CrashLoopBackOff"
    assert cli(backend, "run", str(repo), now=at(700)).returncode == 1
    view = get_view(backend, CANARY, at(701))
    assert view["status"] == "Degraded"
    assert view["message"] == f'ProgressDeadlineExceeded: ReplicaSet "{canary["name"]}" has timed out progressing.'
    assert view["replicas"]["available"] == 4


def test_invalid_rollout_applies_nothing_others_progress(backend, tmp_path):
    repo, manifest = _canary_repo(tmp_path)
    bad = repo / "bad.yaml"
    bad.write_text(manifest.read_text().replace("name: rollout-test-canary-nginx\n", "name: broken\n", 1).replace("setWeight: 20", "setWeight: 120").replace("rollout-test-canary-nginx-conf", "broken-conf"))
    proc = cli(backend, "run", str(repo), "-o", "json", now=at(0))
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    by_name = {r["name"]: r for r in report["rollouts"]}
    assert by_name["broken"]["findings"] and by_name["broken"]["plan"] is None
    assert by_name[CANARY]["view"]["status"] == "Healthy"
    assert not any("broken" in rs["metadata"]["name"] for rs in backend.cluster().list("ReplicaSet", "default"))
