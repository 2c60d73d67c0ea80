"""`get rollout NAME` and `list rollouts`: views built from the recorded state and the live cluster."""

from __future__ import annotations

from typing import Annotated

import typer

from reconciler.commands.common import (
    DEFAULT_CLUSTER,
    ClusterOpt,
    ContextOpt,
    NamespaceOpt,
    NowOpt,
    OutputOpt,
    PathOpt,
    RefOpt,
    StatusOpt,
    ViewFormat,
    dump,
    parse_now,
)

SourceOpt = Annotated[
    str | None,
    typer.Option("--source", envvar="RECONCILER_SOURCE", help="With --status commit: the repository holding the status files (a checkout or a Git URL; --ref, --path)."),
]


def build_views(cluster, states: dict, now, namespace: str | None = None, names: set[str] | None = None) -> list[dict]:
    """Views of the recorded rollouts: one list of ReplicaSets (and Pods) per namespace."""
    from reconciler.engine.experiment_spec import OWNER_LABEL as EXPERIMENT_OWNER_LABEL
    from reconciler.engine.state import RolloutState
    from reconciler.engine.view import rollout_view
    from reconciler.pipeline.observe import owned_by as _owned_by

    views = []
    keys = sorted(k for k in states if (namespace is None or k[0] == namespace) and (names is None or k[1] in names)
                  and (states[k] or {}).get("kind") != "Experiment")  # a standalone Experiment's record (get experiment)
    by_ns: dict[str, tuple[list, list, list]] = {}
    for ns in sorted({k[0] for k in keys}):
        by_ns[ns] = (cluster.list("ReplicaSet", ns), cluster.list("Pod", ns), cluster.list("Service", ns))
    routed = _routing_objects(cluster, states, keys)
    for ns, name in keys:
        state = RolloutState.from_dict(states[(ns, name)])
        replicasets, pods, services = by_ns[ns]
        mine = [rs for rs in replicasets if _owned_by(rs) == name]
        experiment_rs = [rs for rs in replicasets if ((rs.get("metadata") or {}).get("labels") or {}).get(EXPERIMENT_OWNER_LABEL) == name]
        names_ = {rs["metadata"]["name"] for rs in mine + experiment_rs}
        pods_by_rs: dict[str, list] = {}
        for pod in pods:
            owner = next((o.get("name") for o in (pod.get("metadata") or {}).get("ownerReferences") or [] if o.get("kind") == "ReplicaSet"), None)
            if owner in names_:
                pods_by_rs.setdefault(owner, []).append(pod)
        svc = {s["metadata"]["name"]: s for s in services}
        summary = dict(state.desired_summary or {"name": name, "namespace": ns})
        views.append(rollout_view(summary, mine, state, now, services=svc, pods=pods_by_rs, traffic=_read_back(summary, ns, routed),
                                  experiment_replicasets=experiment_rs))
    return views


def _router(summary: dict, namespace: str):
    from reconciler.engine.traffic.routers import canary_router

    return canary_router(summary, namespace)


def _routing_objects(cluster, states: dict, keys) -> dict:
    """The traffic routers' live objects (VirtualServices, ...): one list per kind and namespace,
    only where a viewed rollout names one. One the cluster will not list reads as not found."""
    from reconciler.errors import Refused

    wanted: set[tuple[str, str]] = set()
    for ns, name in keys:
        router = _router((states[(ns, name)] or {}).get("desired_summary") or {}, ns)
        wanted.update((kind, namespace) for kind, namespace, _ in (router.object_keys() if router else []))
    found = {}
    for kind, namespace in sorted(wanted):
        try:
            for obj in cluster.list(kind, namespace):
                found[(kind, namespace, (obj.get("metadata") or {}).get("name", ""))] = obj
        except Refused:
            continue
    return found


def _read_back(summary: dict, namespace: str, objects: dict) -> dict | None:
    """ActualWeight comes from the live VirtualService (as Argo's does), never from the plan."""
    from reconciler.engine.traffic.routing import readback_view

    router = _router(summary, namespace)
    return readback_view(router.read_back(objects)) if router is not None else None


def _load(cluster, context, now, status, source, ref, path, namespaces):
    """(now, cluster, recorded states). With --status commit, SOURCE (a checkout or a Git URL with
    --ref/--path) is opened by the same source stage a run uses, read only, and a clone is removed
    as soon as the states are read."""
    from reconciler.cluster import open_cluster
    from reconciler.commands.engine import open_store

    moment = parse_now(now)
    live = open_cluster(cluster, now=moment, context=context)
    if status != "commit":
        return moment, live, open_store(status, live, namespaces=namespaces).load(namespaces=namespaces)
    if not source:
        from reconciler.errors import UsageError

        raise UsageError("--status commit needs the repository holding the status files",
                         hint="pass --source (a Git URL with --ref, or a local checkout), or use --status annotations")
    from reconciler.source import open_source
    from reconciler.status.commit import CommitStatusStore

    with open_source(source, ref=ref, path=path) as checkout:
        states = CommitStatusStore.from_checkout(checkout, read_only=True).load(namespaces=namespaces)
    return moment, live, states


