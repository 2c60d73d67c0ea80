"""The Kubernetes API's answers and the texts it takes, for the kube backend (reconciler/cluster/kube.py
and its Lease calls, kube_lease.py): timestamps, bodies, messages, and the error a refused write becomes."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

from reconciler.errors import ClusterError
from reconciler.kinds import KindInfo, kind_info


def utc_text(now: datetime) -> str:
    return now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_text(now: datetime) -> str:
    return now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None



def write_info(obj: dict) -> KindInfo:
    """The kind's REST coordinates in the version the object is written in: an API server refuses
    a body whose apiVersion differs from the URL's (e.g. an Istio VirtualService in v1alpha3)."""
    info = kind_info(obj.get("kind", ""))
    group, _, version = str(obj.get("apiVersion") or "").rpartition("/")
    if version and group == info.group and version != info.version:
        return dataclasses.replace(info, version=version)
    return info


def missing_api_hint(info: KindInfo) -> str:
    if info.group == "argoproj.io":
        return "install the Argo Rollouts CRDs (kubectl apply -k https://github.com/argoproj/argo-rollouts/manifests/crds)"
    if info.group == "networking.istio.io":
        return "install Istio's CRDs, or remove the istio traffic routing from the Rollout"
    return "check the cluster version and the kubeconfig context"


def root_cause(err: BaseException) -> BaseException:
    """urllib3 wraps the real failure (refused, timed out) in MaxRetryError.reason."""
    reason = getattr(err, "reason", None)
    return reason if isinstance(reason, BaseException) else err


def is_read_timeout(err: BaseException) -> bool:
    import urllib3

    return isinstance(root_cause(err), urllib3.exceptions.ReadTimeoutError) or isinstance(err, urllib3.exceptions.ReadTimeoutError)


def json_body(data: bytes | None) -> dict:
    if not data:
        return {}
    try:
        value = json.loads(data)
    except ValueError:
        return {"message": data[:200].decode("utf-8", "replace")}
    return value if isinstance(value, dict) else {"value": value}


def message_of(payload: dict) -> str:
    return str(payload.get("message") or payload.get("reason") or "").strip()


def with_type(obj: dict, info: KindInfo) -> dict:
    obj.setdefault("apiVersion", info.api_version)
    obj.setdefault("kind", info.kind)
    return obj


def strip_server_fields(obj: dict) -> dict:
    """A create carries no resourceVersion/uid (the API server rejects them)."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in ("resourceVersion", "uid", "creationTimestamp", "managedFields")}
    return dict(obj, metadata=meta)


def raise_unexpected(status: int, payload: dict, verb: str, info: KindInfo, namespace: str | None, name: str) -> None:
    if 200 <= status < 300:
        return
    where = f"{namespace}/{name}" if namespace else name
    raise ClusterError(
        f"the Kubernetes API refused to {verb} {info.kind} {where} ({status}): {message_of(payload)}",
        hint="the object the reconciler built was rejected; run `reconciler validate` and report this if it persists",
    )
