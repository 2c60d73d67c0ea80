"""A Kubernetes API emulator on 127.0.0.1 speaking the real REST protocol for `reconciler.kinds`.

What it serves, as a real API server does:
- discovery: /version, /api, /apis, /api/v1, /apis/<group>/<version> (APIResourceList with verbs);
- per kind: list (label selectors: =, ==, !=, in, notin, exists, !exists), get, create (generateName),
  update (PUT, resourceVersion precondition -> 409), patch (merge, JSON, apply; strategic merge as
  a merge-patch approximation for built-in kinds, 415 for custom resources as the real server does),
  delete (preconditions.resourceVersion -> 409), the `/status` subresource for the kinds that have
  one (a PUT of the object keeps the stored status there);
- bearer-token authentication (401) and, optionally, RBAC rules (403 with the real message shape).

What a real cluster's controllers do, it simulates with the pure functions of the embedded cluster
(reconciler/cluster/kubelet.py, kubelet_jobs.py): ReplicaSet and Job status, and Pods derived from
ReplicaSets, as of the emulator's settable clock (`set_now`).

Fault injection (`fail(...)`): answer a status (409, 429 with Retry-After, 500, ...) or hang for a
while on the calls that match a method and a path pattern, a given number of times.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

from reconciler.kinds import KINDS, KindInfo

from .store import PatchError, Store, json_patch, merge_patch, parse_selector

# Kinds whose status is a subresource on a real API server (CRDs: per their definition).
STATUS_SUBRESOURCE = {"Namespace", "Service", "Pod", "ReplicaSet", "Deployment", "Job", "Ingress", "Rollout", "VirtualService", "DestinationRule"}
CUSTOM_GROUPS = {"argoproj.io", "networking.istio.io"}
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public")
# Versions a real cluster serves besides the one in reconciler/kinds.py (Istio's CRDs serve three);
# one stored object, shown in whichever version is asked for (the CRDs' conversion is `None`).
EXTRA_VERSIONS = {"networking.istio.io": ("v1alpha3", "v1")}
VERBS = ["create", "delete", "get", "list", "patch", "update"]
# Built-in kinds a real cluster serves that reconciler.kinds does not list (a repository applies them
# as plain objects, their resource found by discovery). Custom resources: KubeEmulator(extra_kinds=...).
BUILT_IN_PLAIN = (
    KindInfo("PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets"),
    KindInfo("HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers"),
)


@dataclass
class Fault:
    """Answer `status` (or hang `hang` seconds) to the next `times` calls matching method and path.
    `advance`: the call takes that many seconds on the emulator's clock (a slow API server, without
    sleeping); it is then served normally unless `status` is also given."""

    method: str | None = None
    path: str | None = None  # a regular expression searched in the request path
    status: int | None = None
    hang: float | None = None
    times: int = 1
    retry_after: int | None = None
    advance: float | None = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times <= 0:
            return False
        if self.method and self.method.upper() != method:
            return False
        return not self.path or re.search(self.path, path) is not None


@dataclass
class Request:
    method: str
    path: str
    query: dict
    verb: str = ""
    status: int = 0
    body: object = None  # the decoded JSON body of a write, for tests that check what was sent


@dataclass
class _Route:
    info: KindInfo
    namespace: str | None
    name: str | None
    sub: str | None


class _ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, headers: dict | None = None, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.headers, self.details = code, reason, message, headers or {}, details


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class KubeEmulator:
    """Start with `with KubeEmulator() as api:`; `api.url`, `api.write_kubeconfig(path)`."""

    def __init__(
        self,
        *,
        token: str = "emulator-token",
        now: datetime | None = None,
        kubelet_config: dict | None = None,
        rbac: Iterable[tuple] | None = None,
        served_groups: Iterable[str] | None = None,
        user: str = "system:serviceaccount:default:reconciler",
        extra_kinds: Iterable[KindInfo] = (),
    ):
        self.kinds = {**KINDS, **{k.kind: k for k in (*BUILT_IN_PLAIN, *extra_kinds)}}  # what it serves (an installed CRD: extra_kinds)
        self.token = token
        self._now = now
        self.kubelet_config: dict = dict(kubelet_config or {})
        # RBAC rules: (group, resource, verb) allowed everywhere, or (group, resource, verb, scope)
        # with scope "namespace" (a Role bound in every namespace), "namespace:NAME" (a Role bound in
        # namespace NAME only) or "cluster" (a ClusterRole).
        self.rbac = None if rbac is None else {(r[0], r[1], r[2], r[3] if len(r) > 3 else "cluster") for r in rbac}
        self.served_groups = None if served_groups is None else set(served_groups)
        self.user = user
        self.store = Store()
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for ns in DEFAULT_NAMESPACES:
            self.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> KubeEmulator:
        emulator = self

        class Handler(_Handler):
            api = emulator

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> KubeEmulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the emulator first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def write_kubeconfig(self, path: str | Path, *, token: str | None = None, context: str = "emulator", namespace: str = "default") -> Path:
        return write_kubeconfig(path, server=self.url, token=token if token is not None else self.token, context=context, namespace=namespace)

    # -- test controls ---------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self._now or datetime.now(timezone.utc)

    def set_now(self, moment: datetime) -> None:
        with self.lock:
            self._now = moment

    def fail(self, *, method: str | None = None, path: str | None = None, status: int | None = None,
             hang: float | None = None, times: int = 1, retry_after: int | None = None, advance: float | None = None) -> Fault:
        fault = Fault(method=method, path=path, status=status, hang=hang, times=times, retry_after=retry_after, advance=advance)
        with self.lock:
            self.faults.append(fault)
        return fault

    def seed(self, obj: dict) -> dict:
        """Store an object directly (as `kubectl apply` would have), bypassing auth and faults."""
        info = self.kinds[obj["kind"]]
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if info.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        obj.setdefault("apiVersion", info.api_version)
        with self.lock:
            previous = self.store.get(info.kind, meta.get("namespace"), meta["name"])
            return self._store(info, obj, previous)

    def objects(self, kind: str, namespace: str | None = None) -> list[dict]:
        """What a client would list, controllers' view included."""
        with self.lock:
            return [self._observed(self.kinds[kind], obj) for obj in self._list_raw(self.kinds[kind], namespace)]

    def calls(self, verb: str | None = None, path: str | None = None) -> list[Request]:
        return [r for r in self.requests if (verb is None or r.verb == verb) and (path is None or re.search(path, r.path))]

    # -- the simulated controllers -----------------------------------------------------------------

    def _store(self, info: KindInfo, obj: dict, previous: dict | None) -> dict:
        if info.kind == "ReplicaSet":
            from reconciler.cluster import kubelet

            obj = kubelet.record_pod_starts(previous, obj, self.now)
            obj.pop("status", None)  # the controller's view is computed on read, as of the clock
        return self.store.put(obj, previous=previous, now_text=_iso(self.now))

    def _observed(self, info: KindInfo, obj: dict) -> dict:
        if obj.get("apiVersion") != info.api_version:
            obj = dict(obj, apiVersion=info.api_version)  # shown in the version the client asked for
        if info.kind == "ReplicaSet":
            from reconciler.cluster import kubelet

            return kubelet.simulate_replicaset(obj, self.kubelet_config, self.now)
        if info.kind == "Job":
            try:
                from reconciler.cluster.kubelet_jobs import simulate_job
            except ImportError:
                return obj
            return simulate_job(obj, self.kubelet_config, self.now)
        return obj

    def _list_raw(self, info: KindInfo, namespace: str | None) -> list[dict]:
        if info.kind == "Pod":
            from reconciler.cluster import kubelet

            pods = []
            for rs in self.store.list("ReplicaSet", namespace):
                pods.extend(kubelet.pods_for_replicaset(rs, self.kubelet_config, self.now))
            return pods
        return self.store.list(info.kind, namespace if info.namespaced else None)

    def _get_raw(self, info: KindInfo, namespace: str | None, name: str) -> dict | None:
        if info.kind == "Pod":
            return next((p for p in self._list_raw(info, namespace) if p["metadata"]["name"] == name), None)
        return self.store.get(info.kind, namespace, name)

    # -- request handling (under the lock) -----------------------------------------------------------

    def _serves(self, info: KindInfo) -> bool:
        return self.served_groups is None or info.group in self.served_groups or info.group == ""

    @staticmethod
    def _versions(info: KindInfo) -> tuple[str, ...]:
        return (info.version,) + EXTRA_VERSIONS.get(info.group, ())

    def _kinds_in(self, group: str, version: str) -> list[KindInfo]:
        return [
            dataclasses.replace(k, version=version)
            for k in self.kinds.values()
            if k.group == group and version in self._versions(k) and self._serves(k)
        ]

    def discovery(self, parts: list[str]) -> dict | None:
        if parts == ["version"]:
            return {"major": "1", "minor": "30", "gitVersion": "v1.30.0-reconciler-emulator", "platform": "linux/amd64"}
        if parts == ["api"]:
            return {"kind": "APIVersions", "apiVersion": "v1", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
        if parts == ["apis"]:
            groups: dict[str, set[str]] = {}
            for info in self.kinds.values():
                if info.group and self._serves(info):
                    groups.setdefault(info.group, set()).update(self._versions(info))
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [
                    {
                        "name": group,
                        "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in sorted(versions)],
                        "preferredVersion": {"groupVersion": f"{group}/{sorted(versions)[0]}", "version": sorted(versions)[0]},
                    }
                    for group, versions in sorted(groups.items())
                ],
            }
        if (len(parts) == 2 and parts[0] == "api") or (len(parts) == 3 and parts[0] == "apis"):
            group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
            kinds = self._kinds_in(group, version)
            if not kinds:
                return None
            resources = []
            for info in kinds:
                resources.append({"name": info.plural, "singularName": info.kind.lower(), "namespaced": info.namespaced,
                                  "kind": info.kind, "verbs": VERBS + ["deletecollection", "watch"]})
                if info.kind in STATUS_SUBRESOURCE:
                    resources.append({"name": f"{info.plural}/status", "singularName": "", "namespaced": info.namespaced,
                                      "kind": info.kind, "verbs": ["get", "patch", "update"]})
            return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}" if group else version,
                    "resources": resources}
        return None

    def route(self, parts: list[str]) -> _Route | None:
        if parts[:1] == ["api"] and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        by_plural = {k.plural: k for k in self._kinds_in(group, version)}
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] in by_plural and by_plural[rest[2]].namespaced:
            namespace, rest = rest[1], rest[2:]
        info = by_plural.get(rest[0])
        if info is None or len(rest) > 3:
            return None
        name = rest[1] if len(rest) >= 2 else None
        sub = rest[2] if len(rest) == 3 else None
        if sub is not None and (sub != "status" or info.kind not in STATUS_SUBRESOURCE):
            return None
        return _Route(info, namespace, name, sub)

    def authorize(self, route: _Route, verb: str) -> None:
        if self.rbac is None:
            return
        resource = route.info.plural + (f"/{route.sub}" if route.sub else "")
        scopes = {"cluster"} if (not route.info.namespaced or route.namespace is None) else {"cluster", "namespace", f"namespace:{route.namespace}"}
        if any((route.info.group, resource, verb, scope) in self.rbac for scope in scopes):
            return
        scope = f' in the namespace "{route.namespace}"' if route.namespace else " at the cluster scope"
        raise _ApiError(
            403, "Forbidden",
            f'{resource}{"." + route.info.group if route.info.group else ""}'
            f'{" " + repr(route.name).replace(chr(39), chr(34)) if route.name else ""} is forbidden: User "{self.user}" cannot {verb} '
            f'resource "{resource}" in API group "{route.info.group}"{scope}',
            details={"group": route.info.group, "kind": route.info.plural, "name": route.name or ""},
        )

    def handle(self, method: str, route: _Route, query: dict, body: bytes, content_type: str) -> tuple[int, dict]:
        info = route.info
        namespace = route.namespace if info.namespaced else None
        if info.namespaced and route.name is not None and namespace is None:
            raise _ApiError(404, "NotFound", f"the server could not find the requested resource ({info.plural} without a namespace)")
        if method == "GET" and route.name is None:
            match = parse_selector((query.get("labelSelector") or [""])[0])
            items = [self._observed(info, o) for o in self._list_raw(info, namespace)]
            items = [o for o in items if match((o.get("metadata") or {}).get("labels") or {})]
            if info.group not in CUSTOM_GROUPS:
                # A built-in list's items carry no kind/apiVersion; clients must not rely on them.
                for item in items:
                    item.pop("kind", None)
                    item.pop("apiVersion", None)
            return 200, {"kind": f"{info.kind}List", "apiVersion": info.api_version,
                         "metadata": {"resourceVersion": str(self.store.resource_version)}, "items": items}
        if method == "GET":
            obj = self._get_raw(info, namespace, route.name)
            if obj is None:
                raise _not_found(info, route.name)
            return 200, self._observed(info, obj)
        if info.kind == "Pod" and method == "DELETE" and route.name:  # its ReplicaSet starts a replacement
            from reconciler.cluster.pod_restart import restart_pod

            for rs in self.store.list("ReplicaSet", namespace):
                updated = restart_pod(rs, route.name, self.now)
                if updated is not None:
                    self.store.put(updated, previous=rs, now_text=_iso(self.now))
                    return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success"}
            raise _not_found(info, route.name)
        if info.kind == "Pod" and method != "GET":
            raise _ApiError(405, "MethodNotAllowed", "pods are derived from ReplicaSets by the emulator's simulated kubelet")
        if method == "POST" and route.name is None:
            return self._create(info, namespace, _decode(body, content_type), query)
        if method == "PUT" and route.name:
            return self._update(info, namespace, route.name, route.sub, _decode(body, content_type))
        if method == "PATCH" and route.name:
            return self._patch(info, namespace, route.name, route.sub, body, content_type, query)
        if method == "DELETE" and route.name:
            return self._delete(info, namespace, route.name, _decode(body, content_type) if body else {})
        raise _ApiError(405, "MethodNotAllowed", f"{method} is not supported on {info.plural}")

    def _check_namespace(self, info: KindInfo, namespace: str | None) -> None:
        if info.namespaced and self.store.get("Namespace", None, namespace) is None:
            raise _ApiError(404, "NotFound", f'namespaces "{namespace}" not found', details={"name": namespace, "kind": "namespaces"})

    def _check_body(self, info: KindInfo, namespace: str | None, obj) -> dict:
        if not isinstance(obj, dict):
            raise _ApiError(400, "BadRequest", "the body must be a JSON object")
        if obj.get("kind") not in (None, info.kind) or obj.get("apiVersion") not in (None, info.api_version):
            raise _ApiError(400, "BadRequest", f"the body is a {obj.get('apiVersion')} {obj.get('kind')}, the URL says {info.api_version} {info.kind}")
        obj = dict(obj, kind=info.kind, apiVersion=info.api_version)
        meta = dict(obj.get("metadata") or {})
        if info.namespaced:
            if meta.get("namespace") not in (None, "", namespace):
                raise _ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        for index, owner in enumerate(meta.get("ownerReferences") or []):
            for field in ("apiVersion", "kind", "name", "uid"):
                if not (owner or {}).get(field):
                    # as the API server's validation: an owner is named by its uid, not only its name
                    raise _ApiError(422, "Invalid", f"{info.kind} is invalid: metadata.ownerReferences[{index}].{field}: "
                                                    f"Invalid value: \"\": {field} must not be empty")
        obj["metadata"] = meta
        return obj

    def _create(self, info: KindInfo, namespace: str | None, obj, query: dict) -> tuple[int, dict]:
        obj = self._check_body(info, namespace, obj)
        self._check_namespace(info, namespace)
        meta = obj["metadata"]
        if meta.get("resourceVersion"):
            raise _ApiError(400, "BadRequest", "resourceVersion should not be set on objects to be created")
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise _ApiError(422, "Invalid", f"{info.kind} is invalid: metadata.name: Required value: name or generateName is required")
            meta["name"] = meta["generateName"] + format(self.store.resource_version + 1, "x").rjust(5, "0")[-5:]
        if self.store.get(info.kind, namespace, meta["name"]) is not None:
            raise _ApiError(409, "AlreadyExists", f'{info.plural}{"." + info.group if info.group else ""} "{meta["name"]}" already exists',
                            details={"name": meta["name"], "group": info.group, "kind": info.plural})
        if info.kind in STATUS_SUBRESOURCE:
            obj.pop("status", None)  # where status is a subresource, a create cannot set it
        return 201, self._observed(info, self._store(info, obj, None))

    def _precondition(self, info: KindInfo, name: str, expected, current: dict) -> None:
        actual = current["metadata"]["resourceVersion"]
        if expected and str(expected) != actual:
            raise _ApiError(
                409, "Conflict",
                f'Operation cannot be fulfilled on {info.plural}{"." + info.group if info.group else ""} "{name}": '
                "the object has been modified; please apply your changes to the latest version and try again",
                details={"name": name, "group": info.group, "kind": info.plural},
            )

    def _update(self, info: KindInfo, namespace: str | None, name: str, sub: str | None, obj) -> tuple[int, dict]:
        obj = self._check_body(info, namespace, obj)
        current = self.store.get(info.kind, namespace, name)
        if current is None:
            raise _not_found(info, name)
        if obj["metadata"].get("name") not in (None, name):
            raise _ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        self._precondition(info, name, obj["metadata"].get("resourceVersion"), current)
        return 200, self._observed(info, self._store(info, self._merge_scope(info, current, obj, sub), current))

    @staticmethod
    def _merge_scope(info: KindInfo, current: dict, new: dict, sub: str | None) -> dict:
        """What an update may change: /status changes only status; the object keeps the stored status."""
        if sub == "status":
            out = copy.deepcopy(current)
            if "status" in new:
                out["status"] = new["status"]
            else:
                out.pop("status", None)
            return out
        out = copy.deepcopy(new)
        out["metadata"]["name"] = current["metadata"]["name"]
        if info.kind in STATUS_SUBRESOURCE:
            if "status" in current:
                out["status"] = current["status"]
            else:
                out.pop("status", None)
        return out

    def _patch(self, info: KindInfo, namespace: str | None, name: str, sub: str | None, body: bytes, content_type: str, query: dict) -> tuple[int, dict]:
        current = self.store.get(info.kind, namespace, name)
        media = content_type.split(";")[0].strip()
        if media == "application/apply-patch+yaml":
            if not (query.get("fieldManager") or [""])[0]:
                raise _ApiError(400, "BadRequest", "PATCH /apply requires a non-empty fieldManager query parameter")
            applied = self._check_body(info, namespace, _decode(body, "application/yaml"))
            manager = query["fieldManager"][0]
            # Who applied it, as managedFields names it (the fields themselves are not tracked).
            entries = [e for e in ((current or {}).get("metadata") or {}).get("managedFields") or [] if e.get("manager") != manager]
            applied["metadata"]["managedFields"] = entries + [{"manager": manager, "operation": "Apply", "apiVersion": info.api_version,
                                                               "time": _iso(self.now), "fieldsType": "FieldsV1"}]
            if current is None:
                applied["metadata"].setdefault("name", name)
                self._check_namespace(info, namespace)
                return 201, self._observed(info, self._store(info, applied, None))
            patched = merge_patch(current, applied)  # approximation: no field ownership tracking
        else:
            if current is None:
                raise _not_found(info, name)
            patch = _decode(body, "application/json")
            try:
                if media == "application/json-patch+json":
                    patched = json_patch(current, patch)
                elif media == "application/merge-patch+json":
                    patched = merge_patch(current, patch)
                elif media == "application/strategic-merge-patch+json":
                    if info.group in CUSTOM_GROUPS:
                        raise _ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: "
                                        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
                    patched = merge_patch(current, patch)
                else:
                    raise _ApiError(415, "UnsupportedMediaType", f"unsupported patch type {media!r}")
            except PatchError as err:
                raise _ApiError(422, "Invalid", f"the patch cannot be applied: {err}") from None
        patched = self._check_body(info, namespace, patched)
        self._precondition(info, name, patched["metadata"].get("resourceVersion"), current)
        return 200, self._observed(info, self._store(info, self._merge_scope(info, current, patched, sub), current))

    def _delete(self, info: KindInfo, namespace: str | None, name: str, options) -> tuple[int, dict]:
        current = self.store.get(info.kind, namespace, name)
        if current is None:
            raise _not_found(info, name)
        expected = ((options or {}).get("preconditions") or {}).get("resourceVersion")
        self._precondition(info, name, expected, current)
        self.store.remove(info.kind, namespace, name)
        if info.kind == "Namespace":
            for key in [k for k in self.store.objects if k[1] == name]:
                self.store.objects.pop(key)
        return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                     "details": {"name": name, "group": info.group, "kind": info.plural, "uid": current["metadata"]["uid"]}}


