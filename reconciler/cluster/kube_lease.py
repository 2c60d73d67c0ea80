"""The run's Lease on the Kubernetes API (`--cluster kube`): taken before a run reads anything,
renewed while it acts, given back when it ends. Mixed into KubeCluster (reconciler/cluster/kube.py),
whose `_request` sends the calls."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from reconciler.cluster.base import HeldLease
from reconciler.cluster.kube_http import micro_text, parse_time, raise_unexpected, utc_text, with_type
from reconciler.errors import ClusterError
from reconciler.kinds import KindInfo, kind_info

log = logging.getLogger("reconciler")


class LeaseCalls:
    """KubeCluster's Lease methods."""

    reads: int
    writes: int
    _request: Callable[..., tuple[int, dict]]

    @contextmanager
    def lease(self, name: str, namespace: str, holder: str, *, duration_seconds: int, now: datetime) -> Iterator[HeldLease]:
        """Hold Lease NAMESPACE/NAME while acting. A live holder -> ClusterError; an expired one is taken over."""
        info = kind_info("Lease")
        self.reads += 1
        status, current = self._request("GET", info, namespace, name)
        if status not in (200, 404):
            raise_unexpected(status, current, "get", info, namespace, name)
        spec = {
            "holderIdentity": holder,
            "leaseDurationSeconds": int(duration_seconds),
            "acquireTime": micro_text(now),
            "renewTime": micro_text(now),
        }
        if status == 404:
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": name, "namespace": namespace}, "spec": spec}
            self.writes += 1
            status, stored = self._request("POST", info, namespace, body=body)
            if status == 409:
                raise _lease_held(name, namespace, None)
        else:
            held = current.get("spec") or {}
            other = held.get("holderIdentity")
            renewed = parse_time(held.get("renewTime")) or parse_time(held.get("acquireTime"))
            duration = held.get("leaseDurationSeconds") or 0
            if other and other != holder and renewed is not None and (now - renewed).total_seconds() < duration:
                raise _lease_held(name, namespace, other, renewed, duration)
            if other and other != holder:
                log.info("taking over expired lease %s/%s from %s", namespace, name, other)
                spec["leaseTransitions"] = int(held.get("leaseTransitions") or 0) + 1
            else:
                spec["leaseTransitions"] = int(held.get("leaseTransitions") or 0)
            body = dict(current, spec=spec)
            self.writes += 1
            status, stored = self._request("PUT", info, namespace, name, body=body)
            if status == 409:
                raise _lease_held(name, namespace, None)
        if status == 404:
            raise ClusterError(f"cannot create Lease {namespace}/{name}: namespace {namespace!r} does not exist",
                               hint=f"create it first (kubectl create namespace {namespace}), or pick the Lease's namespace with --lease-namespace")
        raise_unexpected(status, stored, "update", info, namespace, name)
        lease = HeldLease(name, namespace, holder, int(duration_seconds), now, with_type(stored, info))
        try:
            yield lease
        finally:
            self._release(info, lease)

    def renew_lease(self, lease: HeldLease, *, now: datetime) -> None:
        """renewTime = now, with the resourceVersion last written: a 409 means someone took the lease over."""
        info = kind_info("Lease")
        body = dict(lease.obj, spec=dict(lease.obj.get("spec") or {}, renewTime=micro_text(now)))
        self.writes += 1
        status, stored = self._request("PUT", info, lease.namespace, lease.name, body=body)
        if status in (404, 409):
            self.reads += 1
            _, current = self._request("GET", info, lease.namespace, lease.name)
            raise _lease_lost(lease, ((current or {}).get("spec") or {}).get("holderIdentity"))
        raise_unexpected(status, stored, "update", info, lease.namespace, lease.name)
        lease.obj, lease.renewed_at = with_type(stored, info), now

    def _release(self, info: KindInfo, lease: HeldLease) -> None:
        """Give the lease back (as client-go does: empty holder), so the next run need not wait it out."""
        stored = lease.obj
        spec = dict(stored.get("spec") or {})
        if spec.get("holderIdentity") != lease.holder:
            return
        spec.pop("holderIdentity", None)
        spec["leaseDurationSeconds"] = 1
        body = dict(stored, spec=spec)
        self.writes += 1
        try:
            status, payload = self._request("PUT", info, lease.namespace, lease.name, body=body)
        except ClusterError as err:
            log.warning("could not release lease %s/%s: %s; it expires on its own", lease.namespace, lease.name, err.message)
            return
        if status >= 300:
            log.warning("could not release lease %s/%s (%s); it expires on its own", lease.namespace, lease.name, status)


def _lease_held(name: str, namespace: str, other: str | None, renewed: datetime | None = None, duration: int = 0) -> ClusterError:
    who = f" ({other}, renewed {utc_text(renewed)}, valid {duration}s)" if other and renewed else ""
    return ClusterError(
        f"another run holds the lease {namespace}/{name}{who}",
        hint="a reconciler run is already acting (a CronJob tick or a manual run); try again when it ends or the lease expires",
    )


def _lease_lost(lease: HeldLease, other: str | None) -> ClusterError:
    return ClusterError(
        f"lost the lease {lease.namespace}/{lease.name}{(' to ' + other) if other and other != lease.holder else ''}: "
        f"it was not renewed within {lease.duration_seconds}s and another run took it over; stopped before acting further",
        hint="a single step took longer than the lease's duration (a slow API server?); the next run re-reads "
        "everything and continues where this one stopped",
    )
