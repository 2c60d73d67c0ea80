"""`--cluster kube`: the Cluster interface (reconciler/cluster/base.py) on a real Kubernetes API.

Uses the official `kubernetes` client (imported lazily: the CLI's start-up must stay fast) for
configuration (kubeconfig via KUBECONFIG / `--context`, or the pod's service account) and for the
HTTP calls themselves. Paths come from `reconciler.kinds`, so no discovery round-trips per run.

Rules this adapter keeps:
- Reads: one `list` call per kind per namespace, narrowed by an equality label selector.
- Writes: `replace` sends the resourceVersion it read (optimistic concurrency); HTTP 409 becomes
  `reconciler.errors.Conflict`, so the runner re-reads and re-plans that rollout.
- 429 and 5xx are retried with a bounded exponential backoff (Retry-After honoured, capped);
  every call has a connect and a read timeout; an unreachable endpoint fails within seconds.
- 401 / 403 / unreachable / missing kubeconfig become `ClusterError` (exit 2) with a hint that
  says which endpoint, or which verb on which resource is missing. No token is ever printed.
- Every (kind, verb, subresource) this module may send is declared in `API_CALLS`. The RBAC in
  deploy/ is tested against that table, and a call outside it fails loudly, so they cannot drift.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import time
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote, urlencode

from reconciler.cluster.kube_config import load_configuration
from reconciler.cluster.kube_grants import API_CALLS, CLUSTER_WIDE_LISTS, PLAIN_OBJECT_VERBS, PLAIN_PRUNE_VERBS
from reconciler.cluster.kube_http import (
    is_read_timeout,
    json_body,
    message_of,
    missing_api_hint,
    raise_unexpected,
    root_cause,
    strip_server_fields,
    utc_text,
    with_type,
    write_info,
)
from reconciler.cluster.kube_lease import LeaseCalls
from reconciler.errors import ClusterError, Conflict, Forbidden, Refused
from reconciler.kinds import KINDS, KindInfo, handling, kind_info, namespaced, object_key

log = logging.getLogger("reconciler")

FIELD_MANAGER = "reconciler"
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_MAX_ATTEMPTS = 4  # first try + 3 retries on 429 / 5xx / read timeouts of reads
DEFAULT_BACKOFF_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 5.0

# Kinds whose status is a subresource on a real API server: a PUT of the object ignores status.
STATUS_SUBRESOURCE_KINDS = frozenset(
    {"Namespace", "Service", "Pod", "ReplicaSet", "Deployment", "Job", "Ingress", "Rollout", "VirtualService", "DestinationRule"}
)

_HTTP_VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


class KubeCluster(LeaseCalls):
    """The Cluster protocol over the Kubernetes REST API, via the official client."""

    name = "kube"

    def __init__(
        self,
        context: str | None = None,
        *,
        kubeconfig: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        sleep=time.sleep,
        field_manager: str = FIELD_MANAGER,
        probe: bool = True,
    ):
        from kubernetes import client

        cfg = load_configuration(context, kubeconfig)
        cfg.retries = 0  # urllib3 must not retry on its own: the bounded policy below is the only one
        if hasattr(cfg, "client_go_retries"):
            cfg.client_go_retries = False
        self._api = client.ApiClient(cfg)
        self.host = cfg.host
        self.reads = 0
        self.writes = 0
        self.field_manager = field_manager
        self._request_timeout = (connect_timeout, read_timeout)
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff_seconds
        self._sleep = sleep
        if probe:
            self.probe()

    def close(self) -> None:
        self._api.close()

    # -- paths -------------------------------------------------------------------------------------

    @staticmethod
    def _path(info: KindInfo, namespace: str | None, name: str | None = None, sub: str | None = None) -> str:
        base = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
        if info.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{info.plural}"
        if name:
            base += f"/{quote(name, safe='')}"
        if sub:
            base += f"/{sub}"
        return base

    # -- the one HTTP path -------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        info: KindInfo,
        namespace: str | None,
        name: str | None = None,
        *,
        sub: str | None = None,
        query: Mapping[str, str] | None = None,
        body=None,
        content_type: str = "application/json",
        verb: str | None = None,
        plain: bool = False,
    ) -> tuple[int, dict]:
        """Send one API call with the bounded retry policy. Returns (status, body) for 2xx/404/409/422.
        `plain`: a call for an object applied from Git as it is (PLAIN_OBJECT_VERBS, in its namespace)."""
        verb = verb or ("list" if method == "GET" and not name else _HTTP_VERBS[method])
        key = (info.kind, sub) if sub else info.kind
        everywhere = info.namespaced and not namespace
        allowed = verb in API_CALLS.get(key, ()) or (plain and not sub and verb in PLAIN_OBJECT_VERBS + PLAIN_PRUNE_VERBS)
        if not allowed or (everywhere and info.kind not in CLUSTER_WIDE_LISTS):
            # deploy/rbac.yaml grants exactly API_CALLS: say so now rather than get a 403 later.
            resource = info.plural + (f"/{sub}" if sub else "")
            raise Forbidden(
                f"the reconciler does not {verb} {resource}{' across all namespaces' if everywhere else ''} "
                f"(not among the calls its RBAC in deploy/rbac.yaml grants)",
                hint=f"keep {info.kind} objects out of the reconciler's source and apply them another way, or add the call "
                "to API_CALLS in reconciler/cluster/kube.py together with deploy/rbac.yaml",
            )
        path = self._path(info, namespace, name, sub)
        status, payload = self._send(method, path, query=query, body=body, content_type=content_type)
        if status == 403:
            where = f" in namespace {namespace!r}" if info.namespaced and namespace else (" in all namespaces" if info.namespaced else "")
            group = info.group or '""'
            resource = info.plural + (f"/{sub}" if sub else "")
            raise Forbidden(
                f"missing permission: cannot {verb} {resource} (apiGroup {group}){where} (403 Forbidden)",
                hint=f"grant verb {verb!r} on {resource!r} in the reconciler's "
                + (f"Role and bind it in namespace {namespace!r} (a RoleBinding there)" if info.namespaced and namespace else "ClusterRole")
                + "; deploy/rbac.yaml lists every permission it needs",
            )
        return status, payload

    def _send(self, method: str, path: str, *, query=None, body=None, content_type: str = "application/json") -> tuple[int, dict]:
        """One HTTP call with the bounded retry policy; transport failures, 401 and exhausted retries -> ClusterError."""
        import urllib3

        url = self.host + path + (("?" + urlencode(query)) if query else "")
        headers = {"Accept": "application/json", "Content-Type": content_type, "User-Agent": f"reconciler/{FIELD_MANAGER}"}
        attempt = 0
        while True:
            attempt += 1
            headers_now = dict(headers)
            self._api.update_params_for_auth(headers_now, [], ["BearerToken"], path, method, body)
            try:
                response = self._api.rest_client.request(
                    method, url, headers=headers_now, body=body, _request_timeout=self._request_timeout
                )
                data = response.read()
            except (urllib3.exceptions.HTTPError, OSError) as err:
                if not is_read_timeout(err):
                    raise ClusterError(
                        f"cannot reach the Kubernetes API at {self.host} ({type(root_cause(err)).__name__})",
                        hint="check that the cluster is up and that the kubeconfig context (or --context) points at it",
                    ) from None
                # Reads are safe to repeat; a write may have landed, and the next run observes it.
                if method == "GET" and attempt < self._max_attempts:
                    self._pause(attempt, None)
                    continue
                raise ClusterError(
                    f"the Kubernetes API at {self.host} did not answer {method} {path} within {self._request_timeout[1]:g}s",
                    hint="the API server is overloaded or unreachable; the next run will observe whether the change applied",
                ) from None
            except Exception as err:  # kubernetes.client.ApiException for TLS failures
                if type(err).__name__ == "ApiException":
                    raise ClusterError(
                        f"cannot talk to the Kubernetes API at {self.host}: {getattr(err, 'reason', '') or err}",
                        hint="check the cluster's CA certificate and server address in the kubeconfig",
                    ) from None
                raise
            status = response.status
            payload = json_body(data)
            if status == 429 or status >= 500:
                if attempt < self._max_attempts:
                    self._pause(attempt, response.getheader("Retry-After"))
                    continue
                raise ClusterError(
                    f"the Kubernetes API at {self.host} answered {status} to {method} {path} after {attempt} attempts: "
                    f"{message_of(payload)}",
                    hint="the API server is overloaded or failing; the next run resumes where this one stopped",
                )
            if status == 401:
                raise ClusterError(
                    f"the Kubernetes API at {self.host} rejected the credentials (401 Unauthorized)",
                    hint="the token or certificate expired or was revoked: log in again, or refresh the Secret holding the token",
                )
            return status, payload

    def probe(self) -> dict:
        """GET /version: fail fast (before cloning anything) when the cluster is unreachable or the credentials bad."""
        status, payload = self._send("GET", "/version")
        if status >= 300:
            raise ClusterError(f"the Kubernetes API at {self.host} answered {status} to GET /version: {message_of(payload)}",
                               hint="check that the kubeconfig's server address is a Kubernetes API server")
        return payload

    def _pause(self, attempt: int, retry_after: str | None) -> None:
        delay = min(MAX_BACKOFF_SECONDS, self._backoff * (2 ** (attempt - 1)))
        if retry_after:
            try:
                delay = min(MAX_BACKOFF_SECONDS, max(delay, float(retry_after)))
            except ValueError:
                pass
        self._sleep(delay * (0.5 + random.random() / 2))

    # -- plain objects: their resource from discovery --------------------------------------------------

    def _plain_info(self, kind: str, api_version: str) -> KindInfo:
        """The REST coordinates of a kind applied from Git as it is: reconciler.kinds for the kinds it
        knows (in the object's version), else the API server's discovery of the object's group/version
        (one GET per group/version per run). A group/version the cluster does not serve (its CRD is not
        installed) or a kind it does not have is `Refused`, so the object is a finding, not a crash."""
        group, _, version = str(api_version or "").rpartition("/")
        known = KINDS.get(kind)
        if known is not None and (not version or group == known.group):
            return dataclasses.replace(known, version=version) if version and version != known.version else known
        if not version:
            raise Refused(f"{kind} has no apiVersion", hint="add apiVersion to the manifest")
        cache = self.__dict__.setdefault("_discovered", {})
        if (group, version) not in cache:
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            self.reads += 1
            status, payload = self._send("GET", path)
            cache[(group, version)] = payload.get("resources") or [] if status == 200 else None
        resources = cache[(group, version)]
        if resources is None:
            raise Refused(f"the Kubernetes API at {self.host} does not serve {api_version}",
                          hint=f"install the CustomResourceDefinition that defines {kind} ({api_version}) first, or check apiVersion")
        found = next((r for r in resources if r.get("kind") == kind and "/" not in str(r.get("name", ""))), None)
        if found is None:
            raise Refused(f"the Kubernetes API at {self.host} serves {api_version} but has no kind {kind!r} in it",
                          hint="check `kind:` and `apiVersion:` (kubectl api-resources lists what the cluster serves)")
        info = KindInfo(kind, group, version, str(found["name"]), namespaced=bool(found.get("namespaced", True)))
        if info.namespaced != namespaced(kind):
            # reconciler.kinds took it for namespaced (validation, the run's policy): never apply it cluster-wide unasked
            raise Refused(f"{kind} is cluster-scoped on this cluster; the reconciler does not apply cluster-scoped custom resources",
                          hint="apply it once with kubectl or your cluster bootstrap, and keep it out of the folder the reconciler reads (--path)")
        return info

    # -- Cluster protocol --------------------------------------------------------------------------

    def list(self, kind: str, namespace: str | None = None, selector: Mapping[str, str] | None = None, *, api_version: str = "") -> list[dict]:
        """`api_version`: a kind applied from Git as a plain object (its resource found by discovery)."""
        plain = bool(api_version) and handling(kind, api_version) != "managed"
        info = self._plain_info(kind, api_version) if plain else kind_info(kind)
        query = {"labelSelector": ",".join(f"{k}={v}" for k, v in sorted(selector.items()))} if selector else None
        self.reads += 1
        status, payload = self._request("GET", info, namespace if info.namespaced else None, query=query, plain=plain)
        if status == 404:
            raise Refused(
                f"the Kubernetes API at {self.host} does not serve {info.plural}.{info.group or 'core'}/{info.version}",
                hint=missing_api_hint(info),
            )
        raise_unexpected(status, payload, "list", info, namespace, "")
        items = payload.get("items") or []
        for item in items:
            # Lists of built-in kinds omit each item's kind and apiVersion.
            item.setdefault("apiVersion", info.api_version)
            item.setdefault("kind", info.kind)
        return items

    def get(self, kind: str, namespace: str | None, name: str) -> dict | None:
        info = kind_info(kind)
        self.reads += 1
        status, payload = self._request("GET", info, namespace, name)
        if status == 404:
            return None
        raise_unexpected(status, payload, "get", info, namespace, name)
        return with_type(payload, info)

    def create(self, obj: dict) -> dict:
        kind, namespace, name = object_key(obj)
        info = write_info(obj)
        body = strip_server_fields(obj)
        status_wanted = obj.get("status")
        self.writes += 1
        status, payload = self._request("POST", info, namespace, body=body, query={"fieldManager": self.field_manager})
        if status == 409:
            raise Conflict(kind, namespace, name, "it already exists")
        if status == 404:
            raise Refused(
                f"cannot create {kind} {namespace}/{name}: namespace {namespace!r} does not exist",
                hint=f"create it first: kubectl create namespace {namespace}",
            )
        raise_unexpected(status, payload, "create", info, namespace, name)
        stored = with_type(payload, info)
        return self._put_status_if_needed(info, stored, status_wanted)

    def replace(self, obj: dict) -> dict:
        kind, namespace, name = object_key(obj)
        info = write_info(obj)
        status_wanted = obj.get("status")
        self.writes += 1
        status, payload = self._request("PUT", info, namespace, name, body=obj, query={"fieldManager": self.field_manager})
        if status == 409:
            raise Conflict(kind, namespace, name, message_of(payload))
        if status == 404:  # deleted since it was read: the same "changed since read" as the local cluster
            raise Conflict(kind, namespace, name, "it no longer exists")
        raise_unexpected(status, payload, "update", info, namespace, name)
        stored = with_type(payload, info)
        return self._put_status_if_needed(info, stored, status_wanted)

    def apply(self, obj: dict) -> dict:
        """Server-side apply of an object written from Git, under the field manager `reconciler`.

        The body is the manifest as Git has it (no resourceVersion: Git, not a read, is the intent),
        so the fields it sets are the fields we own. `force` takes those fields back from whoever
        changed them by hand (the drift `run` reverts); fields only another manager set (a label a
        person added, a controller's defaults) are left alone, and a field dropped from Git is
        removed unless someone else also owns it. ReplicaSets and the state keep `replace` (CAS).
        A kind the engine does not manage (a Gateway, an HPA, ...) goes to the resource discovery
        names for it; an object the API server finds invalid (422, e.g. a Job's immutable template)
        is `Refused`: a finding at its place, the run goes on."""
        kind, namespace, name = object_key(obj)
        plain = handling(kind, str(obj.get("apiVersion") or "")) != "managed"
        info = self._plain_info(kind, str(obj.get("apiVersion") or "")) if plain else write_info(obj)
        meta = {k: v for k, v in (obj.get("metadata") or {}).items()
                if k not in ("resourceVersion", "uid", "creationTimestamp", "managedFields", "generation")}
        body = {k: v for k, v in obj.items() if k != "status"}
        body["metadata"] = meta
        self.writes += 1
        # JSON is YAML: the apply content type takes it as it is.
        status, payload = self._request("PATCH", info, namespace, name, body=json.dumps(body), content_type="application/apply-patch+yaml",
                                        query={"fieldManager": self.field_manager, "force": "true"}, verb="patch", plain=plain)
        if status == 422:
            raise Refused(f"the Kubernetes API refused {kind} {namespace + '/' if info.namespaced else ''}{name}: {message_of(payload)}",
                          hint="fix the manifest (`kubectl apply --dry-run=server -f FILE` shows the same error); a Job's template cannot "
                               "change: give the changed Job a new name")
        if status == 404:
            raise Refused(
                f"cannot apply {kind} {namespace}/{name}: namespace {namespace!r} does not exist",
                hint=f"create it first: kubectl create namespace {namespace}",
            )
        if status == 409:
            raise Conflict(kind, namespace, name, message_of(payload))
        raise_unexpected(status, payload, "patch", info, namespace, name)
        return with_type(payload, info)

    def _put_status_if_needed(self, info: KindInfo, stored: dict, status_wanted) -> dict:
        """A PUT ignores status where status is a subresource: send it there, only when it differs."""
        if status_wanted is None or info.kind not in STATUS_SUBRESOURCE_KINDS or stored.get("status") == status_wanted:
            return stored
        kind, namespace, name = object_key(stored)
        if (info.kind, "status") not in API_CALLS:
            # The engine writes status only for the objects it acts as controller of (Rollouts); for
            # others (ReplicaSets, Jobs, ...) the cluster's controllers own status and we leave it.
            return stored
        body = dict(stored, status=status_wanted)
        status, payload = self._request("PUT", info, namespace, name, sub="status", body=body,
                                        query={"fieldManager": self.field_manager})
        if status == 409:
            raise Conflict(kind, namespace, name, message_of(payload))
        if status == 404:
            raise Conflict(kind, namespace, name, "it no longer exists")
        raise_unexpected(status, payload, "update", info, namespace, name)
        return with_type(payload, info)

    def delete(self, kind: str, namespace: str | None, name: str, resource_version: str | None = None, *, api_version: str = "") -> None:
        """`api_version`: a kind applied from Git as a plain object, pruned by `--prune` (its resource from discovery)."""
        plain = bool(api_version) and handling(kind, api_version) != "managed"
        info = self._plain_info(kind, api_version) if plain else kind_info(kind)
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
        if resource_version:
            body["preconditions"] = {"resourceVersion": resource_version}
        self.writes += 1
        status, payload = self._request("DELETE", info, namespace, name, body=body, plain=plain)
        if status == 404:
            return
        if status == 409:
            raise Conflict(kind, namespace, name, message_of(payload))
        raise_unexpected(status, payload, "delete", info, namespace, name)

    def emit_event(self, involved: dict, reason: str, message: str, *, type: str = "Normal", now: datetime) -> None:
        kind, namespace, name = object_key(involved)
        meta = involved.get("metadata") or {}
        event_ns = namespace or "default"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{name}.", "namespace": event_ns},
            "involvedObject": {
                "apiVersion": involved.get("apiVersion", ""),
                "kind": kind,
                "name": name,
                **({"namespace": namespace} if namespace else {}),
                **({"uid": meta["uid"]} if meta.get("uid") else {}),
                **({"resourceVersion": meta["resourceVersion"]} if meta.get("resourceVersion") else {}),
            },
            "reason": reason,
            "message": message,
            "type": type,
            "count": 1,
            "firstTimestamp": utc_text(now),
            "lastTimestamp": utc_text(now),
            "source": {"component": FIELD_MANAGER},
            "reportingComponent": FIELD_MANAGER,
            "reportingInstance": os.environ.get("HOSTNAME", FIELD_MANAGER),
        }
        info = kind_info("Event")
        self.writes += 1
        try:
            status, payload = self._request("POST", info, event_ns, body=event)
        except ClusterError as err:
            # Events are informational: a lost event must not fail the run that already acted.
            log.warning("could not record event %s on %s/%s: %s", reason, event_ns, name, err.message)
            return
        if status >= 300:
            log.warning("could not record event %s on %s/%s: %s", reason, event_ns, name, message_of(payload))
