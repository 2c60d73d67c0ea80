"""`undo NAME SOURCE [--to-revision N]`: roll back the GitOps way.

Argo's `kubectl argo rollouts undo` patches the live Rollout. Here Git is the desired state, so
undo makes a commit that puts the earlier revision's pod template back into the Rollout manifest
(a ruamel round-trip, so the file keeps its layout and comments). The next `run` sees a template
whose hash matches the old ReplicaSet and reuses it under a new revision number (seed 002: undo
creates revision 4 from revision 2's template). When SOURCE is a Git URL the commit is pushed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from reconciler.commands.common import (
    DEFAULT_CLUSTER,
    ClusterOpt,
    ContextOpt,
    NamespaceOpt,
    PathOpt,
    RefOpt,
    SourceArg,
)

REVISION_ANNOTATION = "rollout.argoproj.io/revision"
MAX_PUSH_ATTEMPTS = 5


def register(app: typer.Typer, get_app: typer.Typer, list_app: typer.Typer) -> None:
    @app.command("undo")
    def undo_command(
        name: Annotated[str, typer.Argument(help="The Rollout to roll back.")],
        source: SourceArg,
        to_revision: Annotated[int | None, typer.Option("--to-revision", help="Revision whose pod template to restore (default: the previous one).")] = None,
        namespace: NamespaceOpt = "default",
        cluster: ClusterOpt = DEFAULT_CLUSTER,
        context: ContextOpt = None,
        ref: RefOpt = None,
        path: PathOpt = None,
        message: Annotated[str | None, typer.Option("--message", "-m", help="Commit message (default: says what is restored).")] = None,
    ) -> None:
        """Commit the previous revision's pod template back into the Rollout manifest (pushed when SOURCE is a Git URL)."""
        from reconciler.cluster import open_cluster
        from reconciler.source import open_source

        live = open_cluster(cluster, context=context)
        with open_source(source, ref=ref, path=path) as checkout:
            result = undo_in_checkout(
                checkout.repo_dir,
                checkout.root,
                live,
                name=name,
                namespace=namespace,
                to_revision=to_revision,
                push=bool(getattr(checkout, "is_git", False)),
                env=checkout.git_env() if hasattr(checkout, "git_env") else None,
                message=message,
            )
        typer.echo(result.describe())


@dataclass
class UndoResult:
    name: str
    namespace: str
    file: str  # the manifest, relative to the repository
    from_revision: int
    to_revision: int
    replicaset: str  # the ReplicaSet the next run reuses
    images: list[str]
    committed: bool
    pushed: bool
    commit: str
    changed: bool

    def describe(self) -> str:
        what = f"rollout '{self.name}': restore the pod template of revision {self.to_revision} ({', '.join(self.images)})"
        if not self.changed:
            return f"{what}: {self.file} already has it; nothing to commit"
        lines = [f"{what} in {self.file}"]
        if self.pushed:
            lines.append(f"committed {self.commit[:12]} and pushed it")
        elif self.committed:
            lines.append(f"committed {self.commit[:12]} (local repository: push it yourself)")
        else:
            lines.append("wrote the file (not a Git repository: commit it yourself)")
        lines.append(f"the next `reconciler run` starts a new revision that reuses ReplicaSet {self.replicaset}")
        return "\n".join(lines)


def undo_in_checkout(repo_dir, root, cluster, *, name, namespace="default", to_revision=None, push=False, env=None, message=None) -> UndoResult:
    """The whole undo against a checkout directory and a live cluster. A rejected push (someone
    pushed first) re-reads the manifest from the fetched branch and tries again, never forcing."""
    from pathlib import Path

    from reconciler.errors import Conflict, ReconcilerError

    repo_dir, root = Path(repo_dir), Path(root)
    replicasets = cluster.list("ReplicaSet", namespace)
    target, current = choose_revision(replicasets, name, to_revision)
    template = template_from_replicaset(target)
    committer = None
    if _is_git_repository(repo_dir):
        from reconciler.status.commit import GitCommitter

        committer = GitCommitter(repo_dir, env=env, push=push, own_paths=(), purpose="undo")
    for _attempt in range(MAX_PUSH_ATTEMPTS):
        manifest_file, doc_index = find_rollout_manifest(root, name, namespace)
        if committer is not None and committer.repository.has_changes(str(manifest_file)):
            raise ReconcilerError(
                f"{manifest_file.name} has uncommitted changes; undo would commit them too",
                hint="commit or stash your edits to that file first",
            )
        if manifest_file.is_symlink():
            raise ReconcilerError(f"{manifest_file.name} is a symbolic link; undo edits plain files only", hint="edit the file the link points to")
        original = manifest_file.read_text(encoding="utf-8")
        from reconciler.manifests.yaml_edit import restore_template_text

        updated = restore_template_text(original, doc_index, template)
        rel = manifest_file.relative_to(repo_dir).as_posix()
        images = [c.get("image", "?") for c in (template.get("spec") or {}).get("containers") or []]
        result = dict(
            name=name, namespace=namespace, file=rel, from_revision=_revision(current), to_revision=_revision(target),
            replicaset=target["metadata"]["name"], images=images, committed=False, pushed=False, commit="", changed=updated != original,
        )
        if updated == original:
            return UndoResult(**result)
        manifest_file.write_text(updated, encoding="utf-8")
        if committer is None:
            return UndoResult(**result)
        committer.own_paths = (rel,)
        text = message or (
            f"undo {namespace}/{name}: restore the pod template of revision {_revision(target)} ({', '.join(images)})\n\n"
            f"Revision {_revision(current)} is rolled back; the next run reuses ReplicaSet {target['metadata']['name']}."
        )
        try:
            committer.commit([rel], text)
        except Conflict:
            continue  # the checkout now stands on the remote branch: read the manifest again
        result.update(committed=True, pushed=push, commit=committer.head())
        return UndoResult(**result)
    raise ReconcilerError(
        f"undo of {namespace}/{name}: the branch kept moving; {MAX_PUSH_ATTEMPTS} pushes were rejected",
        hint="run undo again in a moment",
    )


