"""`kind: List` documents: `kubectl apply` takes a v1 List (what `kubectl get -o yaml` writes) as the
objects under its `items`, so the reconciler reads each item as its own Manifest, located through
the list (`items[2].spec.replicas` is where a finding on the third item's replicas points).

    expand(manifest) -> ([the manifest] or its items' Manifests, findings)

An item that is not a Kubernetes object (no apiVersion or kind) is a warning and skipped, as a
document would be. The items of a List inside a List are read too (without recursion: a List is
as deep as the YAML loader lets it be).
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.findings import Finding, Severity
from reconciler.manifests.model import FieldPath, Manifest, format_path


def is_list(obj: dict) -> bool:
    return obj.get("apiVersion") == "v1" and obj.get("kind") == "List" and isinstance(obj.get("items"), list)


def expand(manifest: Manifest) -> tuple[list[Manifest], list[Finding]]:
    if not is_list(manifest.obj):
        return [manifest], []
    document = manifest.locate  # every item is located from the document, its path prefixed
    manifests: list[Manifest] = []
    findings: list[Finding] = []
    pending: list[tuple[dict, tuple]] = [(manifest.obj, ())]  # (a List, its path in the document)
    while pending:
        current, prefix = pending.pop()
        for index, item in enumerate(current["items"]):
            where = (*prefix, "items", index)
            line, col = document(where)
            if not isinstance(item, dict) or not item.get("apiVersion") or not item.get("kind"):
                findings.append(Finding(file=manifest.file, line=line, col=col, path=format_path(where),
                                        message=f"item {index} of the List is not a Kubernetes object (no apiVersion/kind); skipped",
                                        hint="give it apiVersion and kind, or remove it", rule="not-kubernetes", severity=Severity.WARNING))
            elif is_list(item):
                pending.append((item, where))
            else:
                manifests.append(Manifest(obj=item, file=manifest.file, line=line, col=col, doc_index=manifest.doc_index,
                                          locate_fn=_under(document, where), list_item=tuple(k for k in where if isinstance(k, int))))
    manifests.sort(key=lambda m: m.list_item)
    return manifests, sorted(findings, key=lambda f: (f.line, f.col))


def _under(document: Callable[[FieldPath], tuple[int, int]], prefix: tuple) -> Callable[[FieldPath], tuple[int, int]]:
    return lambda path: document((*prefix, *path))

