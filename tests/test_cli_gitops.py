"""`set image` and `restart` as commits (issue 18), and the engine honouring spec.restartAt: one
pod older than it replaced per run, on the embedded cluster, waiting (and saying so) whenever a
run moves the rollout or a ReplicaSet is not fully available."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NAME = "rollout-test-canary-nginx"
PERSON = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def env(tmp_path: Path, **extra) -> dict:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("RECONCILER_", "GIT_"))}
    out.update(PERSON, RECONCILER_CLUSTER=f"local:{tmp_path / 'cluster'}", RECONCILER_LOG_LEVEL="warning", NO_COLOR="1", HOME=str(tmp_path))
    out.update(extra)
    return out


def cli(tmp_path, *args, cwd=None, **extra):
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd or tmp_path, env=env(tmp_path, **extra),
                          capture_output=True, text=True, timeout=120)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, timeout=60, env=dict(os.environ, **PERSON))
    assert done.returncode == 0, done.stderr
    return done.stdout


COMMENTED = "  # the web team owns this rollout\n"


@pytest.fixture
def repo(tmp_path):
    """A person's checkout of the canary fixture, with a comment the edits must keep."""
    repo = tmp_path / "shop"
    shutil.copytree(ROOT / "fixtures" / "canary-nginx", repo)
    text = (repo / "nginx.yaml").read_text()
    (repo / "nginx.yaml").write_text(text.replace("\nspec:\n  strategy:\n", f"\nspec:\n{COMMENTED}  strategy:\n", 1))
    assert COMMENTED in (repo / "nginx.yaml").read_text()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Pat Person")
    git(repo, "config", "user.email", "pat@example.com")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "canary-nginx")
    return repo


def diff_lines(repo: Path) -> list[str]:
    out = git(repo, "show", "--format=", "-U0", "HEAD")
    return [line for line in out.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]


# -- set image ------------------------------------------------------------------------------------------


def test_set_image_commits_only_the_image_line(repo, tmp_path):
    done = cli(tmp_path, "set", "image", NAME, "nginx=nginx:1.27", "shop")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"rollout '{NAME}' image updated in shop/nginx.yaml: nginx nginx:1.14.1 -> nginx:1.27",
        f"committed {git(repo, 'rev-parse', 'HEAD')[:12]} (not pushed: run `git push`, or pass --push)",
        "the next `reconciler run` starts a new revision with it (nothing was applied to the cluster yet)",
    ]
    assert diff_lines(repo) == ["-        image: nginx:1.14.1", "+        image: nginx:1.27"]
    assert COMMENTED in (repo / "nginx.yaml").read_text()
    assert git(repo, "log", "-1", "--format=%an|%s").strip() == f"Pat Person|set image default/{NAME}: nginx=nginx:1.27"
    assert git(repo, "status", "--porcelain").strip() == ""


def test_set_image_reads_the_source_from_the_environment_and_cwd(repo, tmp_path):
    assert cli(tmp_path, "set", "image", NAME, "nginx=nginx:1.26", RECONCILER_SOURCE=str(repo)).returncode == 0
    assert "+        image: nginx:1.26" in diff_lines(repo)
    assert cli(tmp_path, "set", "image", NAME, "nginx=nginx:1.27", cwd=repo).returncode == 0
    assert "+        image: nginx:1.27" in diff_lines(repo)


def test_set_image_in_a_subfolder_of_the_repository(repo, tmp_path):
    (repo / "apps").mkdir()
    git(repo, "mv", "nginx.yaml", "apps/nginx.yaml")
    git(repo, "commit", "-qm", "move into apps/")
    done = cli(tmp_path, "set", "image", NAME, "nginx=nginx:1.27", "shop/apps")
    assert done.returncode == 0, done.stderr
    assert "image updated in shop/apps/nginx.yaml" in done.stdout
    assert diff_lines(repo) == ["-        image: nginx:1.14.1", "+        image: nginx:1.27"]
    via_path = cli(tmp_path, "restart", NAME, "shop", "--path", "apps", "--now", "2026-01-01T00:00:00Z")
    assert via_path.returncode == 0, via_path.stderr
    assert diff_lines(repo) == ['+  restartAt: "2026-01-01T00:00:00Z"']


