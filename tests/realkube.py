"""A real kube-apiserver for the `realkube` tests (scripts/realkube.sh), as a pytest plugin.

- `realkube` (session): etcd + kube-apiserver started once per session by `scripts/realkube.sh
  start` and stopped at the end; skipped, with the reason, when the binaries are not built (CI runs
  `scripts/realkube.sh setup` first, so there they are).
- `realkube_backend`: the scenario tests' `backend` interface (tests/backends.py) on that apiserver.
  The CLI runs as the ServiceAccount of deploy/serviceaccount.yaml with a TokenRequest token and the
  Role/RoleBinding of deploy/rbac.yaml, never as admin. No kube-controller-manager runs here: the
  test plays the ReplicaSet and Job controllers itself, through the API's /status subresource as
  admin, with the same pure functions (reconciler/cluster/kubelet*.py) and the same clock (the
  run's --now) as the emulator, so the scenarios' timings hold.
- `realkube_controllers` (module): a second control plane with kube-controller-manager and the
  simulated nodes of scripts/realkube.py, for what only real controllers show (Jobs running pods).
"""

from __future__ import annotations

import copy
import importlib.util
import itertools
import json
import secrets
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from reconciler.kinds import KINDS, KindInfo

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "realkube.sh"
DEPLOY = ROOT / "deploy"
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
SERVICE_ACCOUNT = "reconciler"
_spec = importlib.util.spec_from_file_location("realkube_script", ROOT / "scripts" / "realkube.py")
script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(script)


def path(info: KindInfo, namespace: str | None = None, name: str | None = None, sub: str | None = None) -> str:
    base = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
    if info.namespaced and namespace:
        base += f"/namespaces/{quote(namespace, safe='')}"
    base += f"/{info.plural}"
    if name:
        base += f"/{quote(name, safe='')}"
    return base + (f"/{sub}" if sub else "")


