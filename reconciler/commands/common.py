"""Options shared by several commands. Each is also read from a RECONCILER_* environment variable."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Annotated

import typer

SourceArg = Annotated[str, typer.Argument(help="A local directory or a Git URL (https, ssh, file://, git://).", envvar="RECONCILER_SOURCE")]
RefOpt = Annotated[str | None, typer.Option("--ref", envvar="RECONCILER_REF", help="Branch, tag or commit of a Git SOURCE.")]
PathOpt = Annotated[str | None, typer.Option("--path", envvar="RECONCILER_PATH", help="Subfolder of SOURCE holding the manifests.")]
ClusterOpt = Annotated[
    str,
    typer.Option(
        "--cluster",
        envvar="RECONCILER_CLUSTER",
        help="local[:DIR] (the embedded cluster, DIR defaults to .reconciler/cluster) or kube (kubeconfig / in-cluster).",
    ),
]
ContextOpt = Annotated[str | None, typer.Option("--context", envvar="RECONCILER_CONTEXT", help="kubeconfig context for --cluster kube.")]
NowOpt = Annotated[
    str | None,
    typer.Option("--now", envvar="RECONCILER_NOW", help="The time this run believes it is (RFC 3339, e.g. 2026-01-01T00:00:00Z)."),
]
PeriodOpt = Annotated[
    str | None,
    typer.Option(
        "--period",
        envvar="RECONCILER_PERIOD",
        help="How often the reconciler runs (e.g. 5m, the CronJob schedule): warns where an analysis wants measurements "
        "closer together than that, or cannot finish within progressDeadlineSeconds at that pace.",
    ),
]
NamespaceOpt = Annotated[str, typer.Option("--namespace", "-n", envvar="RECONCILER_NAMESPACE", help="Namespace of the rollout.")]
StatusOpt = Annotated[
    str,
    typer.Option("--status", envvar="RECONCILER_STATUS", help="Where progress is kept between runs: annotations or commit."),
]


StrictOpt = Annotated[
    bool,
    typer.Option("--strict", envvar="RECONCILER_STRICT",
                 help="A field or traffic router the reconciler does not act on is an error, not a warning (`reconciler fields` lists them)."),
]


def choices(name: str, *values: str) -> type[Enum]:
    """A checked choice for typer: a wrong value is a usage error (exit 2) that lists the choices.
    The members are str, so `output == "json"` keeps working."""
    return Enum(name, {value: value for value in values}, type=str)  # type: ignore[return-value]


def output_option(formats: type[Enum], what: str = "Output format"):
    """`-o/--output` with exactly the formats this command can print."""
    names = "|".join(member.value for member in formats)
    return Annotated[formats, typer.Option("--output", "-o", case_sensitive=False, help=f"{what}: {names}.")]


ViewFormat = choices("ViewFormat", "text", "json", "yaml")
PlanFormat = choices("PlanFormat", "text", "json", "yaml", "markdown")
OutputOpt = output_option(ViewFormat)
PlanOutputOpt = output_option(PlanFormat)


def dump(data, output) -> str:
    """`data` as JSON or YAML text (for -o json / -o yaml), ending with a newline."""
    if output == "yaml":
        import yaml

        return yaml.safe_dump(_plain(data), sort_keys=False, default_flow_style=False, allow_unicode=True)
    import json

    return json.dumps(data, indent=2, default=str) + "\n"


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
LeaseNamespaceOpt = Annotated[
    str | None,
    typer.Option(
        "--lease-namespace",
        envvar="RECONCILER_LEASE_NAMESPACE",
        help="Namespace of the Lease a run holds while acting (default: the pod's own namespace in-cluster, else default).",
    ),
]
PushAttemptsOpt = Annotated[
    int | None,
    typer.Option(
        "--push-attempts",
        envvar="RECONCILER_PUSH_ATTEMPTS",
        help="With --status commit: how many times a run records its state when pushes keep being rejected (re-planning "
        "after each, with exponential backoff and jitter) before it gives up until the next run (default 8).",
    ),
]
TimeoutOpt = Annotated[
    str | None,
    typer.Option(
        "--timeout",
        envvar="RECONCILER_TIMEOUT",
        help="Longest time the whole run may take (e.g. 5m, or seconds). Checked between writes, never inside one: "
        "past it the run stops, says what it did, and exits 2; the next run goes on from what was recorded.",
    ),
]
LogFormatOpt = Annotated[
    str | None, typer.Option("--log-format", envvar="RECONCILER_LOG_FORMAT", help="text or json (default: text on a terminal, json otherwise).")
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


def parse_period(value: str | None) -> float | None:
    """--period as seconds (bare seconds or a Go duration such as 5m, 1h30m); None when not given."""
    if value is None or not str(value).strip():
        return None
    from reconciler.durations import parse_duration
    from reconciler.errors import UsageError

    seconds = parse_duration(str(value))
    if seconds is None or seconds <= 0:
        raise UsageError(f"--period {value!r} is not a positive duration",
                         hint="write how often the reconciler runs, e.g. --period 5m for a CronJob every 5 minutes (or 300)")
    return seconds


def parse_timeout(value: str | None):
    """--timeout as a reconciler.deadline.Deadline started now (no limit when not given)."""
    from reconciler.deadline import Deadline

    if value is None or not str(value).strip():
        return Deadline(None)
    from reconciler.durations import parse_duration
    from reconciler.errors import UsageError

    seconds = parse_duration(str(value).strip())
    if seconds is None or seconds < 0:
        raise UsageError(f"--timeout {value!r} is not a duration", hint="write how long a run may take, e.g. --timeout 5m (or 300)")
    return Deadline(seconds)


AllowSecretsOpt = Annotated[
    bool, typer.Option("--allow-secrets", envvar="RECONCILER_ALLOW_SECRETS",
                       help="Apply the Secrets in SOURCE too (each still gets a warning: its values are in Git). Never printed.")
]
ApplyClusterScopedOpt = Annotated[
    bool, typer.Option("--apply-cluster-scoped", envvar="RECONCILER_APPLY_CLUSTER_SCOPED",
                       help="Apply cluster-scoped objects in SOURCE (CRDs, ClusterRoles, Namespaces, ...); by default they are "
                            "skipped with a warning, as the least-privilege ServiceAccount cannot create them.")
]


PruneOpt = Annotated[
    bool, typer.Option("--prune", envvar="RECONCILER_PRUNE",
                       help="Delete the objects this SOURCE applied earlier and no longer holds (plan: list them). Never an object "
                            "it did not apply, a Rollout or its ReplicaSets, or one a Rollout of SOURCE still names; nothing when "
                            "SOURCE has errors or is empty. Not with --shard.")
]


CacheDirOpt = Annotated[
    str | None,
    typer.Option("--cache-dir", envvar="RECONCILER_CACHE_DIR",
                 help="Where what each SOURCE file parses to and its objects' own findings are kept, by content, so an unchanged "
                      "file is not parsed or checked again (default: $XDG_CACHE_HOME/reconciler, i.e. ~/.cache/reconciler; "
                      "'' turns it off)."),
]
NoCacheOpt = Annotated[
    bool, typer.Option("--no-cache", envvar="RECONCILER_NO_CACHE", help="Parse and check every SOURCE file, with no cache (as --cache-dir '').")
]


def cache_dir(option: str | None, no_cache: bool = False):
    """--cache-dir / --no-cache as the folder of the source cache, or None for no cache."""
    from reconciler.manifests.source_cache import resolve_dir

    return resolve_dir(option, no_cache)


def source_policy(allow_secrets: bool = False, apply_cluster_scoped: bool = False):
    from reconciler.kinds import SourcePolicy

    return SourcePolicy(allow_secrets=bool(allow_secrets), apply_cluster_scoped=bool(apply_cluster_scoped))
