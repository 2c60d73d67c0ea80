"""`plan`, `run`, `promote`, `abort`, `retry`: the step engine's commands."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from reconciler.commands.common import (
    DEFAULT_CLUSTER,
    ClusterOpt,
    ContextOpt,
    LeaseNamespaceOpt,
    LogFormatOpt,
    NamespaceOpt,
    NowOpt,
    OutputOpt,
    PathOpt,
    PeriodOpt,
    RefOpt,
    SourceArg,
    StatusOpt,
    parse_now,
    parse_period,
)

ShardOpt = Annotated[
    Optional[str],
    typer.Option("--shard", envvar="RECONCILER_SHARD",
                 help="I/N: only the Rollouts of shard I of N (0 <= I < N), each object applied by one shard; "
                      "one Lease per shard. In an Indexed Job: --shard $(JOB_COMPLETION_INDEX)/N."),
]
SourceOpt = Annotated[
    Optional[str], typer.Option("--source", envvar="RECONCILER_SOURCE", help="With --status commit: the repository holding the status files.")
]


def open_store(status: str, cluster, checkout=None, namespaces=None):
    """The StatusStore for --status. `namespaces`: where `load()` looks when not told (None: all)."""
    from reconciler.errors import UsageError

    if status == "annotations":
        from reconciler.status.annotations import AnnotationsStatusStore

        return AnnotationsStatusStore(cluster, namespaces=namespaces)
    if status == "commit":
        if checkout is None:
            raise UsageError("--status commit needs the repository", hint="pass --source (a Git URL or a checkout) or use --status annotations")
        from reconciler.status.commit import CommitStatusStore

        return CommitStatusStore.from_checkout(checkout)
    raise UsageError(f"unknown --status {status!r}", hint="use annotations or commit")


def _run(source, ref, path, cluster, context, now, status, output, log_format, dry_run: bool, lease_ns: str | None = None, shard=None,
         period=None) -> int:
    import json

    from reconciler.cluster import open_cluster
    from reconciler.cluster.lease import lease_namespace
    from reconciler.logs import configure_logging
    from reconciler.runner import run_once
    from reconciler.shard import parse_shard
    from reconciler.source import open_source

    configure_logging(log_format)
    shard_range = parse_shard(shard)  # a bad --shard stops before anything is cloned or read
    moment = parse_now(now)
    lease_ns = lease_namespace(lease_ns)
    period_seconds = parse_period(period)
    live = open_cluster(cluster, now=moment, context=context)
    with open_source(source, ref=ref, path=path) as checkout:
        store = open_store(status, live, checkout)
        report = run_once(checkout.root, live, store, moment, dry_run=dry_run, source_label=source, lease_namespace=lease_ns,
                          period_seconds=period_seconds, shard=shard_range)
    if output == "json":
        typer.echo(json.dumps(report.to_dict(), indent=2, default=str))
    elif dry_run:
        typer.echo(_plan_text(report, markdown=output == "markdown", source_label=source), nl=False)
    else:
        typer.echo(_run_text(report), nl=False)
    return report.exit_code


def _plan_text(report, *, markdown: bool, source_label: str) -> str:
    """One renderer for both forms, so text shows what markdown shows: findings not tied to a
    rollout, plain manifests that would change with their diffs, then each rollout."""
    from reconciler.render.plan import render_report

    return render_report(report, "markdown" if markdown else "text", source_label=source_label)


def _run_text(report) -> str:
    lines = []
    for finding in report.findings:
        lines.append(_finding_line(finding))
    for result in report.results:
        view = result.view or {}
        where = f"{view.get('status', '?')}"
        if view.get("message"):
            where += f" ({view['message']})"
        if view.get("strategy") == "Canary" and view.get("totalSteps") is not None:
            where += f", step {view.get('step')}/{view.get('totalSteps')}, weight {view.get('setWeight')}"
        done = len(result.plan.actions) if result.plan else 0
        line = f"{result.namespace}/{result.name}: {where}; {done} change(s)"
        if result.error:
            line += f"; error: {result.error}"
        for finding in result.findings:
            lines.append(_finding_line(finding))
        lines.append(line)
    return "\n".join(lines) + ("\n" if lines else "")


def _finding_line(finding) -> str:
    return f"{finding.location()}: {finding.severity.value}: {finding.path}: {finding.message}" + (f" (hint: {finding.hint})" if finding.hint else "")


def _gate(name: str, namespace: str, cluster: str, context, status: str, source, gate: str, full: bool = False) -> None:
    from reconciler.cluster import open_cluster
    from reconciler.engine.state import RolloutState
    from reconciler.errors import ReconcilerError

    live = open_cluster(cluster, context=context)
    checkout_cm = None
    checkout = None
    if status == "commit" and source:
        from reconciler.source import open_source

        checkout_cm = open_source(source)
        checkout = checkout_cm.__enter__()
    try:
        store = open_store(status, live, checkout, namespaces=[namespace])
        from reconciler.errors import Conflict

        for attempt in range(5):  # someone wrote first (a pushed commit, a newer resourceVersion): re-read, re-apply
            states = store.load(namespaces=[namespace])
            key = (namespace, name)
            if key not in states:
                raise ReconcilerError(f"rollout {name!r} not found in namespace {namespace!r}", hint="run `reconciler run SOURCE` first, or check --namespace / --cluster / --status")
            state = RolloutState.from_dict(states[key])
            if gate == "promote":
                if state.current_hash == state.stable_hash and not state.aborted:
                    raise ReconcilerError(f"rollout {name!r} is not being updated; there is nothing to promote")
                state.promote = {"revision": state.revision, "step": None if full else state.step_index, "full": full, "source": "cli"}
            elif gate == "abort":
                state.abort = {"revision": state.revision, "source": "cli"}
            elif gate == "retry":
                if not state.aborted:
                    raise ReconcilerError(f"rollout {name!r} is not aborted; there is nothing to retry")
                state.retry = {"revision": state.revision, "source": "cli"}
            try:
                store.save({key: state.to_dict()}, message=f"{gate} {namespace}/{name}")
                break
            except Conflict:
                if attempt == 4:
                    raise ReconcilerError(f"could not record {gate} for {namespace}/{name}: it kept changing", hint="try again in a moment") from None
    finally:
        if checkout_cm is not None:
            checkout_cm.__exit__(None, None, None)
    verb = {"promote": "fully promoted" if full else "promoted", "abort": "aborted", "retry": "retried"}[gate]
    typer.echo(f"rollout '{name}' {verb} (takes effect at the next `reconciler run`)")


def register(app: typer.Typer, get_app: typer.Typer, list_app: typer.Typer) -> None:
    @app.command("plan")
    def plan_command(
        source: SourceArg,
        ref: RefOpt = None,
        path: PathOpt = None,
        cluster: ClusterOpt = DEFAULT_CLUSTER,
        context: ContextOpt = None,
        now: NowOpt = None,
        status: StatusOpt = "annotations",
        output: OutputOpt = "text",
        log_format: LogFormatOpt = None,
        period: PeriodOpt = None,
        shard: ShardOpt = None,
    ) -> None:
        """Dry run: per rollout where it is and what the next run would do, with the object diffs."""
        raise typer.Exit(_run(source, ref, path, cluster, context, now, status, output, log_format, dry_run=True, period=period,
                              shard=shard))

    @app.command("run")
    def run_command(
        source: SourceArg,
        ref: RefOpt = None,
        path: PathOpt = None,
        cluster: ClusterOpt = DEFAULT_CLUSTER,
        context: ContextOpt = None,
        now: NowOpt = None,
        status: StatusOpt = "annotations",
        output: OutputOpt = "text",
        log_format: LogFormatOpt = None,
        lease_ns: LeaseNamespaceOpt = None,
        period: PeriodOpt = None,
        shard: ShardOpt = None,
    ) -> None:
        """One pass: apply plain manifests, then move every Rollout at most one step, and record it."""
        raise typer.Exit(_run(source, ref, path, cluster, context, now, status, output, log_format, dry_run=False, lease_ns=lease_ns,
                              period=period, shard=shard))

    @app.command("promote")
    def promote_command(
        name: Annotated[str, typer.Argument(help="The Rollout.")],
        full: Annotated[bool, typer.Option("--full", help="Skip the remaining steps.")] = False,
        namespace: NamespaceOpt = "default",
        cluster: ClusterOpt = DEFAULT_CLUSTER,
        context: ContextOpt = None,
        status: StatusOpt = "annotations",
        source: SourceOpt = None,
    ) -> None:
        """Move past the current pause (or, with --full, skip every remaining step)."""
        _gate(name, namespace, cluster, context, status, source, "promote", full)

    @app.command("abort")
    def abort_command(
        name: Annotated[str, typer.Argument(help="The Rollout.")],
        namespace: NamespaceOpt = "default",
        cluster: ClusterOpt = DEFAULT_CLUSTER,
        context: ContextOpt = None,
        status: StatusOpt = "annotations",
        source: SourceOpt = None,
    ) -> None:
        """Go back to stable: traffic and selectors to stable, the new revision scaled down (Degraded)."""
        _gate(name, namespace, cluster, context, status, source, "abort")

    @app.command("retry")
    def retry_command(
        name: Annotated[str, typer.Argument(help="The Rollout.")],
        namespace: NamespaceOpt = "default",
        cluster: ClusterOpt = DEFAULT_CLUSTER,
        context: ContextOpt = None,
        status: StatusOpt = "annotations",
        source: SourceOpt = None,
    ) -> None:
        """Start an aborted update again from step 0."""
        _gate(name, namespace, cluster, context, status, source, "retry")
