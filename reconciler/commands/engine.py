"""`plan`, `run`, `promote`, `abort`, `retry`: the step engine's commands."""

from __future__ import annotations

from typing import Annotated

import typer

from reconciler.commands.common import (
    DEFAULT_CLUSTER,
    AllowSecretsOpt,
    ApplyClusterScopedOpt,
    CacheDirOpt,
    ClusterOpt,
    ContextOpt,
    LeaseNamespaceOpt,
    LogFormatOpt,
    NamespaceOpt,
    NoCacheOpt,
    NowOpt,
    OutputOpt,
    PathOpt,
    PeriodOpt,
    PlanFormat,
    PlanOutputOpt,
    PruneOpt,
    PushAttemptsOpt,
    RefOpt,
    SourceArg,
    StatusOpt,
    StrictOpt,
    TimeoutOpt,
    ViewFormat,
    cache_dir,
    dump,
    parse_now,
    parse_period,
    parse_timeout,
    source_policy,
)
from reconciler.errors import EXIT_FINDINGS

RequireRolloutsOpt = Annotated[
    bool, typer.Option("--require-rollouts", help="Exit 1 when SOURCE holds no Rollout (a wrong --path would otherwise pass quietly).")
]

ShardOpt = Annotated[
    str | None,
    typer.Option("--shard", envvar="RECONCILER_SHARD",
                 help="I/N: only the Rollouts of shard I of N (0 <= I < N), each object applied by one shard; "
                      "one Lease per shard. In an Indexed Job: --shard $(JOB_COMPLETION_INDEX)/N."),
]
SourceOpt = Annotated[
    str | None, typer.Option("--source", envvar="RECONCILER_SOURCE", help="With --status commit: the repository holding the status files.")
]


def open_store(status: str, cluster, checkout=None, namespaces=None, push_attempts: int | None = None):
    """The StatusStore for --status. `namespaces`: where `load()` looks when not told (None: all)."""
    from reconciler.errors import UsageError

    if status == "annotations":
        from reconciler.status.annotations import AnnotationsStatusStore

        return AnnotationsStatusStore(cluster, namespaces=namespaces)
    if status == "commit":
        if checkout is None:
            raise UsageError("--status commit needs the repository", hint="pass --source (a Git URL or a checkout) or use --status annotations")
        from reconciler.status.commit import CommitStatusStore

        return CommitStatusStore.from_checkout(checkout, push_attempts=push_attempts)
    raise UsageError(f"unknown --status {status!r}", hint="use annotations or commit")


def _run(*args, **kwargs) -> int:
    from reconciler.interrupt import handled

    with handled():  # SIGTERM/SIGINT: finish the write in progress, release the Lease, exit 143/130 (cli.main)
        return _run_handling_signals(*args, **kwargs)


def _run_handling_signals(source, ref, path, cluster, context, now, status, output, log_format, dry_run: bool, lease_ns: str | None = None,
                          shard=None, period=None, require_rollouts: bool = False, push_attempts=None, timeout=None, notify: bool = True,
                          notify_max_age=None, strict: bool = False, policy=None, prune: bool = False,
                          cache_dir=None) -> int:
    from reconciler.cluster import open_cluster
    from reconciler.cluster.lease import lease_namespace
    from reconciler.commands.validate import _prefix
    from reconciler.logs import configure_logging
    from reconciler.runner import run_once
    from reconciler.shard import parse_shard
    from reconciler.source import open_source
    from reconciler.validation.cache import source_cache

    deadline = parse_timeout(timeout)  # started first: the clone counts too
    configure_logging(log_format)
    shard_range = parse_shard(shard)  # a bad --shard stops before anything is cloned or read
    if prune and shard_range is not None:
        from reconciler.errors import UsageError

        raise UsageError("--prune cannot be used with --shard: a shard sees only part of SOURCE, so every object of the other "
                         "shards would look removed", hint="prune from one unsharded run (`reconciler run SOURCE --prune`), "
                         "e.g. a separate CronJob, or drop --prune")
    moment = parse_now(now)
    lease_ns = lease_namespace(lease_ns)
    period_seconds = parse_period(period)
    from reconciler.retry import parse_attempts

    push_attempts = parse_attempts(push_attempts)
    max_age_seconds = _parse_max_age(notify_max_age)
    live = open_cluster(cluster, now=moment, context=context)
    with open_source(source, ref=ref, path=path, timeout=deadline.remaining()) as checkout:
        store = open_store(status, live, checkout, push_attempts=push_attempts)
        shown_source = checkout.display_url  # never the URL as given: it may carry user:token@
        report = run_once(checkout.root, live, store, moment, dry_run=dry_run, source_label=shown_source, lease_namespace=lease_ns,
                          period_seconds=period_seconds, shard=shard_range, deadline=deadline,
                          notify=notify, notify_max_age=max_age_seconds, strict=strict, policy=policy, prune=prune,
                          owner=checkout.owner,
                          source_cache=source_cache(cache_dir, checkout))
        prefix = _prefix(checkout)
    empty = _empty_source_line(report, shown_source, shard)
    if output in ("json", "yaml"):
        typer.echo(dump(report.to_dict(), output), nl=False)
    else:
        _name_files_as_given(report, prefix)
        if dry_run:
            typer.echo(render_plan_report(report, "markdown" if output == "markdown" else "text", source_label=shown_source, empty=empty),
                       nl=False)
        else:
            typer.echo(_run_text(report, empty), nl=False)
        typer.echo(_notification_text(report), nl=False)
    if report.timed_out:
        typer.echo(f"error: run stopped: {report.timed_out}", err=True)
        typer.echo("hint: the rollouts listed above show what this run did; the next run goes on from what was recorded "
                   "(raise --timeout if runs keep stopping)", err=True)
        return report.exit_code
    if require_rollouts and not report.results:
        typer.echo(f"error: no Rollout in {shown_source}{' for shard ' + shard if shard else ''} and --require-rollouts is set", err=True)
        typer.echo("hint: check SOURCE and --path (and --ref for a Git URL)", err=True)
        return EXIT_FINDINGS
    return report.exit_code


