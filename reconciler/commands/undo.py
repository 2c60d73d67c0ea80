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
        if committer is not None and committer.git("status", "--porcelain", "--", str(manifest_file)).stdout.strip():
            raise ReconcilerError(
                f"{manifest_file.name} has uncommitted changes; undo would commit them too",
                hint="commit or stash your edits to that file first",
            )
        if manifest_file.is_symlink():
            raise ReconcilerError(f"{manifest_file.name} is a symbolic link; undo edits plain files only", hint="edit the file the link points to")
        original = manifest_file.read_text(encoding="utf-8")
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
        result.update(committed=True, pushed=push, commit=committer.git("rev-parse", "HEAD").stdout.strip())
        return UndoResult(**result)
    raise ReconcilerError(
        f"undo of {namespace}/{name}: the branch kept moving; {MAX_PUSH_ATTEMPTS} pushes were rejected",
        hint="run undo again in a moment",
    )


def _is_git_repository(path) -> bool:
    import subprocess

    result = subprocess.run(["git", "-C", str(path), "rev-parse", "--is-inside-work-tree"], capture_output=True, text=True)
    return result.returncode == 0 and result.stdout.strip() == "true"


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
    from pathlib import Path

    return Path(root) / manifest.file, manifest.doc_index


# -- formatting-preserving YAML edit ------------------------------------------------------------

# Indentation styles seen in Kubernetes YAML: (mapping, sequence, offset).
_STYLES = ((2, 2, 0), (2, 4, 2), (4, 4, 2), (4, 2, 0), (4, 6, 4), (2, 3, 1))


def _round_trip(explicit_start: bool, style):
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    yaml.explicit_start = explicit_start
    yaml.indent(mapping=style[0], sequence=style[1], offset=style[2])
    return yaml


def _dump_all(yaml, docs) -> str:
    import io

    out = io.StringIO()
    yaml.dump_all(docs, out)
    return out.getvalue()


def _best_style(text: str):
    """The dumper settings that reproduce the file as it is (or come closest), so the commit's diff
    shows only the template change."""
    import difflib

    best, best_score = None, -1.0
    for explicit_start in (text.lstrip().startswith("---"), not text.lstrip().startswith("---")):
        for style in _STYLES:
            yaml = _round_trip(explicit_start, style)
            docs = list(yaml.load_all(text))
            dumped = _dump_all(yaml, docs)
            if dumped == text:
                return yaml
            score = difflib.SequenceMatcher(None, dumped, text, autojunk=False).ratio()
            if score > best_score:
                best, best_score = yaml, score
    return best


def _update_in_place(node, new):
    """Node `node` (ruamel round-trip) made equal to plain value `new`, touching only what differs,
    so comments and quoting on the unchanged parts stay."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap) and isinstance(new, dict):
        for key in [k for k in node if k not in new]:
            del node[key]
        for key, value in new.items():
            node[key] = _update_in_place(node[key], value) if key in node else value
        return node
    if isinstance(node, CommentedSeq) and isinstance(new, list) and len(node) == len(new):
        for index, value in enumerate(new):
            node[index] = _update_in_place(node[index], value)
        return node
    return node if _same_scalar(node, new) else new


def _same_scalar(node, new) -> bool:
    if isinstance(node, bool) or isinstance(new, bool):
        return type(node) is type(new) and node == new
    # ruamel keeps quoting in str/int subclasses; equal values keep the original node
    return isinstance(node, type(new)) and node == new


def restore_template_text(text: str, doc_index: int, template: dict) -> str:
    """The file text with document `doc_index`'s spec.template set to `template`.

    When only scalar values differ (the usual rollback: an image tag, an env value) those values
    are replaced in the text itself, so everything else stays byte for byte. Otherwise the
    document is re-emitted by a ruamel round-trip in the file's own indentation style."""
    yaml = _round_trip(text.lstrip().startswith("---"), _STYLES[0])
    docs = list(yaml.load_all(text))
    spec = docs[doc_index]["spec"]
    current = spec.get("template")
    edits = _scalar_edits(current, template) if current is not None else None
    if edits is not None:
        edited = _apply_scalar_edits(text, edits)
        if edited is not None and _template_of(edited, doc_index) == _plain(template):
            return edited
    yaml = _best_style(text)
    docs = list(yaml.load_all(text))
    spec = docs[doc_index]["spec"]
    if "template" in spec:
        spec["template"] = _update_in_place(spec["template"], template)
    else:
        spec["template"] = template
    updated = _dump_all(yaml, docs)
    if not text.endswith("\n"):
        updated = updated.rstrip("\n")
    return updated


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _template_of(text: str, doc_index: int):
    from ruamel.yaml import YAML

    docs = list(YAML(typ="safe", pure=True).load_all(text))
    return _plain(docs[doc_index]["spec"].get("template"))


