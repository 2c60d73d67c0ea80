"""The working set of one planning pass: the rollout's ReplicaSets and Services as they will be
after the actions planned so far, and the actions and events themselves. Pure; no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from reconciler import POD_TEMPLATE_HASH_LABEL, PREFIX
from reconciler.engine.hashing import rs_hash  # noqa: F401  (imported from here by the strategies)
from reconciler.engine.model import Action, Desired, Event, Live
from reconciler.engine.state import RolloutState, plain_copy
from reconciler.timestamps import iso, parse_iso

REVISION_ANNOTATION = "rollout.argoproj.io/revision"
SCALE_DOWN_DEADLINE_ANNOTATION = "argo-rollouts.argoproj.io/scale-down-deadline"
ROLLOUT_LABEL = f"{PREFIX}/rollout"





def rs_revision(rs: dict) -> int:
    try:
        return int(((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION))
    except (TypeError, ValueError):
        return 0


def rs_spec_replicas(rs: dict | None) -> int:
    if not rs:
        return 0
    return int((rs.get("spec") or {}).get("replicas") or 0)


def rs_available(rs: dict | None) -> int:
    if not rs:
        return 0
    return min(int((rs.get("status") or {}).get("availableReplicas") or 0), rs_spec_replicas(rs))


def rs_fully_available(rs: dict | None) -> bool:
    """Every pod the ReplicaSet wants is available (waiting like this is not a stalled rollout)."""
    return rs is not None and rs_spec_replicas(rs) > 0 and rs_available(rs) >= rs_spec_replicas(rs)


def seconds(value) -> float | None:
    from reconciler.durations import parse_duration

    return parse_duration(value)


@dataclass
class Context:
    desired: Desired
    live: Live
    state: RolloutState
    now: datetime
    actions: list[Action] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    degraded_now: bool = False
    notes: list[str] = field(default_factory=list)  # what this run does, in words
    restart_steps: bool = False  # a new revision or a retry: step 0 is entered in this run
    wanted_runs: set[str] = field(default_factory=set)  # analysis runs a strategy still needs
    # Experiments (engine/experiment_step.py): their objects as predicted, those reconciled this run.
    experiment_objects: dict | None = None
    experiments_reconciled: set[str] = field(default_factory=set)

    def __post_init__(self):
        # The observed objects themselves, not copies: every edit below copies the object it changes
        # and puts the copy in its place, so what was observed is never written to (the replayed
        # Argo scenarios check it: tests/argo_world.py). Copying them all cost a 1,000-rollout plan 6 %.
        self.rs_by_hash: dict[str, dict] = {rs_hash(rs): rs for rs in self.live.replicasets}
        self.services = dict(self.live.services)
        self.traffic = dict(self.live.traffic)  # router objects, as edited so far

    # -- desired ---------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.desired.name

    @property
    def namespace(self) -> str:
        return self.desired.namespace

    @property
    def spec(self) -> dict:
        return self.desired.spec

    @property
    def replicas(self) -> int:
        value = self.spec.get("replicas")
        return 1 if value is None else int(value)

    @property
    def template(self) -> dict:
        return self.spec.get("template") or {}

    def find_template(self, kind: str, namespace: str | None, name: str) -> dict | None:
        """An AnalysisTemplate (namespaced) or ClusterAnalysisTemplate the rollout names."""
        return self.desired.templates.get((kind, None if kind == "ClusterAnalysisTemplate" else namespace, name))

    def event(self, reason: str, message: str, type: str = "Normal") -> None:
        self.events.append(Event(reason, message, type))

    def note(self, text: str) -> None:
        self.notes.append(text)

    # -- ReplicaSets --------------------------------------------------------------------------------

    def rs(self, pod_hash: str) -> dict | None:
        return self.rs_by_hash.get(pod_hash) if pod_hash else None

    def replicasets(self) -> list[dict]:
        return sorted(self.rs_by_hash.values(), key=rs_revision, reverse=True)

    def max_revision(self) -> int:
        known = [rs_revision(rs) for rs in self.rs_by_hash.values()] + list(self.state.revisions.values())
        return max(known or [0])

    def _record(self, verb: str, before: dict | None, after: dict | None, reason: str, *, owned: bool = False) -> None:
        """Append an action. `before` is shared: what was observed or planned earlier is never written
        to (edits replace the object). `after` is copied unless `owned`: the caller hands over an
        object nothing else will edit."""
        obj = after or before or {}
        meta = obj.get("metadata") or {}
        after_copy = after if owned else plain_copy(after)
        self.actions.append(
            Action(verb, obj.get("kind", ""), meta.get("namespace") or self.namespace, meta.get("name", ""), before, after_copy, reason)
        )

    def new_replicaset(self, pod_hash: str, revision: int, replicas: int) -> dict:
        template = plain_copy(self.template)
        tmeta = template.setdefault("metadata", {})
        tlabels = dict(tmeta.get("labels") or {})
        tlabels[POD_TEMPLATE_HASH_LABEL] = pod_hash
        tmeta["labels"] = tlabels
        selector = plain_copy(self.spec.get("selector") or {})
        match = dict(selector.get("matchLabels") or {})
        match[POD_TEMPLATE_HASH_LABEL] = pod_hash
        selector["matchLabels"] = match
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{self.name}-{pod_hash}",
                "namespace": self.namespace,
                "labels": {**tlabels, ROLLOUT_LABEL: self.name},
                "annotations": {REVISION_ANNOTATION: str(revision)},
                # No ownerReference: the Rollout is not an object in the cluster (a reference needs
                # the owner's uid, and one to a missing owner would be garbage-collected). The
                # rollout label says whose ReplicaSet it is.
            },
            "spec": {"replicas": int(replicas), "selector": selector, "template": template},
        }
        from reconciler.engine import replicaset_spec  # minReadySeconds, role metadata, anti-affinity

        rs = replicaset_spec.for_new(self, rs)
        predicted = plain_copy(rs)
        self._record("create", None, rs, f"new ReplicaSet for revision {revision}", owned=True)
        predicted["metadata"]["creationTimestamp"] = iso(self.now)
        predicted["status"] = {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0}
        self.rs_by_hash[pod_hash] = predicted
        self.event("NewReplicaSetCreated", f"Created ReplicaSet {rs['metadata']['name']} (revision {revision}) with size {replicas}")
        return predicted

    def _replace_rs(self, rs: dict, after: dict, reason: str) -> dict:
        self._record("replace", rs, after, reason)
        self.rs_by_hash[rs_hash(after)] = after
        return after

    def scale(self, rs: dict | None, replicas: int, drop_annotation: str | None = None) -> None:
        """Scale `rs`; `drop_annotation` goes in the same write (one update of the ReplicaSet)."""
        if rs is None:
            return
        if rs_spec_replicas(rs) == replicas:
            if drop_annotation:
                self.set_annotation(rs, drop_annotation, None)
            return
        before_count = rs_spec_replicas(rs)
        after = plain_copy(rs)
        after["spec"]["replicas"] = int(replicas)
        if drop_annotation:
            ((after.get("metadata") or {}).get("annotations") or {}).pop(drop_annotation, None)
        status = after.setdefault("status", {})
        # What the cluster converges to: removed pods disappear, new pods are not yet available.
        for key in ("replicas", "readyReplicas", "availableReplicas"):
            status[key] = min(int(status.get(key) or 0), int(replicas)) if key != "replicas" else int(replicas)
        direction = "up" if replicas > before_count else "down"
        name = rs["metadata"]["name"]
        self._replace_rs(rs, after, f"scale {direction} from {before_count} to {replicas}")
        self.event("ScalingReplicaSet", f"Scaled {direction} ReplicaSet {name} (revision {rs_revision(rs)}) from {before_count} to {replicas}")

    def delete_replicaset(self, rs: dict, reason: str) -> None:
        self._record("delete", rs, None, reason)
        self.rs_by_hash.pop(rs_hash(rs), None)
        self.note(f"delete ReplicaSet {rs['metadata']['name']}: {reason}")

    def set_revision(self, rs: dict, revision: int) -> dict:
        if rs_revision(rs) == revision:
            return rs
        after = plain_copy(rs)
        after["metadata"].setdefault("annotations", {})[REVISION_ANNOTATION] = str(revision)
        return self._replace_rs(rs, after, f"revision {rs_revision(rs)} becomes revision {revision}")

    def set_annotation(self, rs: dict, key: str, value: str | None) -> dict:
        annotations = (rs.get("metadata") or {}).get("annotations") or {}
        if annotations.get(key) == value:
            return rs
        after = plain_copy(rs)
        ann = after["metadata"].setdefault("annotations", {})
        if value is None:
            ann.pop(key, None)
        else:
            ann[key] = value
        return self._replace_rs(rs, after, f"annotation {key}={value}" if value is not None else f"remove annotation {key}")

    # -- Services -------------------------------------------------------------------------------------

    def point_service(self, name: str | None, pod_hash: str) -> None:
        """Set the Service's `rollouts-pod-template-hash` selector (a missing Service is left to validation)."""
        if not name or not pod_hash:
            return
        svc = self.services.get(name)
        if svc is None:
            self.note(f"Service {name} not found; its selector cannot be set")
            return
        selector = (svc.get("spec") or {}).get("selector") or {}
        if selector.get(POD_TEMPLATE_HASH_LABEL) == pod_hash:
            return
        after = plain_copy(svc)
        after.setdefault("spec", {}).setdefault("selector", {})[POD_TEMPLATE_HASH_LABEL] = pod_hash
        self._record("replace", svc, after, f"selector {POD_TEMPLATE_HASH_LABEL}={pod_hash}")
        self.services[name] = after
        self.event("SwitchService", f"Switched selector for service '{name}' to value '{pod_hash}'")

    def service_hash(self, name: str | None) -> str:
        svc = self.services.get(name or "")
        return ((svc or {}).get("spec") or {}).get("selector", {}).get(POD_TEMPLATE_HASH_LABEL, "") if svc else ""

    def after_seconds(self, start: str | None, duration: float) -> bool:
        begun = parse_iso(start)
        return begun is not None and self.now >= begun + timedelta(seconds=duration)