def _empty_source_line(report, source: str, shard: str | None = None) -> str:
    """Said when there is no Rollout to move, so an empty run is never silent."""
    if report.results:
        return ""
    if not report.objects and not report.findings:
        return f"no manifests in {source}: nothing to do"
    if shard:
        return f"no Rollout of shard {shard} in {source}: no rollout to move"
    return f"no Rollout in {source} ({report.objects} other object(s)): no rollout to move"


def _name_files_as_given(report, prefix: str) -> None:
    """Findings name files relative to the manifests root; text output names them as the user
    gave SOURCE (`deploy/web.yaml` for `run deploy`). JSON keeps them relative to the root."""
    if not prefix:
        return
    from dataclasses import replace

    report.findings = [replace(f, file=prefix + f.file) if hasattr(f, "file") else f for f in report.findings]
    for result in report.results:
        result.findings = [replace(f, file=prefix + f.file) if hasattr(f, "file") else f for f in result.findings]


def _parse_max_age(value) -> float | None:
    if value is None or not str(value).strip():
        return None
    from reconciler.durations import parse_duration
    from reconciler.errors import UsageError

    seconds = parse_duration(str(value))
    if seconds is None or seconds <= 0:
        raise UsageError(f"--notify-max-age {value!r} is not a positive duration", hint="e.g. --notify-max-age 24h")
    return seconds


def _notification_text(report) -> str:
    """One line per notification sent, failed, dropped, held or (plan) that would be sent."""
    lines = [outcome.line() for outcome in getattr(report, "notifications", ())]
    return "".join(line + "\n" for line in lines)


def render_plan_report(report, fmt: str, *, source_label: str, empty: str = "") -> str:
    """One renderer for both forms, so text shows what markdown shows: findings not tied to a
    rollout, plain manifests that would change with their diffs, then each rollout."""
    from reconciler.render.plan import render_report
    from reconciler.render.prune import prune_markdown, prune_text

    text = render_report(report, fmt, source_label=source_label, empty=empty)
    pruning = getattr(report, "prune", None)
    if fmt == "markdown":
        extra = prune_markdown(pruning)
        return text + ("\n".join(extra) + "\n" if extra else "")
    return text + prune_text(pruning, dry_run=True)


def _run_text(report, empty: str = "") -> str:
    """What a run did, in words that match what happened: "applied" only for writes the cluster
    accepted, the rollout's status as read back after them, and why nothing moved when nothing did."""
    lines = []
    for finding in report.findings:
        lines.append(_finding_line(finding))
    refused = {f.object for f in report.findings if getattr(f, "rule", "") in ("refused", "forbidden", "conflict")}
    for action in report.manifest_actions:
        if any(ref.startswith(f"{action.kind}/") and ref.endswith(f"/{action.name}") for ref in refused):
            continue  # its finding above says why it was not applied
        where = f"{action.namespace}/{action.name}" if action.namespace else action.name
        lines.append(f"applied {action.kind} {where} ({'created' if action.verb == 'create' else 'replaced'})")
    for result in report.results:
        for finding in result.findings:
            lines.append(_finding_line(finding))
        lines.append(_result_line(result))
    from reconciler.render.prune import prune_lines

    lines.extend(prune_lines(getattr(report, "prune", None), dry_run=False))
    if empty:
        lines.append(empty)
    return "\n".join(lines) + ("\n" if lines else "")


