"""`get rollout NAME` and `list rollouts`: views built from the recorded state and the live cluster."""

from __future__ import annotations

from typing import Annotated, Optional

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
    Optional[str],
    typer.Option("--source", envvar="RECONCILER_SOURCE", help="With --status commit: the repository holding the status files (a checkout or a Git URL; --ref, --path)."),
]


def build_views(cluster, states: dict, now, namespace: str | None = None, names: set[str] | None = None) -> list[dict]:
    """Views of the recorded rollouts: one list of ReplicaSets (and Pods) per namespace."""
    from reconciler.apply import _owned_by
    from reconciler.engine.state import RolloutState
    from reconciler.engine.view import rollout_view

    views = []
    keys = sorted(k for k in states if (namespace is None or k[0] == namespace) and (names is None or k[1] in names))
    by_ns: dict[str, tuple[list, list, list]] = {}
    for ns in sorted({k[0] for k in keys}):
        by_ns[ns] = (cluster.list("ReplicaSet", ns), cluster.list("Pod", ns), cluster.list("Service", ns))
    routed = _routing_objects(cluster, states, keys)
    for ns, name in keys:
        state = RolloutState.from_dict(states[(ns, name)])
        replicasets, pods, services = by_ns[ns]
        mine = [rs for rs in replicasets if _owned_by(rs) == name]
        names_ = {rs["metadata"]["name"] for rs in mine}
        pods_by_rs: dict[str, list] = {}
        for pod in pods:
            owner = next((o.get("name") for o in (pod.get("metadata") or {}).get("ownerReferences") or [] if o.get("kind") == "ReplicaSet"), None)
            if owner in names_:
                pods_by_rs.setdefault(owner, []).append(pod)
        svc = {s["metadata"]["name"]: s for s in services}
        summary = dict(state.desired_summary or {"name": name, "namespace": ns})
        views.append(rollout_view(summary, mine, state, now, services=svc, pods=pods_by_rs, traffic=_read_back(summary, ns, routed)))
    return views


def _router(summary: dict, namespace: str):
    from reconciler.engine.traffic.base import router_for

    return router_for(summary.get("trafficRouting"), summary.get("canaryService"), summary.get("stableService"), namespace)


def _routing_objects(cluster, states: dict, keys) -> dict:
    """The traffic routers' live objects (VirtualServices, ...): one list per kind and namespace,
    only where a viewed rollout names one. One the cluster will not list reads as not found."""
    from reconciler.errors import Refused

    wanted = set()
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
    ) -> None:
        """The rollout's status and its revisions, ReplicaSets and pods (as `kubectl argo rollouts get rollout`)."""
        import json

        from reconciler.errors import ReconcilerError

        moment, live, states = _load(cluster, context, now, status, source, ref, path, [namespace])
        views = build_views(live, states, moment, namespace, {name})
        if not views:
            raise ReconcilerError(f"rollout {name!r} not found in namespace {namespace!r}", hint="run `reconciler run SOURCE` first, or check --namespace / --cluster"
                                  + (" / --source / --ref" if status == "commit" else ""))
        if output != "text":
            typer.echo(dump(views[0], output), nl=False)
            return
        try:
            from reconciler.render.tree import render_rollout
        except ImportError:
            typer.echo(json.dumps(views[0], indent=2, default=str))
            return
        typer.echo(render_rollout(views[0], moment, color=_wants_color()), nl=False)

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
    ) -> None:
        """A table of the rollouts (as `kubectl argo rollouts list rollouts`)."""
        import json

        from reconciler.errors import Forbidden

        scope = None if all_namespaces else [namespace]  # -A: the one list across all namespaces
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
        views = build_views(live, states, moment, None if all_namespaces else namespace)
        if output != "text":
            typer.echo(dump(views, output), nl=False)
            return
        try:
            from reconciler.render.table import render_rollout_list
        except ImportError:
            typer.echo(json.dumps(views, indent=2, default=str))
            return
        typer.echo(render_rollout_list(views, all_namespaces=all_namespaces), nl=False)


def _wants_color() -> bool:
    """Argo's colours on a terminal; never when piped or when NO_COLOR is set (no-color.org)."""
    import os
    import sys

    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
