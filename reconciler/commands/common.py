"""Options shared by several commands. Each is also read from a RECONCILER_* environment variable."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Optional

import typer

SourceArg = Annotated[str, typer.Argument(help="A local directory or a Git URL (https, ssh, file://, git://).", envvar="RECONCILER_SOURCE")]
RefOpt = Annotated[Optional[str], typer.Option("--ref", envvar="RECONCILER_REF", help="Branch, tag or commit of a Git SOURCE.")]
PathOpt = Annotated[Optional[str], typer.Option("--path", envvar="RECONCILER_PATH", help="Subfolder of SOURCE holding the manifests.")]
ClusterOpt = Annotated[
    str,
    typer.Option(
        "--cluster",
        envvar="RECONCILER_CLUSTER",
        help="local[:DIR] (the embedded cluster, DIR defaults to .reconciler/cluster) or kube (kubeconfig / in-cluster).",
    ),
]
ContextOpt = Annotated[Optional[str], typer.Option("--context", envvar="RECONCILER_CONTEXT", help="kubeconfig context for --cluster kube.")]
NowOpt = Annotated[
    Optional[str],
    typer.Option("--now", envvar="RECONCILER_NOW", help="The time this run believes it is (RFC 3339, e.g. 2026-01-01T00:00:00Z)."),
]
NamespaceOpt = Annotated[str, typer.Option("--namespace", "-n", envvar="RECONCILER_NAMESPACE", help="Namespace of the rollout.")]
StatusOpt = Annotated[
    str,
    typer.Option("--status", envvar="RECONCILER_STATUS", help="Where progress is kept between runs: annotations or commit."),
]
OutputOpt = Annotated[str, typer.Option("--output", "-o", help="Output format.")]
LeaseNamespaceOpt = Annotated[
    Optional[str],
    typer.Option(
        "--lease-namespace",
        envvar="RECONCILER_LEASE_NAMESPACE",
        help="Namespace of the Lease a run holds while acting (default: the pod's own namespace in-cluster, else default).",
    ),
]
LogFormatOpt = Annotated[
    Optional[str], typer.Option("--log-format", envvar="RECONCILER_LOG_FORMAT", help="text or json (default: text on a terminal, json otherwise).")
]

DEFAULT_CLUSTER = "local"


def parse_now(value: str | None) -> datetime:
    """--now as an aware UTC datetime; without it, the real clock (read here, in the shell, never in the core)."""
    if not value:
        return datetime.now(timezone.utc)
    from reconciler.errors import UsageError

    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--now {value!r} is not a time", hint="write it as RFC 3339, e.g. 2026-01-01T00:00:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
