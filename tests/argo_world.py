"""A tiny in-memory world for replaying Argo's e2e scenarios through the pure planner: the
ReplicaSets the plans write, pods simulated by the kubelet (reconciler.cluster.kubelet), Services,
and, for an Istio-routed canary, its VirtualService (written by the planner's router, read back)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

from reconciler.cluster import kubelet
from reconciler.engine.context import SCALE_DOWN_DEADLINE_ANNOTATION, rs_hash, rs_revision
from reconciler.engine.model import Desired, Live
from reconciler.engine.plan import plan
from reconciler.engine.state import RolloutState

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def rollout(name: str, replicas: int | None, strategy: dict, image: str = "app:1") -> dict:
    spec = {
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": image}]}},
        "strategy": strategy,
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": name, "namespace": "default"}, "spec": spec}


class World:
    def __init__(self, manifest: dict, kubelet_config: dict | None = None):
        self.manifest = copy.deepcopy(manifest)
        self.config = kubelet_config or {}
        self.state = RolloutState()
        self.replicasets: dict[str, dict] = {}
        self.now = T0
        self.result = None
        strategy = self.manifest["spec"]["strategy"]
        names = [v for k, v in (strategy.get("canary") or strategy.get("blueGreen") or {}).items() if k.endswith("Service") and isinstance(v, str)]
        self.services = {n: {"apiVersion": "v1", "kind": "Service", "metadata": {"name": n, "namespace": "default"}, "spec": {"selector": {"app": self.manifest["metadata"]["name"]}}} for n in names}
        self.image_version = 1
        self.traffic: dict[tuple, dict] = {}
        canary = strategy.get("canary") or {}
        vs = (((canary.get("trafficRouting") or {}).get("istio") or {}).get("virtualService") or {}).get("name")
        if vs:
            route = [{"destination": {"host": canary["stableService"]}, "weight": 100}, {"destination": {"host": canary["canaryService"]}, "weight": 0}]
            self.traffic[("VirtualService", "default", vs)] = {
                "apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService",
                "metadata": {"name": vs, "namespace": "default", "resourceVersion": "1"},
                "spec": {"hosts": [canary["stableService"]], "http": [{"name": "primary", "route": route}]},
            }

    # -- what a person does ------------------------------------------------------------------

    def update(self) -> None:
        self.image_version += 1
        self.manifest["spec"]["template"]["spec"]["containers"][0]["image"] = f"app:{self.image_version}"

    def scale(self, replicas: int) -> None:
        self.manifest["spec"]["replicas"] = replicas

    def promote(self, full: bool = False) -> None:
        self.state.promote = {"revision": self.state.revision, "step": None, "full": full}

    def abort(self) -> None:
        self.state.abort = {"revision": self.state.revision}

    # -- one reconciler run ------------------------------------------------------------------

    def live(self) -> list[dict]:
        return [kubelet.simulate_replicaset(rs, self.config, self.now) for rs in self.replicasets.values()]

    def run(self, seconds: float = 1):
        self.now += timedelta(seconds=seconds)
        live = Live(replicasets=self.live(), services=copy.deepcopy(self.services), traffic=copy.deepcopy(self.traffic))
        observed, manifest = copy.deepcopy(live), copy.deepcopy(self.manifest)
        self.result = plan(Desired(self.manifest), live, self.state, self.now)
        # The planner edits copies (engine/context.py); what it observed and what it was given stay so.
        assert live == observed, "the planner wrote to an observed object"
        assert self.manifest == manifest, "the planner wrote to the desired Rollout"
        for action in self.result.actions:
            if action.kind == "ReplicaSet" and action.verb == "delete":
                self.replicasets.pop(action.name, None)
            elif action.kind == "ReplicaSet" and action.after is not None:
                previous = self.replicasets.get(action.name)
                after = copy.deepcopy(action.after)
                created = (previous or {}).get("metadata", {}).get("creationTimestamp") or self.now.strftime("%Y-%m-%dT%H:%M:%SZ")
                after["metadata"]["creationTimestamp"] = created  # set by the API server, kept on updates
                self.replicasets[action.name] = kubelet.record_pod_starts(previous, after, self.now)
            elif action.kind == "Service" and action.after is not None:
                self.services[action.name] = action.after
            elif (action.kind, action.namespace, action.name) in self.traffic and action.after is not None:
                self.traffic[(action.kind, action.namespace, action.name)] = action.after
        self.state = self.result.state
        return self.result

    def canary_weight(self) -> int | None:
        """The canary's weight in the VirtualService, as written."""
        for vs in self.traffic.values():
            for dest in vs["spec"]["http"][0]["route"]:
                if dest["destination"]["host"] != vs["spec"]["hosts"][0]:
                    return int(dest.get("weight") or 0)
        return None

    def run_until(self, status: str | None = None, step: int | None = None, limit: int = 60, seconds: float = 1):
        for _ in range(limit):
            result = self.run(seconds)
            if status is not None and result.status == status:
                return result
            if step is not None and self.state.step_index == step and result.status != "Degraded":
                return result
        raise AssertionError(f"never reached status={status} step={step}: {self.result.status} {self.result.message} at step {self.state.step_index}")

    # -- what the e2e checks read -----------------------------------------------------------

    def pods_of(self, pod_hash: str) -> int:
        return sum(len(kubelet.pods_for_replicaset(rs, self.config, self.now)) for rs in self.replicasets.values() if rs_hash(rs) == pod_hash)

    def canary_stable(self) -> tuple[int, int]:
        return self.pods_of(self.state.current_hash), self.pods_of(self.state.stable_hash)

    def deadlines(self) -> dict[int, bool]:
        """Which revisions' ReplicaSets carry a scale-down deadline annotation."""
        return {rs_revision(rs): SCALE_DOWN_DEADLINE_ANNOTATION in ((rs.get("metadata") or {}).get("annotations") or {}) for rs in self.replicasets.values()}

    def revision_pods(self) -> dict[int, int]:
        return {rs_revision(rs): len(kubelet.pods_for_replicaset(rs, self.config, self.now)) for rs in self.replicasets.values()}