def test_set_image_star_sets_every_container_and_same_image_commits_nothing(repo, tmp_path):
    done = cli(tmp_path, "set", "image", NAME, "*=busybox:1", "shop")
    assert done.returncode == 0, done.stderr
    assert sorted(diff_lines(repo)) == sorted(["-        image: nginx:1.14.1", "-        image: nginx/nginx-prometheus-exporter:0.11.0",
                                               "+        image: busybox:1", "+        image: busybox:1"])
    head = git(repo, "rev-parse", "HEAD")
    again = cli(tmp_path, "set", "image", NAME, "nginx=busybox:1", "shop")
    assert again.returncode == 0 and "nothing to commit" in again.stdout
    assert git(repo, "rev-parse", "HEAD") == head


def test_set_image_unknown_container_lists_the_names(repo, tmp_path):
    done = cli(tmp_path, "set", "image", NAME, "ngnix=nginx:1.27", "shop")
    assert done.returncode == 2
    assert f"error: rollout '{NAME}' has no container named 'ngnix'; its containers are: nginx, " in done.stderr
    assert "did you mean `nginx`?" in done.stderr
    assert git(repo, "status", "--porcelain").strip() == "" and len(git(repo, "log", "--format=%h").split()) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["set", "image", NAME, "shop"], "set image needs at least one CONTAINER=IMAGE"),
        (["set", "image", NAME, "nginx", "nginx=nginx:2", "shop"], "'nginx' is not CONTAINER=IMAGE"),
        (["set", "image", NAME, "nginx=", "shop"], "'nginx=' is not CONTAINER=IMAGE"),
        (["set", "image", "nope", "nginx=nginx:2", "shop"], "no Rollout default/nope in the manifests of SOURCE"),
        (["set", "image", NAME, "nginx=nginx:2", "missing"], "missing does not exist"),
    ],
)
def test_set_image_usage_errors_exit_2(repo, tmp_path, args, message):
    done = cli(tmp_path, *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_set_image_refuses_a_file_with_uncommitted_changes(repo, tmp_path):
    (repo / "nginx.yaml").write_text((repo / "nginx.yaml").read_text() + "# wip\n")
    done = cli(tmp_path, "set", "image", NAME, "nginx=nginx:1.27", "shop")
    assert done.returncode == 2 and "nginx.yaml has uncommitted changes" in done.stderr
    assert (repo / "nginx.yaml").read_text().endswith("# wip\n")


def test_set_image_push_and_git_url(repo, tmp_path):
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(remote)], check=True, env=dict(os.environ, **PERSON))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "fetch", "-q", "origin")
    git(repo, "branch", "-q", "--set-upstream-to=origin/main")
    pushed = cli(tmp_path, "set", "image", NAME, "nginx=nginx:1.27", "shop", "--push")
    assert pushed.returncode == 0, pushed.stderr
    assert "and pushed it" in pushed.stdout
    assert git(remote, "log", "-1", "--format=%s", "main").strip() == f"set image default/{NAME}: nginx=nginx:1.27"
    by_url = cli(tmp_path, "set", "image", NAME, "nginx=nginx:1.28", f"file://{remote}")
    assert by_url.returncode == 0, by_url.stderr
    assert "and pushed it" in by_url.stdout and "in nginx.yaml:" in by_url.stdout
    assert git(remote, "log", "-1", "--format=%s", "main").strip() == f"set image default/{NAME}: nginx=nginx:1.28"


def test_set_image_push_outside_git_is_an_error(tmp_path):
    shutil.copytree(ROOT / "fixtures" / "canary-nginx", tmp_path / "plain")
    done = cli(tmp_path, "set", "image", NAME, "nginx=nginx:1.27", "plain", "--push")
    assert done.returncode == 2 and "is not a Git repository" in done.stderr
    written = cli(tmp_path, "set", "image", NAME, "nginx=nginx:1.27", "plain")
    assert written.returncode == 0 and "not a Git repository: commit it yourself" in written.stdout


# -- restart: the commit ----------------------------------------------------------------------------------


def test_restart_commits_spec_restart_at(repo, tmp_path):
    done = cli(tmp_path, "restart", NAME, "shop", "--now", "2026-01-01T00:05:00Z", "--in", "30s")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"rollout '{NAME}' restarts at 2026-01-01T00:05:30Z: spec.restartAt set in shop/nginx.yaml"
    assert diff_lines(repo) == ['+  restartAt: "2026-01-01T00:05:30Z"']
    assert COMMENTED in (repo / "nginx.yaml").read_text()
    again = cli(tmp_path, "restart", NAME, "shop", "--now", "2026-01-01T01:00:00Z")
    assert again.returncode == 0
    assert diff_lines(repo) == ['-  restartAt: "2026-01-01T00:05:30Z"', '+  restartAt: "2026-01-01T01:00:00Z"']
    assert git(repo, "log", "-1", "--format=%s").strip() == f"restart default/{NAME}: spec.restartAt 2026-01-01T01:00:00Z"
    assert cli(tmp_path, "restart", NAME, "shop", "--in", "soon").returncode == 2
    assert cli(tmp_path, "restart", "nope", "shop").returncode == 2


