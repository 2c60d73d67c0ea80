"""The same object (kind, namespace, name) defined twice in the source: an error on every copy,
naming all the files, and none of them is applied (which one was meant is the author's call)."""

from __future__ import annotations

from collections import defaultdict

from reconciler.findings import Finding
from reconciler.kinds import KINDS
from reconciler.manifests.model import Manifest


def _key(manifest: Manifest):
    info = KINDS.get(manifest.kind)
    namespaced = info.namespaced if info is not None else True
    name = manifest.name
    if not isinstance(name, str) or not name:
        return None  # reported by the names rule
    return manifest.kind, (manifest.namespace if namespaced else None), name


def duplicate_objects(manifests) -> list[Finding]:
    groups: dict = defaultdict(list)
    for manifest in manifests:
        key = _key(manifest)
        if key is not None and isinstance(key[0], str) and isinstance(key[1], (str, type(None))):
            groups[key].append(manifest)
    findings = []
    for (kind, namespace, name), copies in groups.items():
        if len(copies) < 2:
            continue
        places = [f"{m.file}:{m.line}" for m in copies]
        where = f"{namespace}/{name}" if namespace else name
        for manifest in copies:
            others = ", ".join(p for p in places if p != f"{manifest.file}:{manifest.line}")
            findings.append(manifest.finding(
                ("metadata", "name"),
                f"{kind} {where} is defined more than once: here and at {others}; none of them is applied",
                hint="keep one definition (an object omitting namespace: is in 'default')",
                rule="duplicate-object",
            ))
    return findings