WatchOpt = Annotated[bool, typer.Option("--watch", "-w", help="Keep showing it: redrawn in place on a terminal, one block per change otherwise; Ctrl-C ends (exit 0).")]
TimeoutOpt = Annotated[str | None, typer.Option("--timeout", help="With --watch: stop after this long (e.g. 5m, 90s); 0 or unset waits until Ctrl-C.")]


def _not_found(name: str, namespace: str, status: str):
    from reconciler.errors import ReconcilerError

    return ReconcilerError(f"rollout {name!r} not found in namespace {namespace!r}", hint="run `reconciler run SOURCE` first, or check --namespace / --cluster"
                           + (" / --source / --ref" if status == "commit" else ""))


def rollout_views(name, namespace, cluster, context, now, status, source, ref, path) -> tuple:
    """(now, the rollout's view) as read from the cluster and the recorded state at this moment."""
    moment, live, states = _load(cluster, context, now, status, source, ref, path, [namespace])
    views = build_views(live, states, moment, namespace, {name})
    if not views:
        raise _not_found(name, namespace, status)
    return moment, views[0]


def _show(data, output: str, render_text, *, watching: bool) -> str:
    """The text for one state: the rendered view, or JSON/YAML (one document per state when watching)."""
    if output == "text":
        return render_text(data)
    if watching and output == "json":
        import json

        return json.dumps(data, default=str, sort_keys=True) + "\n"
    text = dump(data, output)
    return ("---\n" + text) if watching and output == "yaml" else text


def _watch(load, render_text, output: str, timeout: str | None, cluster: str) -> None:
    import json

    from reconciler.commands.watching import local_fingerprint, parse_timeout, watch

    limit = parse_timeout(timeout)

    def snapshot():
        moment, data = load()
        return json.dumps(data, sort_keys=True, default=str), (moment, data)

    watch(snapshot, lambda pair: _show(pair[1], output, lambda d: render_text(d, pair[0]), watching=True), timeout=limit,
          fingerprint=local_fingerprint(cluster), redraw=None if output == "text" else False, between="\n" if output == "text" else "")
    raise typer.Exit(0)  # Ctrl-C and --timeout both end a watch normally


def register(app: typer.Typer, get_app: typer.Typer, list_app: typer.Typer) -> None:
    @get_app.command("rollout")
    def get_rollout(
        name: Annotated[str, typer.Argument(help="The Rollout.")],
        namespace: NamespaceOpt = "default",
        cluster: ClusterOpt = DEFAULT_CLUSTER,
        context: ContextOpt = None,
        now: NowOpt = None,
        status: StatusOpt = "annotations",
        output: OutputOpt = ViewFormat.text,
        source: SourceOpt = None,
        ref: RefOpt = None,
        path: PathOpt = None,
        watch: WatchOpt = False,
        timeout: TimeoutOpt = None,
    ) -> None:
        """The rollout's status and its revisions, ReplicaSets and pods (as `kubectl argo rollouts get rollout`)."""

        def render_text(view, moment):
            from reconciler.render.tree import render_rollout

            return render_rollout(view, moment, color=_wants_color())

        def load():
            return rollout_views(name, namespace, cluster, context, now, status, source, ref, path)

        if watch:
            _watch(load, render_text, output.value, timeout, cluster)
        moment, view = load()
        typer.echo(_show(view, output.value, lambda d: render_text(d, moment), watching=False), nl=False)

    @list_app.command("rollouts")
    def list_rollouts(
        namespace: NamespaceOpt = "default",
        all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A", help="Every namespace.")] = False,
        cluster: ClusterOpt = DEFAULT_CLUSTER,
        context: ContextOpt = None,
        now: NowOpt = None,
        status: StatusOpt = "annotations",
        output: OutputOpt = ViewFormat.text,
        source: SourceOpt = None,
        ref: RefOpt = None,
        path: PathOpt = None,
        watch: WatchOpt = False,
        timeout: TimeoutOpt = None,
    ) -> None:
        """A table of the rollouts (as `kubectl argo rollouts list rollouts`)."""
        from reconciler.errors import Forbidden

        scope = None if all_namespaces else [namespace]  # -A: the one list across all namespaces

        def load():
            try:
                moment, live, states = _load(cluster, context, now, status, source, ref, path, scope)
            except Forbidden as err:
                if not all_namespaces:
                    raise
                raise Forbidden(
                    err.message,
                    hint="`list rollouts -A` reads the rollouts' state in every namespace: use credentials that may list "
                    "configmaps cluster-wide (e.g. the built-in `view` ClusterRole), or pass -n NAMESPACE",
                ) from None
            return moment, build_views(live, states, moment, None if all_namespaces else namespace)

        def render_text(views, moment):
            from reconciler.render.table import render_rollout_list

            return render_rollout_list(views, all_namespaces=all_namespaces)

        if watch:
            _watch(load, render_text, output.value, timeout, cluster)
        moment, views = load()
        typer.echo(_show(views, output.value, lambda d: render_text(d, moment), watching=False), nl=False)


def _wants_color() -> bool:
    """Argo's colours on a terminal; never when piped or when NO_COLOR is set (no-color.org)."""
    import os
    import sys

    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
