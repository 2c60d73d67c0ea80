"""dynamicStableScale through the CLI with the Istio router (seed 002 manifest 13 plus the flag):
the stable ReplicaSet shrinks only after the VirtualService read back shows the traffic moved
(Argo: TestCanaryDynamicStableScale; DESIGN rule 7), and validate accepts the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.backends import LocalBackend, cli

ROOT = Path(__file__).resolve().parent.parent
NAME = "mock-server"


def _at(minute: int) -> str:
    return f"2026-01-01T00:{minute:02d}:00Z"


def _counts(cluster: Path) -> tuple[dict, list]:
    replicas = {}
    for path in (cluster / "default" / "ReplicaSet").glob("*.yaml"):
        rs = yaml.safe_load(path.read_text())
        image = rs["spec"]["template"]["spec"]["containers"][0]["image"].rsplit(":", 1)[1]
        replicas[image] = rs["spec"]["replicas"]
    [vs] = [yaml.safe_load(p.read_text()) for p in (cluster / "default" / "VirtualService").glob("*.yaml")]
    weights = [d.get("weight") for d in vs["spec"]["http"][0]["route"]]
    return replicas, weights


def test_stable_shrinks_after_the_weight_moved(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "fixtures" / "istio-virtualservice", repo)
    [manifest] = repo.glob("*.yaml")
    manifest.write_text(manifest.read_text().replace("      canaryService:", "      dynamicStableScale: true\n      canaryService:", 1))
    assert cli(LocalBackend(tmp_path / "unused"), "validate", str(repo)).returncode == 0
    backend = LocalBackend(tmp_path / "cluster")
    cli(backend, "run", str(repo), now=_at(0))
    manifest.write_text(manifest.read_text().replace("mock-go-server:1.0.0", "mock-go-server:2.0.0"))
    history = []
    for minute in range(1, 12):
        if minute == 4:
            assert cli(backend, "promote", NAME).returncode == 0
        cli(backend, "run", str(repo), now=_at(minute))
        history.append(_counts(tmp_path / "cluster"))
    # Never fewer stable pods than the traffic the live route still sends to them (5 replicas).
    for replicas, (stable_weight, canary_weight) in history:
        assert stable_weight + canary_weight == 100
        assert replicas.get("1.0.0", 0) * 20 >= stable_weight, (replicas, stable_weight)
    # ... and it does shrink once the weight moved to 60/40: ceil(5 x 60 %) = 3.
    assert ({"1.0.0": 3, "2.0.0": 2}, [60, 40]) in history
