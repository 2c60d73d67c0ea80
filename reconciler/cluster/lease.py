"""The run's Lease: where it lives and when to renew it. The writes go through the Cluster
interface (`lease`, `renew_lease`), so both backends behave the same.

- Namespace: `--lease-namespace` / RECONCILER_LEASE_NAMESPACE; else, inside a pod, the pod's own
  namespace (the service account's namespace file, where the CronJob's Role for Leases is bound);
  else `default`.
- Renewal: a run holds the lease for LEASE_SECONDS from its last renewTime. Between rollouts (and
  between plain-manifest writes and state saves) the run renews it once more than half of that has
  passed, so a long run keeps it; a lease lost meanwhile stops the run before it acts again.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from reconciler.cluster.base import HeldLease
from reconciler.errors import UsageError

log = logging.getLogger("reconciler")

LEASE_NAME = "reconciler"
LEASE_SECONDS = 300
DEFAULT_NAMESPACE = "default"
# Mounted into every pod with a service account token (the default); holds the pod's namespace.
SERVICE_ACCOUNT_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def lease_namespace(option: str | None = None, *, namespace_file: Path | None = None) -> str:
    """The namespace of the run's Lease: the option (or its env var), else the pod's, else `default`."""
    if option:
        if not _DNS_LABEL.match(option):
            raise UsageError(f"--lease-namespace {option!r} is not a namespace name", hint="use lower-case letters, digits and '-', e.g. rollouts")
        return option
    try:
        text = (namespace_file or SERVICE_ACCOUNT_NAMESPACE_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return DEFAULT_NAMESPACE  # not in a pod (or no service account token mounted)
    return text if _DNS_LABEL.match(text) else DEFAULT_NAMESPACE


def run_clock(now: datetime) -> Callable[[], datetime]:
    """The run's time as it passes: `now` plus the time elapsed since the run started. With --now
    the lease's renewTimes stay consistent with the time the run believes it is."""
    started = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - started)


class LeaseKeeper:
    """Renews a held lease once more than half its duration has passed since its last renewal."""

    def __init__(self, cluster, held: HeldLease | None, clock: Callable[[], datetime]):
        self.cluster, self.held, self.clock = cluster, held, clock
        self.renewals = 0

    def keep(self) -> None:
        if self.held is None:  # plan: no lease
            return
        moment = self.clock()
        if (moment - self.held.renewed_at).total_seconds() * 2 <= self.held.duration_seconds:
            return
        self.cluster.renew_lease(self.held, now=moment)
        self.renewals += 1
        log.debug("renewed lease %s/%s", self.held.namespace, self.held.name, extra={"action": "renew-lease", "reason": "half-expired"})
