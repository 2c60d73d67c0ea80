"""`status NAME`: the rollout's status line, as `kubectl argo rollouts status` prints it, with an
exit code a CI step can wait on.

    Healthy                                   exit 0
    Degraded - RolloutAborted: ...            exit 1 (aborted, failed analysis, progress deadline)
    Paused - CanaryPauseStep                  (printed while watching; the watch goes on)
    timeout, Ctrl-C, rollout not found        exit 2

With --watch (the default, as the plugin) a new line is printed each time the line changes, until
the rollout is Healthy or Degraded or --timeout passes. Nothing moves between runs: the watch
only sees what `reconciler run` (a CronJob tick, a person) changes.
"""

from __future__ import annotations

from typing import Annotated

import typer

from reconciler.commands.common import (
    DEFAULT_CLUSTER,
    ClusterOpt,
    ContextOpt,
    NamespaceOpt,
    NowOpt,
    PathOpt,
    RefOpt,
    StatusOpt,
)
from reconciler.commands.views import SourceOpt
from reconciler.errors import EXIT_FINDINGS, EXIT_INFRA, EXIT_OK

FINAL = ("Healthy", "Degraded")


def status_line(view: dict) -> str:
    """`Status` or `Status - Message`, as the plugin prints it."""
    status, message = view.get("status", "Unknown"), view.get("message") or ""
    return f"{status} - {message}" if message else status


def register(app, get_app, list_app) -> None:
    @app.command("status")
    def status_command(
        name: Annotated[str, typer.Argument(help="The Rollout.")],
        watch: Annotated[bool, typer.Option("--watch/--no-watch", "-w", help="Wait until Healthy or Degraded (the default), or report once.")] = True,
        timeout: Annotated[str | None, typer.Option("--timeout", "-t", help="Give up after this long (e.g. 5m, 60s); 0 or unset waits forever.")] = None,
        namespace: NamespaceOpt = "default",
        cluster: ClusterOpt = DEFAULT_CLUSTER,
        context: ContextOpt = None,
        now: NowOpt = None,
        status: StatusOpt = "annotations",
        source: SourceOpt = None,
        ref: RefOpt = None,
        path: PathOpt = None,
    ) -> None:
        """The rollout's status line; exit 0 Healthy, 1 Degraded or aborted, 2 timeout or error (as `kubectl argo rollouts status`)."""
        from reconciler.commands.views import rollout_views
        from reconciler.commands.watching import local_fingerprint, parse_timeout
        from reconciler.commands.watching import watch as watch_loop

        limit = parse_timeout(timeout)

        def load():
            return rollout_views(name, namespace, cluster, context, now, status, source, ref, path)[1]

        if not watch:
            view = load()
            final = view.get("status") in FINAL
            typer.echo(view.get("status") if final else status_line(view))
            raise typer.Exit(_exit_for(view))

        def snapshot():
            view = load()
            return status_line(view), view

        ended = watch_loop(
            snapshot,
            lambda view: status_line(view) + "\n",
            timeout=limit,
            fingerprint=local_fingerprint(cluster),
            redraw=False,  # one line per change, on a terminal too (as the plugin)
            between="",
            done=lambda view: view.get("status") in FINAL,
        )
        if ended.reason == "done":
            raise typer.Exit(_exit_for(ended.last))
        what = "the timeout" if ended.reason == "timeout" else "Ctrl-C"
        typer.secho(f"error: rollout {name!r} was not Healthy or Degraded before {what} ({timeout or 'no limit'})"
                    if ended.reason == "timeout" else f"error: stopped by {what} before rollout {name!r} was Healthy or Degraded",
                    err=True, fg=typer.colors.RED)
        raise typer.Exit(EXIT_INFRA)


def _exit_for(view: dict) -> int:
    if view.get("status") == "Degraded":
        typer.secho(f"error: the rollout is Degraded: {view.get('message') or 'no message'}", err=True, fg=typer.colors.RED)
        return EXIT_FINDINGS
    return EXIT_OK
