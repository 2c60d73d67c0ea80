"""A Rollout in a Git repository, the embedded cluster, and `run_once` in-process: fast enough for
property tests, with the real engine, status stores and simulated kubelet.

    h = Harness(tmp_path, strategy="canary", status="annotations")
    h.run(seconds=0)                      # one `reconciler run` at T0 + seconds
    h.set_image("app:2"); h.run(10)
    h.counts() -> {revision: (spec replicas, available)}
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from reconciler import POD_TEMPLATE_HASH_LABEL
from reconciler.cluster.local import LocalCluster
from reconciler.engine.context import REVISION_ANNOTATION, rs_hash, rs_revision
from reconciler.runner import run_once
from reconciler.status.annotations import STATE_ANNOTATION, AnnotationsStatusStore

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
NAME = "web"
NS = "default"
CANARY_STEPS = [{"setWeight": 20}, {"pause": {}}, {"setWeight": 40}, {"pause": {"duration": "30s"}}, {"setWeight": 100}]


def service(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"selector": {"app": NAME}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def rollout(strategy: str, image: str, replicas: int, steps: list | None, services: bool, **extra) -> dict:
    if strategy == "canary":
        spec_strategy = {"canary": {"steps": list(CANARY_STEPS if steps is None else steps)}}
        if services:
            spec_strategy["canary"].update(canaryService=f"{NAME}-canary", stableService=f"{NAME}-stable")
        spec_strategy["canary"].update(extra)
    else:
        spec_strategy = {"blueGreen": {"activeService": f"{NAME}-active", "previewService": f"{NAME}-preview", **extra}}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": NAME, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": NAME}},
            "template": {"metadata": {"labels": {"app": NAME}}, "spec": {"containers": [{"name": "app", "image": image}]}},
            "strategy": spec_strategy,
        },
    }


class Harness:
    def __init__(self, root: Path, strategy: str = "canary", status: str = "annotations", replicas: int = 5,
                 steps: list | None = None, services: bool = True, image: str = "app:1", kubelet: dict | None = None, **extra):
        self.root = Path(root)
        self.repo = self.root / "repo"
        self.cluster_dir = self.root / "cluster"
        self.repo.mkdir(parents=True, exist_ok=True)
        self.strategy, self.status, self.replicas, self.steps, self.services, self.extra = strategy, status, replicas, steps, services, extra
        self.image = image
        self.kubelet(kubelet or {})
        self.write_manifest()
        if status == "commit":
            subprocess.run(["git", "init", "-q", "-b", "main", str(self.repo)], check=True)
            self.git("add", ".")
            self.git("commit", "-q", "-m", "manifests")
        self.reports = []
        self.last = 0.0  # the time of the last run: what `counts` and `selectors` look at

    # -- the repository -----------------------------------------------------------------------------

    def git(self, *args: str) -> str:
        result = subprocess.run(["git", "-c", "user.name=Pat", "-c", "user.email=pat@example.com", "-C", str(self.repo), *args],
                                capture_output=True, text=True, timeout=60, check=True)
        return result.stdout

    def service_names(self) -> list[str]:
        if self.strategy == "canary":
            return [f"{NAME}-canary", f"{NAME}-stable"] if self.services else []
        return [f"{NAME}-active", f"{NAME}-preview"]

    def write_manifest(self) -> None:
        docs = [rollout(self.strategy, self.image, self.replicas, self.steps, self.services, **self.extra)]
        docs += [service(name) for name in self.service_names()]
        (self.repo / "rollout.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")

    def set_image(self, image: str) -> None:
        self.image = image
        self.write_manifest()

    def kubelet(self, config: dict) -> None:
        self.cluster_dir.mkdir(parents=True, exist_ok=True)
        (self.cluster_dir / "kubelet.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")

    # -- runs ------------------------------------------------------------------------------------------

    def at(self, seconds: float) -> datetime:
        return T0 + timedelta(seconds=seconds)

    def cluster(self, seconds: float = 0) -> LocalCluster:
        return LocalCluster(self.cluster_dir, now=self.at(seconds))

    def store(self, cluster):
        if self.status == "commit":
            from reconciler.status.commit import CommitStatusStore

            return CommitStatusStore(self.repo, push=False)
        return AnnotationsStatusStore(cluster)

    def run(self, seconds: float, cluster=None):
        self.last = seconds
        cluster = cluster or self.cluster(seconds)
        report = run_once(self.repo, cluster, self.store(cluster), self.at(seconds), dry_run=False)
        self.reports.append(report)
        return report

    def gate(self, gate: str, full: bool = False) -> None:
        """What `reconciler promote|abort|retry` records (reconciler.commands.engine._gate)."""
        state = self.state()
        if gate == "promote":
            state["promote"] = {"revision": state.get("revision"), "step": None if full else state.get("step_index"), "full": full, "source": "cli"}
        else:
            state[gate] = {"revision": state.get("revision"), "source": "cli"}
        self.set_state(state)

    # -- what is live ----------------------------------------------------------------------------------

    def replicasets(self, seconds: float | None = None) -> list[dict]:
        return self.cluster(self.last if seconds is None else seconds).list("ReplicaSet", NS)

    def counts(self, seconds: float | None = None) -> dict[int, tuple[int, int]]:
        return {rs_revision(rs): (int(rs["spec"]["replicas"]), int(rs["status"]["availableReplicas"])) for rs in self.replicasets(seconds)}

    def hash_of_revision(self, revision: int) -> str:
        return next(rs_hash(rs) for rs in self.replicasets() if rs_revision(rs) == revision)

    def selectors(self) -> dict[str, str]:
        cluster = self.cluster()
        out = {}
        for name in self.service_names():
            svc = cluster.get("Service", NS, name)
            out[name] = ((svc or {}).get("spec") or {}).get("selector", {}).get(POD_TEMPLATE_HASH_LABEL, "")
        return out

    def revision_annotation(self, revision: int, value: str) -> None:
        path = next(p for p in (self.cluster_dir / NS / "ReplicaSet").glob("*.yaml")
                    if rs_revision(yaml.safe_load(p.read_text())) == revision)
        obj = yaml.safe_load(path.read_text())
        obj["metadata"]["annotations"][REVISION_ANNOTATION] = value
        path.write_text(yaml.safe_dump(obj))

    # -- the recorded state ----------------------------------------------------------------------------

    def state_path(self) -> Path:
        if self.status == "commit":
            return self.repo / ".reconciler" / "status" / NS / f"{NAME}.yaml"
        return self.cluster_dir / NS / "ConfigMap" / f"{NAME}-rollout-state.yaml"

    def state(self) -> dict:
        path = self.state_path()
        if not path.exists():
            return {}
        doc = yaml.safe_load(path.read_text())
        if self.status == "commit":
            return doc["state"]
        return json.loads(doc["metadata"]["annotations"][STATE_ANNOTATION])

    def set_state(self, state: dict | None, raw: str | None = None) -> None:
        """Replace the recorded state (None: delete it; `raw`: write this text as the state)."""
        path = self.state_path()
        if state is None and raw is None:
            path.unlink()
            if self.status == "commit":
                self.git("add", "-A", ".")
                self.git("commit", "-q", "-m", "a person deletes the status file")
            return
        if self.status == "commit":
            from reconciler.status.commit import CommitStatusStore

            path.write_text(raw if raw is not None else CommitStatusStore.render_file(NS, NAME, state), encoding="utf-8")
            self.git("add", "-A", ".")
            self.git("commit", "-q", "-m", "a person edits the status file")
            return
        doc = yaml.safe_load(path.read_text())
        doc["metadata"]["annotations"][STATE_ANNOTATION] = raw if raw is not None else json.dumps(state)
        path.write_text(yaml.safe_dump(doc))
