"""`get experiment NAME` and `list experiments`: the recorded experiments (standalone `kind:
Experiment`s and the ones rollouts' experiment steps started), their ReplicaSets read back from
the cluster."""

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
)
from reconciler.commands.views import SourceOpt, _load


def experiment_views(cluster, states: dict, now, namespace: str | None) -> list[dict]:
    """Every recorded experiment in `namespace` (None: all read), oldest first."""
    from reconciler.engine.experiment_spec import EXPERIMENT_LABEL
    from reconciler.engine.experiment_summary import experiment_view
    from reconciler.engine.state import RolloutState

    views = []
    by_ns: dict[str, tuple[dict, dict]] = {}
    for key in sorted(states):
        ns = key[0]
        if namespace is not None and ns != namespace:
            continue
        state = RolloutState.from_dict(states[key])
        if not state.experiments:
            continue
        if ns not in by_ns:
            replicasets = [rs for rs in cluster.list("ReplicaSet", ns) if EXPERIMENT_LABEL in ((rs.get("metadata") or {}).get("labels") or {})]
            names = {rs["metadata"]["name"] for rs in replicasets}
            pods: dict[str, list] = {}
            for pod in cluster.list("Pod", ns):
                owner = next((o.get("name") for o in (pod.get("metadata") or {}).get("ownerReferences") or [] if o.get("kind") == "ReplicaSet"), None)
                if owner in names:
                    pods.setdefault(owner, []).append(pod)
            by_ns[ns] = ({rs["metadata"]["name"]: rs for rs in replicasets}, pods)
        replicasets, pods = by_ns[ns]
        for record in state.experiments.values():
            view = experiment_view(record, replicasets, state.analysis, pods)
            view["namespace"] = ns
            views.append(view)
    return sorted(views, key=lambda v: (v["namespace"], str(v.get("createdAt") or ""), v["name"] or ""))


def register(app: typer.Typer, get_app: typer.Typer, list_app: typer.Typer) -> None:
    @get_app.command("experiment")
    def get_experiment(
        name: Annotated[str, typer.Argument(help="The Experiment (standalone, or one a rollout's experiment step started).")],
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
        """The experiment's status, its ReplicaSets, pods and AnalysisRuns (as `kubectl argo rollouts get experiment`)."""
        from reconciler.commands.common import dump
        from reconciler.errors import ReconcilerError

        moment, live, states = _load(cluster, context, now, status, source, ref, path, [namespace])
        found = [v for v in experiment_views(live, states, moment, namespace) if v["name"] == name]
        if not found:
            raise ReconcilerError(f"experiment {name!r} not found in namespace {namespace!r}",
                                  hint="`reconciler list experiments` lists them; run `reconciler run SOURCE` first, or check --namespace / --cluster")
        if output.value == "text":
            from reconciler.render.experiment import render_experiment

            typer.echo(render_experiment(found[-1], moment), nl=False)
        else:
            typer.echo(dump(found[-1], output.value), nl=False)

    @list_app.command("experiments")
    def list_experiments(
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
        """A table of the experiments (as `kubectl argo rollouts list experiments`)."""
        from reconciler.commands.common import dump

        scope = None if all_namespaces else [namespace]
        moment, live, states = _load(cluster, context, now, status, source, ref, path, scope)
        views = experiment_views(live, states, moment, None if all_namespaces else namespace)
        if output.value == "text":
            from reconciler.render.experiment import render_experiment_list

            typer.echo(render_experiment_list(views, moment, all_namespaces=all_namespaces), nl=False)
        else:
            typer.echo(dump(views, output.value), nl=False)