# -- restart: the engine -------------------------------------------------------------------------------------


def pod_starts(tmp_path) -> list[str]:
    view = json.loads(cli(tmp_path, "get", "rollout", NAME, "-o", "json", "--now", "2026-01-01T02:00:00Z").stdout)
    return sorted(pod["createdAt"] for rs in view["replicaSets"] for pod in rs["pods"])


def test_runs_replace_pods_older_than_restart_at_one_per_run(repo, tmp_path):
    assert cli(tmp_path, "run", "shop", "--now", "2026-01-01T00:00:00Z").returncode == 0
    assert pod_starts(tmp_path) == ["2026-01-01T00:00:00Z"] * 5
    assert cli(tmp_path, "restart", NAME, "shop", "--now", "2026-01-01T00:10:00Z").returncode == 0
    early = cli(tmp_path, "plan", "shop", "--now", "2026-01-01T00:09:00Z")
    assert "restart scheduled at 2026-01-01T00:10:00Z" in early.stdout
    for index in range(5):
        done = cli(tmp_path, "run", "shop", "--now", f"2026-01-01T00:1{index}:30Z")
        assert done.returncode == 0, done.stderr
        assert "applied 1 change(s)" in done.stdout
        assert pod_starts(tmp_path).count("2026-01-01T00:00:00Z") == 4 - index, "one pod per run"
    done = cli(tmp_path, "run", "shop", "--now", "2026-01-01T00:16:00Z", "-o", "json")
    (result,) = json.loads(done.stdout)["rollouts"]
    assert result["plan"]["actions"] == []
    assert "restart at 2026-01-01T00:10:00Z complete: every pod was observed started after it" in result["plan"]["next"]
    assert result["plan"]["state"]["restartedAt"] == "2026-01-01T00:10:00Z"
    quiet = cli(tmp_path, "run", "shop", "--now", "2026-01-01T00:17:00Z", "-o", "json")
    assert json.loads(quiet.stdout)["rollouts"][0]["plan"]["actions"] == [], "a completed restart does nothing more"


def test_restart_waits_while_a_replacement_is_not_available(repo, tmp_path):
    assert cli(tmp_path, "run", "shop", "--now", "2026-01-01T00:00:00Z").returncode == 0
    (tmp_path / "cluster" / "kubelet.yaml").write_text(yaml.safe_dump({"readyAfterSeconds": {"*": 60}}))
    assert cli(tmp_path, "restart", NAME, "shop", "--now", "2026-01-01T00:10:00Z").returncode == 0
    assert "applied 1 change(s)" in cli(tmp_path, "run", "shop", "--now", "2026-01-01T00:10:00Z").stdout
    waiting = cli(tmp_path, "plan", "shop", "--now", "2026-01-01T00:10:30Z")
    assert "restart at 2026-01-01T00:10:00Z waits: ReplicaSet rollout-test-canary-nginx-96b884b95 is not fully available" in waiting.stdout
    assert pod_starts(tmp_path).count("2026-01-01T00:00:00Z") == 4
    moved = cli(tmp_path, "plan", "shop", "--now", "2026-01-01T00:11:01Z")
    assert "restart: replace pod" in moved.stdout


def test_restart_never_moves_in_a_run_that_updates_the_rollout(repo, tmp_path):
    assert cli(tmp_path, "run", "shop", "--now", "2026-01-01T00:00:00Z").returncode == 0
    assert cli(tmp_path, "restart", NAME, "shop", "--now", "2026-01-01T00:00:30Z").returncode == 0
    assert cli(tmp_path, "set", "image", NAME, "nginx=nginx:1.14.2", "shop").returncode == 0
    done = cli(tmp_path, "run", "shop", "--now", "2026-01-01T00:01:00Z", "-o", "json")
    (result,) = json.loads(done.stdout)["rollouts"]
    assert [a["kind"] for a in result["plan"]["actions"]] == ["ReplicaSet", "ReplicaSet"]
    assert "restart at 2026-01-01T00:00:30Z waits: this run moves the rollout (one step per run)" in result["plan"]["next"]