class ControlPlane:
    """A started control plane: `kubeconfig` (admin), `call(...)` as admin, helpers for tests."""

    _names = itertools.count(1)

    def __init__(self, state: Path, kubeconfig: Path, controllers: bool):
        self.state = state
        self.kubeconfig = kubeconfig
        self.controllers = controllers
        self.server = (state / "server").read_text().strip()
        self.admin = script.Admin(self.server, state / "pki")

    # -- admin calls -------------------------------------------------------------------------------

    def call(self, method: str, where: str, body=None, content_type: str = "application/json") -> tuple[int, dict]:
        return self.admin.call(method, where, body, content_type)

    def must(self, method: str, where: str, body=None, ok=(200, 201), content_type: str = "application/json") -> dict:
        status, payload = self.call(method, where, body, content_type)
        assert status in ok, f"{method} {where} -> {status}: {payload.get('message', payload)}"
        return payload

    def objects(self, kind: str, namespace: str | None = None) -> list[dict]:
        info = KINDS[kind]
        items = self.must("GET", path(info, namespace)).get("items") or []
        for item in items:
            item.setdefault("apiVersion", info.api_version)
            item.setdefault("kind", kind)
        return items

    def get(self, kind: str, namespace: str | None, name: str) -> dict | None:
        status, payload = self.call("GET", path(KINDS[kind], namespace, name))
        return payload if status == 200 else None

    def seed(self, obj: dict) -> dict:
        """Create or replace an object as admin (what `kubectl apply` by a person would do)."""
        info = KINDS[obj["kind"]]
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if info.namespaced:
            meta.setdefault("namespace", "default")
        obj.setdefault("apiVersion", info.api_version)
        namespace = meta.get("namespace") if info.namespaced else None
        current = self.get(obj["kind"], namespace, meta["name"])
        if current is None:
            return self.must("POST", path(info, namespace), obj)
        meta["resourceVersion"] = current["metadata"]["resourceVersion"]
        return self.must("PUT", path(info, namespace, meta["name"]), obj)

    def ensure_namespace(self, name: str) -> None:
        self.must("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, ok=(201, 409))

    def fresh_namespace(self, prefix: str = "t") -> str:
        name = f"{prefix}-{next(self._names)}-{secrets.token_hex(2)}"
        self.ensure_namespace(name)
        return name

    def wait_for(self, what: str, check, timeout: float = 120.0):
        """Poll until `check()` is truthy (controllers act asynchronously); fails naming `what`."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(0.2)

    # -- least privilege -----------------------------------------------------------------------------

    def install_service_account(self, namespace: str, managed: list[str] | tuple[str, ...] = ()) -> Path:
        """deploy/serviceaccount.yaml and deploy/rbac.yaml into `namespace` (rewritten as kustomize's
        `namespace:` does; cluster-scoped names get a suffix, as a kustomize nameSuffix would, so two
        tests do not share them), the Role `reconciler` also bound in each of `managed`. Returns a
        kubeconfig holding a TokenRequest token for that ServiceAccount."""
        suffix = f"-{namespace}"
        docs = [d for name in ("serviceaccount.yaml", "rbac.yaml") for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]
        for doc in docs:
            doc = copy.deepcopy(doc)
            kind = doc["kind"]
            if kind in ("ClusterRole", "ClusterRoleBinding"):
                doc["metadata"]["name"] += suffix
                if kind == "ClusterRoleBinding":
                    doc["roleRef"]["name"] += suffix
            for subject in doc.get("subjects") or []:
                subject["namespace"] = namespace
            targets = [namespace]
            if kind in ("Role", "RoleBinding") and doc["metadata"]["name"] == "reconciler":
                targets += [ns for ns in managed if ns != namespace]  # "bind the same rules there" (rbac.yaml's comment)
            for target in targets if kind not in ("ClusterRole", "ClusterRoleBinding") else [None]:
                obj = copy.deepcopy(doc)
                if target:
                    obj["metadata"]["namespace"] = target
                group, _, version = obj["apiVersion"].rpartition("/")
                plural = {"ServiceAccount": "serviceaccounts", "Role": "roles", "RoleBinding": "rolebindings",
                          "ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings"}[kind]
                base = (f"/apis/{group}/{version}" if group else f"/api/{version}") + (f"/namespaces/{target}" if target else "")
                self.must("POST", f"{base}/{plural}", obj, ok=(201, 409))
        token = self.must("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{SERVICE_ACCOUNT}/token",
                          {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}})
        kubeconfig = self.state / f"sa-{namespace}.kubeconfig"
        return script.write_kubeconfig(kubeconfig, self.server, self.state / "pki", token=token["status"]["token"], user=f"sa-{namespace}")

    def audit(self, user: str | None = None) -> list[dict]:
        """The API calls the apiserver recorded (service accounts only; see scripts/realkube.py)."""
        log = self.state / "audit.log"
        events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.exists() else []
        return [e for e in events if user is None or (e.get("user") or {}).get("username") == user]

    def reset(self) -> None:
        """Delete every object of the reconciler's kinds (and Leases, Events) outside the system
        namespaces, so the next test starts from an empty cluster, as with a fresh emulator."""
        namespaces = [n["metadata"]["name"] for n in self.objects("Namespace") if n["metadata"]["name"] not in SYSTEM_NAMESPACES]
        for info in KINDS.values():
            if info.kind in ("Namespace", "Pod", "ServiceAccount", "Secret") and not self.controllers:
                continue
            if info.kind in ("Namespace", "ServiceAccount", "Secret"):
                continue
            for namespace in namespaces if info.namespaced else [None]:
                query = "?propagationPolicy=Background"
                status, payload = self.call("DELETE", path(info, namespace) + query)
                assert status in (200, 404), f"deletecollection {info.plural}: {status} {payload.get('message')}"


def start_control_plane(with_controllers: bool) -> tuple[ControlPlane, Path]:
    reasons = script.missing()
    if with_controllers and not (script.cache_dir() / "kube-controller-manager").exists():
        reasons.append(f"kube-controller-manager {script.version()} is not built in {script.cache_dir()} (run scripts/realkube.sh setup)")
    if reasons:
        pytest.skip("realkube: " + "; ".join(reasons))
    argv = [str(SCRIPT), "start"] + (["--with-controllers"] if with_controllers else [])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"scripts/realkube.sh start failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    kubeconfig = Path(proc.stdout.strip().splitlines()[-1])
    return ControlPlane(kubeconfig.parent, kubeconfig, with_controllers), kubeconfig.parent


def stop_control_plane(state: Path) -> None:
    subprocess.run([str(SCRIPT), "stop", str(state)], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def realkube():
    plane, state = start_control_plane(with_controllers=False)
    try:
        yield plane
    finally:
        stop_control_plane(state)


@pytest.fixture(scope="module")
def realkube_controllers():
    plane, state = start_control_plane(with_controllers=True)
    try:
        yield plane
    finally:
        stop_control_plane(state)


# -- the scenario tests' backend on the real apiserver ------------------------------------------------


def _moment(now) -> datetime:
    if isinstance(now, datetime):
        return now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    text = str(now)
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text).astimezone(timezone.utc)


class RealKubeBackend:
    """tests/backends.py's backend interface on a real apiserver (see the module docstring)."""

    name = "realkube"

    def __init__(self, plane: ControlPlane, kubeconfig: Path):
        self.api = plane
        self.kubeconfig = kubeconfig
        self.cli_args = ["--cluster", "kube"]
        self.env = {"KUBECONFIG": str(kubeconfig)}
        self.config: dict = {}
        self.now: datetime | None = None
        # What the emulator records on the objects themselves: when each ReplicaSet's pods and each
        # Job started, on the run's clock (the real apiserver stamps its own creationTimestamp).
        self.pod_starts: dict[str, list[str]] = {}
        self.job_starts: dict[str, str] = {}
        self.bound = {"default"}

    def kubelet_config(self, config: dict) -> None:
        self.config = dict(config or {})

    def set_now(self, now) -> None:
        self.now = _moment(now)
        self.sync()

    def before_command(self) -> None:
        """Bind the Role in every namespace there is (a namespace a test just made, too)."""
        namespaces = set(self._namespaces())
        if not namespaces <= self.bound:
            self.api.install_service_account("default", managed=sorted(namespaces))
            self.bound |= namespaces

    def after_command(self) -> None:
        self.sync()

    def cluster(self, now=None):
        from tests.kube_reader import TestKubeCluster

        if now is not None:
            self.set_now(now)
        return TestKubeCluster(kubeconfig=str(self.kubeconfig))

    def _namespaces(self) -> list[str]:
        return [n["metadata"]["name"] for n in self.api.objects("Namespace") if n["metadata"]["name"] not in SYSTEM_NAMESPACES]

    def sync(self) -> None:
        """Play the ReplicaSet and Job controllers at the run's clock: write /status as admin."""
        from reconciler.cluster import kubelet
        from reconciler.cluster.kubelet_jobs import simulate_job

        now = self.now or datetime.now(timezone.utc)
        for namespace in self._namespaces():
            for rs in self.api.objects("ReplicaSet", namespace):
                uid = rs["metadata"]["uid"]
                replicas = int(rs["spec"].get("replicas") or 0)
                starts = self.pod_starts.get(uid, [])
                starts = starts[:replicas] + [kubelet.iso(now)] * max(0, replicas - len(starts))
                self.pod_starts[uid] = starts
                virtual = copy.deepcopy(rs)
                virtual["metadata"].setdefault("annotations", {})[kubelet.POD_STARTS_ANNOTATION] = json.dumps(starts)
                status = kubelet.simulate_replicaset(virtual, self.config, now)["status"]
                if status != rs.get("status"):
                    self.api.must("PUT", path(KINDS["ReplicaSet"], namespace, rs["metadata"]["name"], "status"), dict(rs, status=status))
            for job in self.api.objects("Job", namespace):
                uid = job["metadata"]["uid"]
                started = self.job_starts.setdefault(uid, kubelet.iso(now))
                virtual = copy.deepcopy(job)
                virtual["metadata"]["creationTimestamp"] = started
                status = simulate_job(virtual, self.config, now).get("status") or {}
                status = _job_status_the_apiserver_takes(job, status)
                if status != (job.get("status") or {}):
                    self.api.must("PUT", path(KINDS["Job"], namespace, job["metadata"]["name"], "status"), dict(job, status=status))


def _job_status_the_apiserver_takes(job: dict, status: dict) -> dict:
    """The simulated Job status, with what a real apiserver requires of a Job controller's writes
    (kube 1.31+ validation): a terminal condition is preceded by SuccessCriteriaMet / FailureTarget,
    and `ready`/`terminating` counters are present."""
    status = copy.deepcopy(status)
    conditions = status.get("conditions") or []
    extra = []
    for condition in conditions:
        if condition["type"] == "Complete":
            extra.append(dict(condition, type="SuccessCriteriaMet", reason=condition.get("reason") or "CompletionsReached",
                              message=condition.get("message") or "Reached expected number of succeeded pods"))
        if condition["type"] == "Failed":
            extra.append(dict(condition, type="FailureTarget"))
    if extra:
        status["conditions"] = extra + [dict(c, reason=c.get("reason") or "CompletionsReached",
                                             message=c.get("message") or "Reached expected number of succeeded pods") for c in conditions]
    status.setdefault("ready", 0)
    status.setdefault("terminating", 0)
    status.setdefault("uncountedTerminatedPods", {})
    return status


@pytest.fixture
def realkube_backend(realkube):
    realkube.reset()
    kubeconfig = realkube.install_service_account("default", managed=["default"])
    yield RealKubeBackend(realkube, kubeconfig)
