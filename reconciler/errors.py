"""Errors the user must act on. Each says what went wrong and what to do next; none carries a secret."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1  # invalid manifests, or a rollout Degraded/aborted this run
EXIT_INFRA = 2  # usage or infrastructure error (cannot clone, cannot reach the cluster)


class ReconcilerError(Exception):
    """Base for errors shown to the user as `error: <message>` + `hint: <next step>`, exit 2."""

    exit_code = EXIT_INFRA

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(ReconcilerError):
    pass


class SourceError(ReconcilerError):
    """Cannot clone or read the source: not found, auth failed, ref not found, unreachable."""


class ClusterError(ReconcilerError):
    """Cannot reach the cluster, credentials expired, missing RBAC permission."""


class Refused(ClusterError):
    """The cluster will not take this one call while it answers others: a kind it does not serve
    (a CRD not installed), a namespace that does not exist, or (Forbidden) RBAC. A run turns it into
    a finding on the objects it concerns and goes on with the others."""


class Forbidden(Refused):
    """The cluster (RBAC, 403) or the backend's declared calls do not allow this call."""


class Conflict(Exception):
    """An optimistic-concurrency write lost: the object changed since it was read (HTTP 409)."""

    def __init__(self, kind: str, namespace: str | None, name: str, detail: str = ""):
        super().__init__(f"{kind} {namespace or ''}/{name} changed since it was read{': ' + detail if detail else ''}")
        self.kind, self.namespace, self.name = kind, namespace, name


class NotFound(Exception):
    def __init__(self, kind: str, namespace: str | None, name: str):
        super().__init__(f"{kind} {namespace or ''}/{name} not found")
        self.kind, self.namespace, self.name = kind, namespace, name
