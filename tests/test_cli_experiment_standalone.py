"""Seed 002 [Manifest 6], a standalone `kind: Experiment` with baseline / canary / experimental
templates and `duration: 5m`, through the CLI: validated against the Experiment CRD schema (the
seed's templates lack the `selector` the CRD requires: a finding at file:line), then run on each
backend and in both status modes: three ReplicaSets come up, Running once their pods are, and
scaled to 0 five minutes later (Successful), its phase recorded between runs like a rollout's."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backends import cli
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow

SEED = SEEDS / "002_60f9a39a7c003979.txt"
NAME = "mock-server-experiment"


def manifest6() -> str:
    """[Manifest 6] as the seed prints it (lines 1-46 after the `kind: Experiment` block's start)."""
    lines = SEED.read_text(encoding="utf-8").splitlines() if SEED.exists() else []
    start = next((i for i, line in enumerate(lines) if line == "kind: Experiment"), None)
    if start is None:
        pytest.skip("seed 002 not available")
    body = lines[start - 1:]
    end = next(i for i, line in enumerate(body) if line.startswith("[Manifest 6]"))
    return "\n".join(body[:end]) + "\n"


def with_selectors(text: str) -> str:
    for template in ("baseline", "canary", "experimental"):
        text = text.replace(f"  - name: {template}\n    replicas: 1\n",
                            f"  - name: {template}\n    replicas: 1\n    selector:\n      matchLabels:\n        app: mock-server\n        experiment: {template}\n")
    return text


def at(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"2026-01-01T00:{minutes:02d}:{secs:02d}Z"


def replicas(backend) -> dict:
    return {rs["metadata"]["name"].rsplit("-", 1)[-1]: (rs["spec"]["replicas"], rs["spec"]["template"]["spec"]["containers"][0]["image"])
            for rs in backend.cluster().list("ReplicaSet", "default")}


def test_seed_manifest6_verbatim_is_a_schema_finding(tmp_path):
    (tmp_path / "experiment.yaml").write_text(manifest6())
    proc = subprocess.run([sys.executable, "-m", "reconciler", "validate", str(tmp_path), "-o", "json"], capture_output=True, text=True, timeout=60, check=False,
                          cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 1
    findings = json.loads(proc.stdout)["findings"]
    assert [(f["line"], f["path"], f["message"]) for f in findings] == [
        (8, "spec.templates[0]", "`selector` is required here"),
        (21, "spec.templates[1]", "`selector` is required here"),
        (34, "spec.templates[2]", "`selector` is required here"),
    ]


def test_seed_manifest6_runs_for_its_duration(backend, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "experiment.yaml").write_text(with_selectors(manifest6()))
    assert cli(backend, "validate", str(repo)).returncode == 0
    proc = cli(backend, "run", str(repo), now=at(0))
    assert proc.returncode == 0 and f"default/{NAME}: Pending; applied 3 change(s)" in proc.stdout, proc.stdout + proc.stderr
    images = {t: f"ghcr.io/ssup2/mock-go-server:{v}" for t, v in (("baseline", "1.0.0"), ("canary", "2.0.0"), ("experimental", "3.0.0"))}
    assert replicas(backend) == {t: (1, image) for t, image in images.items()}
    cli(backend, "run", str(repo), now=at(10))  # pods seen available: Running, the 5 minutes start
    view = json.loads(cli(backend, "get", "experiment", NAME, "-o", "json", now=at(11)).stdout)
    assert (view["status"], view["availableAt"], view["duration"]) == ("Running", at(10), "5m")
    assert {t["name"]: (t["status"], t["replicas"], t["available"]) for t in view["templates"]} == {t: ("Running", 1, 1) for t in images}
    cli(backend, "run", str(repo), now=at(309))
    assert replicas(backend) == {t: (1, image) for t, image in images.items()}
    proc = cli(backend, "run", str(repo), now=at(310))
    assert f"default/{NAME}: Successful; applied 3 change(s)" in proc.stdout
    assert replicas(backend) == {t: (0, image) for t, image in images.items()}
    listed = cli(backend, "list", "experiments", now=at(320)).stdout.splitlines()
    assert listed[0].split() == ["NAME", "STATUS", "ROLLOUT", "DURATION", "AGE"] and listed[1].split()[:4] == [NAME, "Successful", "-", "5m"]
    assert "No resources found." in cli(backend, "list", "rollouts", now=at(320)).stdout  # not a rollout
    text = cli(backend, "get", "experiment", NAME, now=at(320)).stdout
    assert f"Σ {NAME}" in text and f"⧉ {NAME}-experimental" in text and "ScaledDown" in text


def test_removed_from_the_source_it_is_terminated(tmp_path):
    from tests.backends import LocalBackend

    backend = LocalBackend(tmp_path / "cluster")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "experiment.yaml").write_text(with_selectors(manifest6()).replace("  duration: 5m\n", ""))
    (repo / "other.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\ndata: {}\n")
    cli(backend, "run", str(repo), now=at(0))
    cli(backend, "run", str(repo), now=at(10))
    assert {n: r for n, (r, _) in replicas(backend).items()} == {"baseline": 1, "canary": 1, "experimental": 1}
    (repo / "experiment.yaml").unlink()
    proc = cli(backend, "run", str(repo), now=at(20))
    assert f"default/{NAME}: Successful (Experiment terminated); applied 3 change(s)" in proc.stdout, proc.stdout
    assert {n: r for n, (r, _) in replicas(backend).items()} == {"baseline": 0, "canary": 0, "experimental": 0}
    proc = cli(backend, "run", str(repo), now=at(30))
    assert NAME not in proc.stdout  # done: nothing more to say about it


def test_commit_status_mode_records_the_phase_in_git(tmp_path):
    from tests.backends import LocalBackend

    def git(cwd, *args):
        subprocess.run(["git", "-c", "user.name=Pat", "-c", "user.email=pat@example.com", "-C", str(cwd), *args], check=True, capture_output=True, timeout=60)

    remote = tmp_path / "deploy.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    person = tmp_path / "person"
    person.mkdir()
    (person / "experiment.yaml").write_text(with_selectors(manifest6()))
    git(person, "init", "-q", "-b", "main")
    git(person, "add", ".")
    git(person, "commit", "-q", "-m", "experiment")
    git(person, "push", "-q", f"file://{remote}", "main")
    backend = LocalBackend(tmp_path / "cluster")
    url = f"file://{remote}"
    for seconds in (0, 10, 310):
        proc = cli(backend, "run", url, "--status", "commit", now=at(seconds))
        assert proc.returncode == 0, proc.stderr
    check = tmp_path / "check"
    subprocess.run(["git", "clone", "-q", url, str(check)], check=True, timeout=60)
    status = check / ".reconciler" / "status" / "default" / f"{NAME}.yaml"
    assert status.exists() and "Successful" in status.read_text()
    view = json.loads(cli(backend, "get", "experiment", NAME, "-o", "json", "--status", "commit", "--source", str(check), now=at(320)).stdout)
    assert view["status"] == "Successful" and view["finishedAt"] == at(310)
    shutil.rmtree(check)

