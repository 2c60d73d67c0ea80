"""Stage 2, manifests: every YAML document under the checked-out root, with its file and line.

    load(root, cache=None) -> Loaded(manifests, findings)

The parsing itself lives in reconciler/manifests/loader.py (bounded: the source is untrusted); with
a cache folder, files unchanged since a run read them come from the source cache
(reconciler/manifests/source_cache.py) with their objects' own findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reconciler.findings import Finding
from reconciler.manifests.model import Manifest


@dataclass
class Loaded:
    root: Path
    manifests: list[Manifest] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # files that do not parse, duplicate keys, ...


def load(root: Path, cache=None) -> Loaded:
    """`cache`: reconciler.validation.cache.source_cache(...), or None."""
    from reconciler.manifests.loader import load_directory

    result = load_directory(root, cache=cache)
    return Loaded(root=root, manifests=list(result.manifests), findings=list(result.findings))