def _result_line(result) -> str:
    from reconciler.engine.view import weight_words

    head = f"{result.namespace}/{result.name}"
    if result.plan is None:
        if result.error:
            return f"{head}: not moved: {result.error}"
        errors = sum(1 for f in result.findings if f.is_error)
        return f"{head}: invalid ({errors} error(s) above): nothing applied, the rollout stays where it was"
    view = result.view or {}
    where = f"{view.get('status', '?')}"
    if view.get("message"):
        where += f" ({view['message']})"
    if view.get("strategy") == "Canary" and view.get("totalSteps") is not None:
        where += f", step {view.get('step')}/{view.get('totalSteps')}, {weight_words(view)}"
    changes = len(result.plan.actions)
    if result.error:
        return f"{head}: {where}; error: {result.error} (of {changes} change(s), those before the error were applied; the next run repairs the rest)"
    if not changes:
        return f"{head}: {where}; nothing to apply"
    return f"{head}: {where}; applied {changes} change(s)"


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
                if state.current_hash == state.stable_hash and not state.aborted and not state.halted:
                    raise ReconcilerError(f"rollout {name!r} is not being updated; there is nothing to promote")
                if state.aborted and not full:
                    raise ReconcilerError(f"rollout {name!r} is aborted; `promote` does not resume it",
                                          hint=f"`reconciler retry {name}` starts the update again from step 0; "
                                               f"`reconciler promote {name} --full` skips to 100%")
                state.promote = {"revision": state.revision, "step": None if full else state.step_index, "full": full, "source": "cli"}
            elif gate == "abort":
                state.abort = {"revision": state.revision, "source": "cli"}
            elif gate == "retry":
                if not state.aborted and not state.halted:  # a rollout halted by lost state may restart too
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
        output: PlanOutputOpt = PlanFormat.text,
        log_format: LogFormatOpt = None,
        period: PeriodOpt = None,
        shard: ShardOpt = None,
        require_rollouts: RequireRolloutsOpt = False,
        strict: StrictOpt = False,
        allow_secrets: AllowSecretsOpt = False,
        apply_cluster_scoped: ApplyClusterScopedOpt = False,
        prune: PruneOpt = False,
        cache: CacheDirOpt = None,
        no_cache: NoCacheOpt = False,
    ) -> None:
        """Dry run: per rollout where it is and what the next run would do, with the object diffs."""
        raise typer.Exit(_run(source, ref, path, cluster, context, now, status, output, log_format, dry_run=True, period=period,
                              shard=shard, require_rollouts=require_rollouts, strict=strict,
                              policy=source_policy(allow_secrets, apply_cluster_scoped), prune=prune,
                              cache_dir=cache_dir(cache, no_cache)))

    @app.command("run")
    def run_command(
        source: SourceArg,
        ref: RefOpt = None,
        path: PathOpt = None,
        cluster: ClusterOpt = DEFAULT_CLUSTER,
        context: ContextOpt = None,
        now: NowOpt = None,
        status: StatusOpt = "annotations",
        output: OutputOpt = ViewFormat.text,
        log_format: LogFormatOpt = None,
        lease_ns: LeaseNamespaceOpt = None,
        period: PeriodOpt = None,
        shard: ShardOpt = None,
        require_rollouts: RequireRolloutsOpt = False,
        push_attempts: PushAttemptsOpt = None,
        timeout: TimeoutOpt = None,
        no_notify: Annotated[bool, typer.Option("--no-notify", envvar="RECONCILER_NO_NOTIFY",
                                                help="Send no notification this run; they stay pending for a later run.")] = False,
        notify_max_age: Annotated[str | None, typer.Option("--notify-max-age", envvar="RECONCILER_NOTIFY_MAX_AGE",
                                                              help="Drop (with a warning) a notification not delivered within this long (default 24h).")] = None,
        strict: StrictOpt = False,
        allow_secrets: AllowSecretsOpt = False,
        apply_cluster_scoped: ApplyClusterScopedOpt = False,
        prune: PruneOpt = False,
        cache: CacheDirOpt = None,
        no_cache: NoCacheOpt = False,
    ) -> None:
        """One pass: apply the other objects of SOURCE, then move every Rollout at most one step, and record it."""
        raise typer.Exit(_run(source, ref, path, cluster, context, now, status, output, log_format, dry_run=False, lease_ns=lease_ns,
                              period=period, shard=shard, require_rollouts=require_rollouts, push_attempts=push_attempts,
                              timeout=timeout, notify=not no_notify, notify_max_age=notify_max_age, strict=strict,
                              policy=source_policy(allow_secrets, apply_cluster_scoped), prune=prune,
                              cache_dir=cache_dir(cache, no_cache)))

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