def write_kubeconfig(path: str | Path, *, server: str, token: str, context: str = "emulator", namespace: str = "default") -> Path:
    """A kubeconfig with token authentication, as `kubectl config` writes one."""
    path = Path(path)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": f"{context}-user", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": f"{context}-user", "namespace": namespace}}],
        "current-context": context,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _not_found(info: KindInfo, name: str | None) -> _ApiError:
    return _ApiError(404, "NotFound", f'{info.plural}{"." + info.group if info.group else ""} "{name}" not found',
                     details={"name": name or "", "group": info.group, "kind": info.plural})


def _decode(body: bytes, content_type: str):
    if not body:
        return {}
    try:
        if "yaml" in content_type:
            return yaml.safe_load(body)
        return json.loads(body)
    except (ValueError, yaml.YAMLError) as err:
        raise _ApiError(400, "BadRequest", f"the body is not valid: {err}") from None


def _status_body(error: _ApiError) -> dict:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": error.message,
            "reason": error.reason, "code": error.code}
    if error.details:
        body["details"] = error.details
    return body


_METHOD_VERB = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)  # a client hanging up (timeouts) is normal


class _Handler(BaseHTTPRequestHandler):
    api: KubeEmulator
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, code: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        record = Request(method, url.path, query)
        if body and ("json" in (self.headers.get("Content-Type") or "application/json") or "apply-patch" in self.headers.get("Content-Type", "")):
            try:
                record.body = json.loads(body)
            except ValueError:
                pass
        api = self.api
        with api.lock:
            api.requests.append(record)
            fault = next((f for f in api.faults if f.matches(method, url.path)), None)
            if fault:
                fault.times -= 1
                fault.hits += 1
                if fault.advance:
                    api._now = api.now + timedelta(seconds=fault.advance)
        try:
            if fault and fault.hang:
                time.sleep(fault.hang)
            if fault and fault.status:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                reason = {409: "Conflict", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}.get(fault.status, "Injected")
                raise _ApiError(fault.status, reason, f"injected fault: {fault.status}", headers=headers)
            if api.token and self.headers.get("Authorization") != f"Bearer {api.token}":
                raise _ApiError(401, "Unauthorized", "Unauthorized")
            parts = [p for p in url.path.split("/") if p]
            with api.lock:
                if method == "GET":
                    found = api.discovery(parts)
                    if found is not None:
                        record.status = 200
                        self._send(200, found)
                        return
                route = api.route(parts)
                if route is None:
                    raise _ApiError(404, "NotFound", "the server could not find the requested resource")
                record.verb = ("list" if route.name is None else "get") if method == "GET" else _METHOD_VERB.get(method, method.lower())
                api.authorize(route, record.verb)
                code, payload = api.handle(method, route, query, body, self.headers.get("Content-Type") or "application/json")
        except _ApiError as err:
            record.status = err.code
            self._send(err.code, _status_body(err), err.headers)
            return
        record.status = code
        self._send(code, payload)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")


__all__ = ["KubeEmulator", "Fault", "Request", "STATUS_SUBRESOURCE", "write_kubeconfig"]
