"""GitOps undo: a commit restoring an earlier revision's pod template, formatting kept, pushed."""

from __future__ import annotations

import copy
import difflib
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from reconciler.commands.undo import choose_revision, template_from_replicaset, undo_in_checkout
from reconciler.errors import ReconcilerError
from reconciler.manifests.yaml_edit import restore_template_text

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "canary-nginx"
NAME = "rollout-test-canary-nginx"


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=Pat Person", "-c", "user.email=pat@example.com", "-C", str(cwd), *args],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def rollout_template(text: str) -> dict:
    for doc in YAML(typ="safe").load_all(text):
        if doc and doc.get("kind") == "Rollout":
            return doc["spec"]["template"]
    raise AssertionError("no Rollout")


def with_image(text: str, image: str) -> str:
    return text.replace("image: nginx:1.14.1", f"image: {image}")


class FakeCluster:
    """Live ReplicaSets as the engine leaves them: full template + hash label + revision annotation."""

    name = "fake"

    def __init__(self, manifest_text: str, images: list[str]):
        self.replicasets = []
        for revision, image in enumerate(images, start=1):
            template = copy.deepcopy(rollout_template(with_image(manifest_text, image)))
            digest = f"hash{revision}"
            template["metadata"].setdefault("labels", {})["rollouts-pod-template-hash"] = digest
            self.replicasets.append({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": f"{NAME}-{digest}", "namespace": "default",
                             "annotations": {"rollout.argoproj.io/revision": str(revision)},
                             "ownerReferences": [{"kind": "Rollout", "name": NAME}]},
                "spec": {"replicas": 0, "template": template},
            })

    def list(self, kind, namespace=None, selector=None):
        assert kind == "ReplicaSet"
        return copy.deepcopy(self.replicasets)


@pytest.fixture
def original_text() -> str:
    text = (FIXTURE / "nginx.yaml").read_text()
    # a comment a person wrote must survive the edit
    return text.replace("kind: Rollout\n", "kind: Rollout\n# owned by the web team; ask #web before changing steps\n", 1)


@pytest.fixture
def remote(tmp_path, original_text) -> Path:
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    work = tmp_path / "author"
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    (work / "apps").mkdir()
    (work / "apps" / "nginx.yaml").write_text(with_image(original_text, "nginx:1.14.3"))
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "nginx 1.14.3")
    git(work, "push", "-q", str(bare), "main")
    return bare


def clone(remote: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", "--depth", "1", "-b", "main", f"file://{remote}", str(dest)], check=True, timeout=60)
    return dest


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0) if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def test_undo_commits_the_previous_template_and_pushes(remote, tmp_path, original_text):
    run = clone(remote, tmp_path / "run")
    cluster = FakeCluster(original_text, ["nginx:1.14.1", "nginx:1.14.2", "nginx:1.14.3"])
    before = (run / "apps" / "nginx.yaml").read_text()
    result = undo_in_checkout(run, run / "apps", cluster, name=NAME, push=True)
    after = (run / "apps" / "nginx.yaml").read_text()
    # only the image line changed: comments, quotes, flow style and the ConfigMap are untouched
    assert changed_lines(before, after) == ["-        image: nginx:1.14.3", "+        image: nginx:1.14.2"]
    assert "# owned by the web team" in after and "prometheus.io/scrape: 'true'" in after and "pause: {duration: 60}" in after
    assert (result.from_revision, result.to_revision, result.replicaset) == (3, 2, f"{NAME}-hash2")
    assert result.pushed and result.committed
    log = git(remote, "log", "--format=%an|%s", "main").splitlines()
    assert log[0] == f"reconciler|undo default/{NAME}: restore the pod template of revision 2 (nginx:1.14.2, nginx/nginx-prometheus-exporter:0.11.0)"
    assert "reuses ReplicaSet" in result.describe()


def test_the_restored_template_equals_the_old_replicaset_template(remote, tmp_path, original_text):
    """The engine reuses the old ReplicaSet only if the restored template hashes the same."""
    run = clone(remote, tmp_path / "run")
    cluster = FakeCluster(original_text, ["nginx:1.14.1", "nginx:1.14.2", "nginx:1.14.3"])
    undo_in_checkout(run, run / "apps", cluster, name=NAME, to_revision=1)
    restored = rollout_template((run / "apps" / "nginx.yaml").read_text())
    assert restored == template_from_replicaset(cluster.replicasets[0])
    assert "rollouts-pod-template-hash" not in str(restored)


def test_undo_retries_when_a_person_pushed_first_and_keeps_their_commit(remote, tmp_path, original_text):
    run = clone(remote, tmp_path / "run")
    person = clone(remote, tmp_path / "person")
    (person / "README.md").write_text("docs\n")
    git(person, "add", "README.md")
    git(person, "commit", "-q", "-m", "person: docs")
    git(person, "push", "-q", "origin", "main")
    person_sha = git(person, "rev-parse", "HEAD").strip()
    cluster = FakeCluster(original_text, ["nginx:1.14.1", "nginx:1.14.2", "nginx:1.14.3"])
    result = undo_in_checkout(run, run / "apps", cluster, name=NAME, push=True)
    assert result.pushed
    subprocess.run(["git", "-C", str(remote), "merge-base", "--is-ancestor", person_sha, "main"], check=True)
    assert git(remote, "log", "--format=%s", "-2", "main").splitlines()[1] == "person: docs"


