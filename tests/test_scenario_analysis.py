"""Seed 001 end to end on both backends: blue-green with a post-promotion Job analysis.

A Job that exits 0 makes the switch stand (Healthy); one that exits 1 switches the active Service
back to the previous revision, marks the rollout Degraded in the seed's words, and `get rollout`
shows the failed AnalysisRun and its Job under the revision. Replayed invocation by invocation
with --now; the simulated kubelet decides Jobs by their `exit N` (reconciler/cluster/kubelet_jobs.py).
"""

import shutil

import pytest

from tests.backends import cli, get_view
from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow
NAME = "rollout-bg-test-analysis"
SERVICE = "rollout-active-service-analysis"


def at(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"2026-01-01T00:{minutes:02d}:{secs:02d}Z"


def repo_with(tmp_path, template="test-analysis"):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "bluegreen-analysis", repo)
    manifest = repo / "rollout-bg-test-analysis.yml"
    manifest.write_text(manifest.read_text().replace("templateName: test-analysis", f"templateName: {template}"))
    return repo, manifest


def new_image(manifest, image):
    manifest.write_text(manifest.read_text().replace("image: nginx:latest", f"image: {image}"))


def active_hash(backend):
    return backend.cluster().get("Service", "default", SERVICE)["spec"]["selector"]["rollouts-pod-template-hash"]


def test_seed001_post_promotion_job_succeeds_and_the_switch_stands(backend, tmp_path):
    repo, manifest = repo_with(tmp_path)
    assert cli(backend, "run", str(repo), now=at(0)).returncode == 0
    first = get_view(backend, NAME, at(1))
    assert first["status"] == "Healthy" and first["analysisRuns"] == []  # the first revision runs no analysis

    new_image(manifest, "nginx:stable")
    cli(backend, "run", str(repo), now=at(10))  # revision 2 comes up beside revision 1
    assert cli(backend, "run", str(repo), now=at(11)).returncode == 0  # available: switch, start the analysis
    view = get_view(backend, NAME, at(11))
    revision2 = view["replicaSets"][0]["podTemplateHash"]
    assert active_hash(backend) == revision2
    assert view["status"] == "Progressing"
    [run] = view["analysisRuns"]
    assert (run["name"], run["status"], run["revision"]) == (f"{NAME}-{revision2}-2-post", "Running", 2)
    assert run["labels"]["rollout-type"] == "PostPromotion"

    cli(backend, "run", str(repo), now=at(12))  # the measurement: a Job named after the run
    view = get_view(backend, NAME, at(12))
    [job] = view["analysisRuns"][0]["jobs"]
    assert job["name"].endswith(".test-analysis.1") and job["status"] == "Running"
    assert backend.cluster().get("Job", "default", job["name"]) is not None

    assert cli(backend, "run", str(repo), now=at(13)).returncode == 0  # the Job succeeded
    view = get_view(backend, NAME, at(13))
    assert view["status"] == "Healthy"
    assert view["analysisRuns"][0]["status"] == "Successful"
    assert [(rs["revision"], rs["tags"]) for rs in view["replicaSets"]] == [(2, ["stable", "active"]), (1, [])]
    text = cli(backend, "get", "rollout", NAME, now=at(13)).stdout
    assert f"α {NAME}-{revision2}-2-post" in text and "AnalysisRun  ✔ Successful" in text and "✔ 1" in text
    assert f"⊞ {job['name']}" in text and "Job          ✔ Successful" in text

    cli(backend, "run", str(repo), now=at(45))  # after scaleDownDelaySeconds (30 s from the switch)
    view = get_view(backend, NAME, at(45))
    assert [(rs["revision"], rs["replicas"]) for rs in view["replicaSets"]] == [(2, 2), (1, 0)]
    again = cli(backend, "run", str(repo), "-o", "json", now=at(50))
    assert again.returncode == 0 and '"writes": 0' in again.stdout, again.stdout[-400:]  # nothing left to do
    assert get_view(backend, NAME, at(52))["analysisRuns"][0]["status"] == "Successful"  # history is kept


def test_seed001_post_promotion_job_fails_and_the_active_service_switches_back(backend, tmp_path):
    repo, manifest = repo_with(tmp_path, template="test-analysis-fail")
    cli(backend, "run", str(repo), now=at(0))
    revision1 = get_view(backend, NAME, at(1))["replicaSets"][0]["podTemplateHash"]

    new_image(manifest, "nginx:1.19")
    cli(backend, "run", str(repo), now=at(10))
    cli(backend, "run", str(repo), now=at(11))  # switch to revision 2, analysis starts
    revision2 = get_view(backend, NAME, at(11))["replicaSets"][0]["podTemplateHash"]
    assert active_hash(backend) == revision2
    cli(backend, "run", str(repo), now=at(12))  # Job created
    failing = cli(backend, "run", str(repo), now=at(13))  # Job failed: abort
    assert failing.returncode == 1, failing.stderr

    view = get_view(backend, NAME, at(14))
    assert view["status"] == "Degraded"
    assert view["message"] == (
        'RolloutAborted: Rollout aborted update to revision 2: Metric "test-analysis" assessed Failed due to failed (1) > failureLimit (0)'
    )
    assert active_hash(backend) == revision1  # back on the previous revision
    # abortScaleDownDelaySeconds (default 30 s): the failed revision keeps its pods a while, as in the seed
    assert [(rs["revision"], rs["replicas"], rs["tags"]) for rs in view["replicaSets"]] == [(2, 2, []), (1, 2, ["stable", "active"])]
    [run] = view["analysisRuns"]
    assert (run["name"], run["status"]) == (f"{NAME}-{revision2}-2-post", "Failed")
    assert run["metrics"][0]["failed"] == 1
    text = cli(backend, "get", "rollout", NAME, now=at(14)).stdout
    assert "✖ Degraded" in text and "AnalysisRun  ✖ Failed" in text and "✖ 1" in text and "Job          ✖ Failed" in text

    # Later runs: still Degraded on revision 1, no new analysis; the failed revision goes after 30 s.
    assert cli(backend, "run", str(repo), now=at(30)).returncode == 0
    assert [rs["replicas"] for rs in get_view(backend, NAME, at(31))["replicaSets"]] == [2, 2]
    assert cli(backend, "run", str(repo), now=at(44)).returncode == 0
    view = get_view(backend, NAME, at(45))
    assert view["status"] == "Degraded" and active_hash(backend) == revision1 and len(view["analysisRuns"]) == 1
    assert [(rs["revision"], rs["replicas"]) for rs in view["replicaSets"]] == [(2, 0), (1, 2)]

    # retry: the same revision again, a second attempt of the analysis (Argo's `.1` suffix)
    cli(backend, "retry", NAME)
    cli(backend, "run", str(repo), now=at(50))
    cli(backend, "run", str(repo), now=at(51))
    cli(backend, "run", str(repo), now=at(52))
    names = [r["name"] for r in get_view(backend, NAME, at(52))["analysisRuns"]]
    assert f"{NAME}-{revision2}-2-post.1" in names