def _scalar_edits(node, new):
    """[(line, col, in_flow, new value)] when `node` and `new` differ only in scalar values at the
    same places; None when keys, lengths or shapes differ (or a changed value spans lines)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    edits = []
    if isinstance(node, CommentedMap) and isinstance(new, dict):
        if list(node.keys()) != list(new.keys()) and set(node.keys()) != set(new.keys()):
            return None
        pairs = [(key, node[key], new[key], lambda key=key: node.lc.value(key)) for key in new]
    elif isinstance(node, CommentedSeq) and isinstance(new, list):
        if len(node) != len(new):
            return None
        pairs = [(index, node[index], new[index], lambda index=index: node.lc.item(index)) for index in range(len(new))]
    else:
        return None
    in_flow = bool(node.fa.flow_style())
    for _key, old_value, new_value, position in pairs:
        if isinstance(old_value, (CommentedMap, CommentedSeq)) or isinstance(new_value, (dict, list)):
            inner = _scalar_edits(old_value, new_value)
            if inner is None:
                return None
            edits.extend(inner)
        elif not _same_scalar(old_value, new_value):
            if isinstance(old_value, str) and "\n" in old_value or isinstance(new_value, str) and "\n" in new_value:
                return None
            line, col = position()
            edits.append((line, col, in_flow, new_value))
    return edits


def _token_end(line: str, col: int, in_flow: bool) -> int | None:
    """Where the scalar starting at `col` ends on its line."""
    if col >= len(line):
        return None
    quote = line[col]
    if quote == "'":
        index = col + 1
        while index < len(line):
            if line[index] == "'":
                if line[index + 1 : index + 2] == "'":
                    index += 2
                    continue
                return index + 1
            index += 1
        return None
    if quote == '"':
        index = col + 1
        while index < len(line):
            if line[index] == "\\":
                index += 2
                continue
            if line[index] == '"':
                return index + 1
            index += 1
        return None
    if quote in "|>&*!":  # block scalars, anchors, aliases, tags: leave to the round-trip
        return None
    end = len(line)
    comment = line.find(" #", col)
    if comment != -1:
        end = comment
    if in_flow:
        for stop in (",", "}", "]"):
            at = line.find(stop, col)
            if at != -1:
                end = min(end, at)
    while end > col and line[end - 1] == " ":
        end -= 1
    return end


def _scalar_text(value, original_token: str) -> str:
    import io
    import json

    from ruamel.yaml import YAML

    if isinstance(value, str) and original_token.startswith("'"):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, str) and original_token.startswith('"'):
        return json.dumps(value, ensure_ascii=False)
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.width = 4096
    yaml.default_flow_style = False
    yaml.dump([value], out)
    text = out.getvalue().strip()
    text = text[2:] if text.startswith("- ") else text
    if isinstance(value, str) and text.lower() in _YAML11_BOOLEANS:
        return "'" + value + "'"  # Kubernetes' YAML 1.1 parser would read these as booleans
    return text


_YAML11_BOOLEANS = {"y", "n", "yes", "no", "true", "false", "on", "off"}


def _apply_scalar_edits(text: str, edits) -> str | None:
    lines = text.split("\n")
    # right to left within a line so earlier columns stay valid
    for line_no, col, in_flow, value in sorted(edits, key=lambda edit: (edit[0], -edit[1])):
        line = lines[line_no]
        end = _token_end(line, col, in_flow)
        if end is None:
            return None
        lines[line_no] = line[:col] + _scalar_text(value, line[col:end]) + line[end:]
    return "\n".join(lines)