def test_local_directory_without_git_only_writes_the_file(tmp_path, original_text):
    root = tmp_path / "plain"
    root.mkdir()
    (root / "nginx.yaml").write_text(with_image(original_text, "nginx:1.14.3"))
    cluster = FakeCluster(original_text, ["nginx:1.14.1", "nginx:1.14.3"])
    result = undo_in_checkout(root, root, cluster, name=NAME)
    assert not result.committed and "nginx:1.14.1" in (root / "nginx.yaml").read_text()
    assert "commit it yourself" in result.describe()
    again = undo_in_checkout(root, root, cluster, name=NAME, to_revision=1)
    assert not again.changed and "nothing to commit" in again.describe()


def test_revision_choice_errors(original_text):
    only_one = FakeCluster(original_text, ["nginx:1.14.1"]).replicasets
    with pytest.raises(ReconcilerError, match="nothing to go back to"):
        choose_revision(only_one, NAME, None)
    three = FakeCluster(original_text, ["a:1", "a:2", "a:3"]).replicasets
    with pytest.raises(ReconcilerError) as caught:
        choose_revision(three, NAME, 7)
    assert caught.value.hint == "revisions in the cluster: 3, 2, 1"
    with pytest.raises(ReconcilerError, match="no ReplicaSets"):
        choose_revision(three, "other-rollout", None)
    assert choose_revision(list(reversed(three)), NAME, None)[0]["metadata"]["name"] == f"{NAME}-hash2"


def test_indented_sequences_keep_their_style():
    text = (
        "apiVersion: argoproj.io/v1alpha1\n"
        "kind: Rollout\n"
        "metadata:\n"
        "    name: web\n"
        "spec:\n"
        "    template:\n"
        "        spec:\n"
        "            containers:\n"
        "              - name: web   # the only container\n"
        "                image: web:2\n"
    )
    updated = restore_template_text(text, 0, {"spec": {"containers": [{"name": "web", "image": "web:1"}]}})
    assert changed_lines(text, updated) == ["-                image: web:2", "+                image: web:1"]


def test_cli_undo_against_a_git_url(remote, tmp_path, original_text, monkeypatch):
    """Through the CLI and the real source checkout, when engineer A's open_source is present."""
    source = pytest.importorskip("reconciler.source")
    if not hasattr(source, "open_source"):
        pytest.skip("reconciler.source.open_source not there yet")
    from typer.testing import CliRunner

    import reconciler.cluster as cluster_module
    from reconciler.cli import app

    cluster = FakeCluster(original_text, ["nginx:1.14.1", "nginx:1.14.2", "nginx:1.14.3"])
    monkeypatch.setattr(cluster_module, "open_cluster", lambda spec, **kwargs: cluster)
    result = CliRunner().invoke(app, ["undo", NAME, f"file://{remote}", "--path", "apps"])
    assert result.exit_code == 0, result.output
    assert "pushed" in result.output
    check = clone(remote, tmp_path / "check")
    assert "image: nginx:1.14.2" in (check / "apps" / "nginx.yaml").read_text()
    shutil.rmtree(check)


def test_structural_changes_fall_back_to_a_round_trip_that_still_restores_exactly(original_text):
    from reconciler.manifests.yaml_edit import template_of

    text = with_image(original_text, "nginx:1.14.3")
    old = rollout_template(text)
    old["spec"]["containers"][0]["env"] = [{"name": "MODE", "value": "yes"}]  # "yes" must stay a string
    del old["metadata"]["annotations"]
    updated = restore_template_text(text, 1, old)
    assert template_of(updated, 1) == old
    assert "kind: ConfigMap" in updated and "# owned by the web team" in updated


def test_scalar_edit_keeps_quotes_and_quotes_what_needs_it():
    text = "kind: Rollout\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: 'a:1'   # pinned\n        args: [\"--x\", plain]\n"
    new = {"spec": {"containers": [{"name": "a", "image": "a:0", "args": ["--y", "no"]}]}}
    updated = restore_template_text(text, 0, new)
    assert "        image: 'a:0'   # pinned\n" in updated
    assert "        args: [\"--y\", 'no']\n" in updated


def test_undo_refuses_to_commit_a_persons_uncommitted_edits(remote, tmp_path, original_text):
    run = clone(remote, tmp_path / "run")
    manifest = run / "apps" / "nginx.yaml"
    manifest.write_text(manifest.read_text() + "# work in progress\n")
    cluster = FakeCluster(original_text, ["nginx:1.14.1", "nginx:1.14.2", "nginx:1.14.3"])
    with pytest.raises(ReconcilerError, match="uncommitted changes"):
        undo_in_checkout(run, run / "apps", cluster, name=NAME)
    assert manifest.read_text().endswith("# work in progress\n") and "nginx:1.14.3" in manifest.read_text()
