"""`kind: List` documents: `kubectl apply` takes a v1 List (what `kubectl get -o yaml` writes) as the
objects under its `items`, so the reconciler reads each item as its own Manifest, located through
the list (`items[2].spec.replicas` is where a finding on the third item's replicas points).

    expand(manifest) -> ([the manifest] or its items' Manifests, findings)

An item that is not a Kubernetes object (no apiVersion or kind) is a warning and skipped, as a
document would be. The items of a List inside a List are read too.
"""

from __future__ import annotations

from reconciler.findings import Finding, Severity
from reconciler.manifests.model import Manifest


def is_list(obj: dict) -> bool:
    return obj.get("apiVersion") == "v1" and obj.get("kind") == "List" and isinstance(obj.get("items"), list)


def expand(manifest: Manifest) -> tuple[list[Manifest], list[Finding]]:
    if not is_list(manifest.obj):
        return [manifest], []
    manifests: list[Manifest] = []
    findings: list[Finding] = []
    for index, item in enumerate(manifest.obj["items"]):
        where = ("items", index)
        line, col = manifest.locate(where)
        if not isinstance(item, dict) or not item.get("apiVersion") or not item.get("kind"):
            findings.append(Finding(file=manifest.file, line=line, col=col, path=f"items[{index}]",
                                    message=f"item {index} of the List is not a Kubernetes object (no apiVersion/kind); skipped",
                                    hint="give it apiVersion and kind, or remove it", rule="not-kubernetes", severity=Severity.WARNING))
            continue
        found, more = expand(Manifest(obj=item, file=manifest.file, line=line, col=col, doc_index=manifest.doc_index,
                                      locate_fn=_through(manifest, where), list_item=(*manifest.list_item, index)))
        manifests.extend(found)
        findings.extend(more)
    return manifests, findings


def _through(parent: Manifest, prefix: tuple):
    return lambda path: parent.locate((*prefix, *path))