def _is_git_repository(path) -> bool:
    from reconciler import gitrepo

    return gitrepo.is_work_tree(path)


def _revision(rs: dict) -> int:
    try:
        return int(((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION))
    except (TypeError, ValueError):
        return -1


def _owned_by(rs: dict, rollout: str) -> bool:
    from reconciler.engine.context import ROLLOUT_LABEL

    metadata = rs.get("metadata") or {}
    labelled = (metadata.get("labels") or {}).get(ROLLOUT_LABEL)
    if labelled:
        return labelled == rollout
    owners = metadata.get("ownerReferences") or []
    if owners:
        return any(o.get("kind") == "Rollout" and o.get("name") == rollout for o in owners)
    return str(metadata.get("name", "")).startswith(rollout + "-")


def choose_revision(replicasets: list[dict], rollout: str, to_revision: int | None) -> tuple[dict, dict]:
    """(ReplicaSet to restore, ReplicaSet of the current revision). Default target: the revision
    just before the current one, as `kubectl argo rollouts undo` does."""
    from reconciler.errors import ReconcilerError

    owned = sorted((rs for rs in replicasets if _owned_by(rs, rollout) and _revision(rs) > 0), key=_revision, reverse=True)
    if not owned:
        raise ReconcilerError(
            f"rollout {rollout!r} has no ReplicaSets with a revision in the cluster",
            hint="undo needs the live history: run `reconciler run` first, and check --cluster / --namespace",
        )
    current = owned[0]
    if to_revision is None:
        if len(owned) < 2:
            raise ReconcilerError(f"rollout {rollout!r} has only revision {_revision(current)}; there is nothing to go back to")
        return owned[1], current
    for rs in owned:
        if _revision(rs) == to_revision:
            return rs, current
    known = ", ".join(str(_revision(rs)) for rs in owned)
    raise ReconcilerError(f"rollout {rollout!r} has no revision {to_revision}", hint=f"revisions in the cluster: {known}")


def restorable_template(rs: dict, template: dict) -> dict:
    """Without what the engine added for the ReplicaSet's role: ephemeral pod metadata and the
    injected anti-affinity (engine/metadata.py, engine/anti_affinity.py)."""
    from reconciler.engine import anti_affinity, metadata

    template = metadata.strip(template, rs)
    pod_spec = template.get("spec") or {}
    if anti_affinity.injected_stable(pod_spec.get("affinity")) is not None:
        affinity = anti_affinity.remove_injected(pod_spec.get("affinity"))
        if affinity:
            pod_spec["affinity"] = affinity
        else:
            pod_spec.pop("affinity", None)
    return template


def template_from_replicaset(rs: dict) -> dict:
    """The pod template as the Rollout manifest had it: the ReplicaSet's copy without the
    `rollouts-pod-template-hash` label and the role additions the engine makes."""
    import copy

    from reconciler import POD_TEMPLATE_HASH_LABEL
    from reconciler.errors import ReconcilerError

    template = copy.deepcopy(((rs.get("spec") or {}).get("template")) or {})
    if not template.get("spec"):
        raise ReconcilerError(f"ReplicaSet {rs['metadata']['name']} carries no pod template to restore")
    template = restorable_template(rs, template)
    metadata = template.get("metadata") or {}
    labels = metadata.get("labels") or {}
    labels.pop(POD_TEMPLATE_HASH_LABEL, None)
    if "labels" in metadata and not labels:
        metadata.pop("labels")
    metadata.pop("creationTimestamp", None)
    if "metadata" in template and not metadata:
        template.pop("metadata")
    return template


def find_rollout_manifest(root, name: str, namespace: str):
    """(file, document index) of the Rollout NAME in NAMESPACE under root."""
    from reconciler.errors import ReconcilerError
    from reconciler.manifests.loader import load_directory

    loaded = load_directory(root)
    found = [
        m for m in loaded.manifests
        if m.obj.get("kind") == "Rollout"
        and (m.obj.get("metadata") or {}).get("name") == name
        and ((m.obj.get("metadata") or {}).get("namespace") or namespace) == namespace
    ]
    if not found:
        raise ReconcilerError(f"no Rollout {namespace}/{name} in the manifests of SOURCE", hint="check NAME, --namespace and --path")
    if len(found) > 1:
        raise ReconcilerError(f"Rollout {namespace}/{name} is defined {len(found)} times ({', '.join(m.file for m in found)})")
    manifest = found[0]
    if (manifest.obj.get("spec") or {}).get("workloadRef"):
        raise ReconcilerError(
            f"Rollout {namespace}/{name} takes its template from a workloadRef",
            hint="roll back the referenced Deployment's pod template in Git instead",
        )
    if manifest.list_item:
        raise ReconcilerError(f"Rollout {namespace}/{name} is an item of a `kind: List` in {manifest.file}; the reconciler edits only "
                              "a Rollout that is a YAML document of its own", hint="move it to its own document (after `---`), or edit it by hand")
    from pathlib import Path

    return Path(root) / manifest.file, manifest.doc_index
