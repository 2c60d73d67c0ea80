"""The embedded cluster: plain Kubernetes objects as YAML files a person can read and edit.

    DIR/<namespace>/<Kind>/<name>.yaml        (cluster-scoped kinds: DIR/_cluster/<Kind>/<name>.yaml)
    DIR/kubelet.yaml                           (optional: how simulated pods behave, see kubelet.py)

It implements `reconciler.cluster.base.Cluster`. A simulated kubelet (reconciler.cluster.kubelet)
sets ReplicaSet status as of the run's `now`; Pods are derived from ReplicaSets on `list("Pod")`.
Jobs get their status from `reconciler.cluster.kubelet_jobs.simulate_job` when that module exists.
Writes are atomic (write to a temporary file, then rename) and use resourceVersion for optimistic
concurrency, so two runs against the same DIR cannot both advance a rollout. Every write (and the
Lease's check-and-take) holds an exclusive lock on DIR/.lock (fcntl.flock) from the resourceVersion
check to the rename, so the check and the write are one step for every process; resourceVersions
come from one counter (DIR/.resource-version), bumped under the same lock, as a Kubernetes API
server allocates them: a deleted and re-created object never reuses an old one. Reads take no lock
(a rename is atomic: a reader sees the old file or the new one, never half of one).
"""

from __future__ import annotations

import copy
import fcntl
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from reconciler.atomic_write import write_text_atomically
from reconciler.cluster import kubelet, parse_cache
from reconciler.cluster.base import HeldLease
from reconciler.errors import ClusterError, Conflict, Refused
from reconciler.interrupt import shielded
from reconciler.kinds import namespaced, object_key
from reconciler.plain_data import plain as _plain
from reconciler.plain_yaml import dump_plain, fast_dumper

CLUSTER_SCOPED_DIR = "_cluster"
KUBELET_CONFIG = "kubelet.yaml"
LOCK_FILE = ".lock"
RESOURCE_VERSION_FILE = ".resource-version"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _unreadable(path: Path, err: Exception) -> ClusterError:
    detail = " ".join(str(getattr(err, "problem", None) or getattr(err, "strerror", None) or err).split())[:200]
    return ClusterError(f"the embedded cluster's file {path} cannot be read: {detail}",
                        hint="fix the file or remove it (the next run writes what it needs again)")


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as err:
        raise _unreadable(path, err) from None


def _parse(path: Path, data: bytes):
    try:
        return yaml.load(data, Loader=_Loader)
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as err:  # a hand edit gone wrong: say which file
        raise _unreadable(path, err) from None


def _load(path: Path):
    return _parse(path, _read_bytes(path))


_DUMP_OPTIONS = {"sort_keys": False, "default_flow_style": False, "allow_unicode": True}
_fast_dumper = None


def _dump(obj) -> str:
    """yaml.dump(obj, Dumper=CSafeDumper, **_DUMP_OPTIONS), with the nodes built directly
    (reconciler/plain_yaml.py): PyYAML's representer was most of a write's CPU."""
    global _fast_dumper
    if _fast_dumper is None:
        _fast_dumper = fast_dumper(type("ClusterDumper", (_Dumper,), {}))
    return dump_plain(obj, _fast_dumper, _DUMP_OPTIONS, literal_blocks=False, as_is=True)



def _matches(obj: dict, selector: Mapping[str, str] | None) -> bool:
    if not selector:
        return True
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


