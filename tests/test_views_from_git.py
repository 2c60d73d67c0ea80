"""`get rollout` / `list rollouts` with `--status commit` read the status files straight from a Git
URL (`--ref`, `--path`), through the source stage a run uses: read only, the clone removed after."""

from __future__ import annotations

import json

import pytest

from tests.backends import cli
from tests.gitserver import git, git_daemon, make_bare_repo

NAME = "rollout-test-canary-nginx"
pytestmark = pytest.mark.slow


def at(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"2026-01-01T00:{minutes:02d}:{secs:02d}Z"


@pytest.fixture
def served(tmp_path):
    """A bare repository holding seed 000's canary under deploy/, and the same served read-only by git daemon."""
    base = tmp_path / "served"
    base.mkdir()
    repo = make_bare_repo(base, fixture="canary-nginx", subdir="deploy")
    with git_daemon(base) as url:
        yield repo, f"{url}/manifests.git"


def test_get_and_list_read_the_status_from_a_git_url(backend, served, tmp_path):
    repo, read_only_url = served
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    backend.env["TMPDIR"] = str(scratch)  # every clone the commands make lands here

    def run(seconds):
        return cli(backend, "run", repo.url, "--ref", "main", "--path", "deploy", "--status", "commit", now=at(seconds))

    assert run(0).returncode == 0
    git("pull", "-q", "--ff-only", "origin", "main", cwd=repo.work)  # the run pushed its status commit
    manifest = repo.work / "deploy" / "nginx.yaml"
    repo.commit({"deploy/nginx.yaml": manifest.read_text().replace("image: nginx:1.14.1", "image: nginx:1.14.2")}, message="nginx 1.14.2")
    run(60)
    run(70)
    status_head = repo.head()

    source = ["--status", "commit", "--source", read_only_url, "--ref", "main", "--path", "deploy"]
    proc = cli(backend, "get", "rollout", NAME, *source, "-o", "json", now=at(71))
    assert proc.returncode == 0, proc.stderr
    view = json.loads(proc.stdout)
    assert (view["status"], view["message"], view["step"], view["setWeight"]) == ("Paused", "CanaryPauseStep", 1, 20)

    proc = cli(backend, "list", "rollouts", *source, "-o", "json", now=at(71))
    assert proc.returncode == 0, proc.stderr
    assert [(v["name"], v["status"]) for v in json.loads(proc.stdout)] == [(NAME, "Paused")]
    proc = cli(backend, "list", "rollouts", *source, now=at(71))
    assert NAME in proc.stdout and "Paused" in proc.stdout

    # A tag is a detached HEAD: fine for reading (only a run needs a branch to push to).
    assert repo.head() == status_head  # reading pushed nothing
    git("fetch", "-q", "origin", cwd=repo.work)
    repo.tag("paused-at-step-1", "origin/main")
    tagged = ["--status", "commit", "--source", read_only_url, "--ref", "paused-at-step-1"]
    proc = cli(backend, "get", "rollout", NAME, *tagged, "-o", "json", now=at(72))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["step"] == 1

    assert list(scratch.iterdir()) == []  # every temporary clone was removed


def test_a_missing_ref_or_source_says_what_to_do(backend, served):
    repo, read_only_url = served
    proc = cli(backend, "get", "rollout", NAME, "--status", "commit", "--source", read_only_url, "--ref", "nope", check=False)
    assert proc.returncode == 2
    assert "ref 'nope' not found" in proc.stderr and "hint:" in proc.stderr
    proc = cli(backend, "list", "rollouts", "--status", "commit", check=False)
    assert proc.returncode == 2
    assert "--status commit needs the repository" in proc.stderr and "--source" in proc.stderr
    proc = cli(backend, "get", "rollout", "ghost", "--status", "commit", "--source", read_only_url, "--ref", "main", check=False)
    assert proc.returncode == 2
    assert "rollout 'ghost' not found" in proc.stderr and "--ref" in proc.stderr
