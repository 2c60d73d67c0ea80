"""A Rollout in a directory SOURCE, driven through the CLI (`python -m reconciler`) on a cluster
backend (tests/backends.py): the helper of the Rollout-field tests (tests/test_field_*.py).

    app = CliRollout(tmp_path, backend, canary={"steps": [...]}, spec={"paused": True})
    app.run(0); app.set_image("app:2"); app.run(10)
    app.view(10)["status"]; app.replicasets(10) -> {revision: ReplicaSet}
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from reconciler.engine.context import rs_revision
from tests.backends import cli, get_view

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
NAME = "app"
NS = "default"


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def service(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
            "spec": {"selector": {"app": NAME}, "ports": [{"port": 80, "targetPort": 8080}]}}


class CliRollout:
    def __init__(self, root: Path, backend, *, replicas: int = 4, canary: dict | None = None, bluegreen: dict | None = None,
                 spec: dict | None = None, image: str = "app:1", extra: list[dict] | None = None):
        self.repo = Path(root) / "repo"
        self.repo.mkdir(parents=True, exist_ok=True)
        self.backend = backend
        if bluegreen is not None:
            strategy = {"blueGreen": {"activeService": f"{NAME}-active", "previewService": f"{NAME}-preview", **bluegreen}}
            services = [service(f"{NAME}-active"), service(f"{NAME}-preview")]
        else:
            strategy = {"canary": dict(canary or {})}
            services = [service(strategy["canary"][key]) for key in ("canaryService", "stableService") if key in strategy["canary"]]
        self.rollout = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "metadata": {"name": NAME, "namespace": NS},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": NAME}},
                "template": {"metadata": {"labels": {"app": NAME}}, "spec": {"containers": [{"name": "app", "image": image}]}},
                "strategy": strategy,
                **(spec or {}),
            },
        }
        self.others = services + list(extra or [])
        self.write()

    def write(self) -> None:
        (self.repo / "rollout.yaml").write_text(yaml.safe_dump_all([self.rollout, *self.others], sort_keys=False))

    def set_image(self, image: str) -> None:
        self.rollout["spec"]["template"]["spec"]["containers"][0]["image"] = image
        self.write()

    def set_spec(self, **fields) -> None:
        for key, value in fields.items():
            if value is None:
                self.rollout["spec"].pop(key, None)
            else:
                self.rollout["spec"][key] = value
        self.write()

    def run(self, seconds: float):
        return cli(self.backend, "run", str(self.repo), now=at(seconds))

    def view(self, seconds: float) -> dict:
        return get_view(self.backend, NAME, at(seconds))

    def gate(self, verb: str, *args: str):
        return cli(self.backend, verb, NAME, *args)

    def objects(self, kind: str, seconds: float) -> list[dict]:
        return list(self.backend.cluster(now=T0 + timedelta(seconds=seconds)).list(kind, NS))

    def replicasets(self, seconds: float) -> dict[int, dict]:
        """The rollout's live ReplicaSets by revision (as the cluster reports them at that time)."""
        return {rs_revision(rs): rs for rs in self.objects("ReplicaSet", seconds)}

    def pods(self, seconds: float) -> dict[int, int]:
        return {rev: int(rs["spec"]["replicas"]) for rev, rs in sorted(self.replicasets(seconds).items())}