class LocalCluster:
    name = "local"

    def __init__(self, directory: str | Path, now: datetime | None = None, kubelet_config: dict | None = None):
        self.dir = Path(directory)
        self.now = now or datetime.now(timezone.utc)
        self.reads = 0
        self.writes = 0
        self.reads_by: dict[tuple[str, str | None], int] = {}
        self._kubelet_config = kubelet_config
        self._event_counter = 0
        self._lock_depth = 0
        self._thread_lock = threading.RLock()

    # -- configuration ---------------------------------------------------------------------------

    @property
    def kubelet_config(self) -> dict:
        if self._kubelet_config is None:
            path = self.dir / KUBELET_CONFIG
            config: dict = {}
            if path.is_file():
                try:
                    config = _load(path) or {}
                except yaml.YAMLError as err:
                    raise ClusterError(f"{path} is not valid YAML: {err}", hint="fix or remove the simulated kubelet's config") from None
                if not isinstance(config, dict):
                    raise ClusterError(f"{path} must be a mapping", hint="see docs/engine.md, 'The simulated kubelet'")
            self._kubelet_config = config
        return self._kubelet_config

    # -- paths -------------------------------------------------------------------------------------

    def _namespaced(self, kind: str) -> bool:
        return namespaced(kind)  # a kind the reconciler does not know is namespaced unless kinds.py lists it

    def _kind_dir(self, kind: str, namespace: str | None) -> Path:
        if not self._namespaced(kind):
            return self._inside(self.dir / CLUSTER_SCOPED_DIR / str(kind), kind, namespace, "")
        return self._inside(self.dir / (namespace or "default") / str(kind), kind, namespace, "")

    def _path(self, kind: str, namespace: str | None, name: str) -> Path:
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith(".") or "\0" in name:
            raise Refused(f"invalid object name {name!r}: not a Kubernetes name", hint="fix metadata.name (a DNS-1123 subdomain)")
        return self._inside(self._kind_dir(kind, namespace) / f"{name}.yaml", kind, namespace, name)

    def _inside(self, path: Path, kind, namespace, name) -> Path:
        """Every path this cluster touches stays under its directory, whatever a name or namespace
        says (`../../outside`, an absolute path, a symlink): validation refuses such names first;
        this is the adapter's own guard."""
        root = os.path.realpath(self.dir)
        real = os.path.realpath(path)
        parts = (str(kind), str(namespace or ""), str(name))
        if (os.path.commonpath([root, real]) != root or real == root or any("\0" in p for p in parts)
                or any(p in (".", "..") or "/" in p for p in parts[:2]) or (namespace == CLUSTER_SCOPED_DIR and self._namespaced(kind))):
            raise Refused(f"{kind} {namespace or ''}/{name}: the path it would take leaves the cluster directory {self.dir}",
                          hint="fix metadata.namespace / metadata.name (DNS-1123 names only)")
        return path

    def _namespaces(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted(p.name for p in self.dir.iterdir() if p.is_dir() and p.name != CLUSTER_SCOPED_DIR and not p.name.startswith("."))

    # -- reads -------------------------------------------------------------------------------------

    def _count_read(self, kind: str, namespace: str | None) -> None:
        self.reads += 1
        self.reads_by[(kind, namespace)] = self.reads_by.get((kind, namespace), 0) + 1

    def _read_dir(self, kind: str, namespace: str | None) -> list[dict]:
        if kind == "Pod":
            pods = []
            for rs in self._read_dir("ReplicaSet", namespace):
                pods.extend(kubelet.pods_for_replicaset(rs, self.kubelet_config, self.now))
            return pods + self._read_files("Pod", namespace)  # and a bare Pod applied from a source
        return self._read_files(kind, namespace)

    def _read_files(self, kind: str, namespace: str | None) -> list[dict]:
        directory = self._kind_dir(kind, namespace)
        if not directory.is_dir():
            return []
        out = []
        for _, obj in parse_cache.load_directory(self.dir, directory, _read_bytes, _parse):  # unchanged files are not parsed again
            if isinstance(obj, dict):
                out.append(self._simulate(obj))
        return out

    def _simulate(self, obj: dict) -> dict:
        kind = obj.get("kind")
        if kind == "ReplicaSet":  # obj is this call's own copy: its status is set in place
            obj["status"] = kubelet.replicaset_status(obj, self.kubelet_config, self.now)
            return obj
        if kind == "Job":
            try:
                from reconciler.cluster.kubelet_jobs import simulate_job
            except ImportError:
                return obj
            return simulate_job(obj, self.kubelet_config, self.now)
        return obj

    def list(self, kind: str, namespace: str | None = None, selector: Mapping[str, str] | None = None, *, api_version: str = "") -> list[dict]:
        """`api_version`: given for a plain object's kind (the kube backend needs it; files are by kind)."""
        self._count_read(kind, namespace)
        if not self._namespaced(kind):
            objects = self._read_dir(kind, None)
        elif namespace is None:
            objects = [obj for ns in self._namespaces() for obj in self._read_dir(kind, ns)]
        else:
            objects = self._read_dir(kind, namespace)
        return [obj for obj in objects if _matches(obj, selector)]

    def get(self, kind: str, namespace: str | None, name: str) -> dict | None:
        self._count_read(kind, namespace)
        if kind == "Pod":
            return next((p for p in self._read_dir("Pod", namespace) if p["metadata"]["name"] == name), None)
        path = self._path(kind, namespace, name)
        if not path.is_file():
            return None
        obj = _load(path)
        return self._simulate(obj) if isinstance(obj, dict) else None

    # -- writes ------------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold DIR/.lock exclusively (re-entrant within this object): the compare and the swap of
        every write happen under it, so two processes cannot both pass the same check."""
        with self._thread_lock:
            if self._lock_depth:
                self._lock_depth += 1
                try:
                    yield
                finally:
                    self._lock_depth -= 1
                return
            with shielded():  # SIGTERM/SIGINT wait until the write is done (reconciler/interrupt.py)
                self.dir.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    self._lock_depth = 1
                    try:
                        yield
                    finally:
                        self._lock_depth = 0
                        fcntl.flock(fd, fcntl.LOCK_UN)
                finally:
                    os.close(fd)

    def _next_resource_version(self, previous: str | None = None) -> int:
        """The next value of the cluster-wide counter (call under `_locked`); never below an
        object's own previous resourceVersion, so a directory made before the counter existed
        (or edited by hand) still only moves forward."""
        path = self.dir / RESOURCE_VERSION_FILE
        try:
            last = int(path.read_text(encoding="ascii").strip() or 0)
        except (OSError, ValueError):
            last = 0
        if previous is not None and str(previous).isdigit():
            last = max(last, int(previous))
        value = last + 1
        self._write_text(path, f"{value}\n")
        return value

    @staticmethod
    def _write_text(path: Path, text: str) -> None:
        write_text_atomically(path, text)

    def _write(self, path: Path, obj: dict, *, remember: bool = True) -> None:
        text = _dump(obj)
        self._write_text(path, text)
        if remember:
            parse_cache.record_write(self.dir, path, text, obj)
        self.writes += 1

    def _stored_form(self, obj: dict, previous: dict | None, resource_version: int) -> dict:
        obj = _plain(obj)
        kind, namespace, name = object_key(obj)
        metadata = obj.setdefault("metadata", {})
        if self._namespaced(kind):
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
        metadata["resourceVersion"] = str(resource_version)
        previous_meta = (previous or {}).get("metadata") or {}
        metadata["creationTimestamp"] = previous_meta.get("creationTimestamp") or metadata.get("creationTimestamp") or kubelet.iso(self.now)
        metadata["generation"] = int(previous_meta.get("generation", 0)) + (1 if (previous or {}).get("spec") != obj.get("spec") else 0) or 1
        if kind == "ReplicaSet":
            obj = kubelet.record_pod_starts(previous, obj, self.now)
            obj.pop("status", None)
        return obj

    def create(self, obj: dict) -> dict:
        kind, namespace, name = object_key(obj)
        path = self._path(kind, namespace, name)
        with self._locked():
            if path.exists():
                raise Conflict(kind, namespace, name, "already exists")
            stored = self._stored_form(obj, None, self._next_resource_version())
            self._write(path, stored)
        return self._simulate(copy.deepcopy(stored))

    def replace(self, obj: dict) -> dict:
        kind, namespace, name = object_key(obj)
        path = self._path(kind, namespace, name)
        with self._locked():
            previous = _load(path) if path.is_file() else None
            if previous is None:
                raise Conflict(kind, namespace, name, "does not exist")
            expected = (obj.get("metadata") or {}).get("resourceVersion")
            current = str((previous.get("metadata") or {}).get("resourceVersion", "0"))
            if expected is not None and str(expected) != current:
                raise Conflict(kind, namespace, name, f"resourceVersion {expected} != {current}")
            stored = self._stored_form(obj, previous, self._next_resource_version(current))
            self._write(path, stored)
        return self._simulate(copy.deepcopy(stored))

    def delete(self, kind: str, namespace: str | None, name: str, resource_version: str | None = None, *, api_version: str = "") -> None:
        """`api_version`: given for a plain object's kind (as for `list`; files are by kind)."""
        if kind == "Pod":  # simulated pods live in their ReplicaSet: it starts a replacement (pod_restart.py)
            self._restart_pod(namespace, name)
            return
        path = self._path(kind, namespace, name)
        with self._locked():
            if not path.is_file():
                return
            if resource_version is not None:
                current = str(((_load(path) or {}).get("metadata") or {}).get("resourceVersion", "0"))
                if str(resource_version) != current:
                    raise Conflict(kind, namespace, name, f"resourceVersion {resource_version} != {current}")
            path.unlink()
            self.writes += 1

    def _restart_pod(self, namespace: str | None, name: str) -> None:
        from reconciler.cluster.pod_restart import restart_pod

        directory = self._kind_dir("ReplicaSet", namespace)
        for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
            rs = _load(path)
            updated = restart_pod(rs, name, self.now) if isinstance(rs, dict) else None
            if updated is not None:
                version = str((updated.get("metadata") or {}).get("resourceVersion", "0"))
                updated["metadata"]["resourceVersion"] = str(int(version) + 1 if version.isdigit() else 1)
                self._write(path, updated)
                return

    # -- events and leases ---------------------------------------------------------------------------

    def emit_event(self, involved: dict, reason: str, message: str, *, type: str = "Normal", now: datetime) -> None:
        kind, namespace, name = object_key(involved)
        self._event_counter += 1
        stamp = now.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")
        event_name = f"{name}.{stamp}.{os.getpid():x}{self._event_counter:04x}"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": event_name, "namespace": namespace or "default"},
            "involvedObject": {"apiVersion": involved.get("apiVersion", ""), "kind": kind, "name": name, "namespace": namespace},
            "reason": reason,
            "message": message,
            "type": type,
            "source": {"component": "reconciler"},
            "firstTimestamp": kubelet.iso(now),
            "lastTimestamp": kubelet.iso(now),
            "count": 1,
        }
        # Not remembered for the parse cache: a run never reads Events back, and four per rollout held
        # until exit were the largest part of a 10,000-Rollout run's memory (a later read parses them once).
        self._write(self._path("Event", namespace or "default", event_name), event, remember=False)

    @contextmanager
    def lease(self, name: str, namespace: str, holder: str, *, duration_seconds: int, now: datetime) -> Iterator[HeldLease]:
        path = self._path("Lease", namespace, name)
        with self._locked():  # the holder check and the take are one step for every process
            previous = _load(path) if path.is_file() else None
            if previous:
                spec = previous.get("spec") or {}
                other = spec.get("holderIdentity")
                renewed = kubelet.parse_iso(spec.get("renewTime"))
                expires = renewed + timedelta(seconds=int(spec.get("leaseDurationSeconds") or 0)) if renewed else None
                if other and other != holder and expires is not None and expires > now:
                    raise ClusterError(
                        f"another run ({other}) holds the lease {namespace}/{name} until {kubelet.iso(expires)}",
                        hint="wait for it to finish; a crashed run's lease expires on its own",
                    )
            lease = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"holderIdentity": holder, "leaseDurationSeconds": int(duration_seconds), "acquireTime": kubelet.iso(now), "renewTime": kubelet.iso(now)},
            }
            if previous is None:
                stored = self.create(lease)
            else:
                lease["metadata"]["resourceVersion"] = (previous.get("metadata") or {}).get("resourceVersion")
                stored = self.replace(lease)
        held = HeldLease(name, namespace, holder, int(duration_seconds), now, stored)
        try:
            yield held
        finally:
            self.release_lease(held)

    def release_lease(self, held: HeldLease) -> None:
        """Give the lease back (empty holder) if this run still holds it; idempotent, so a signal
        handler and the `with` block can both call it."""
        path = self._path("Lease", held.namespace, held.name)
        with self._locked():
            current = _load(path) if path.is_file() else None
            if current and ((current.get("spec") or {}).get("holderIdentity") == held.holder):
                current["spec"]["holderIdentity"] = None
                current["spec"]["renewTime"] = None
                self.replace(current)

    def renew_lease(self, lease: HeldLease, *, now: datetime) -> None:
        renewed = copy.deepcopy(lease.obj)
        renewed.setdefault("spec", {})["renewTime"] = kubelet.iso(now)
        try:
            stored = self.replace(renewed)  # with the resourceVersion last written: anyone else's write is a Conflict
        except Conflict:
            path = self._path("Lease", lease.namespace, lease.name)
            other = (((_load(path) if path.is_file() else None) or {}).get("spec") or {}).get("holderIdentity")
            raise ClusterError(
                f"lost the lease {lease.namespace}/{lease.name}{(' to ' + other) if other else ''}: it was not renewed within "
                f"{lease.duration_seconds}s and another run took it over; stopped before acting further",
                hint="the next run re-reads everything and continues where this one stopped",
            ) from None
        lease.obj, lease.renewed_at = stored, now

    # -- helpers for tests and the benchmark ----------------------------------------------------------

    def reset_counters(self) -> None:
        self.reads = self.writes = 0
        self.reads_by.clear()
