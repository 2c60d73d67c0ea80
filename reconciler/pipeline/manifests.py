"""Stage 2, manifests: every YAML document under the checked-out root, with its file and line.

    load(root) -> Loaded(manifests, findings)

The parsing itself lives in reconciler/manifests/loader.py (bounded: the source is untrusted)."""

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


def load(root: Path) -> Loaded:
    from reconciler.manifests.loader import load_directory

    result = load_directory(root)
    return Loaded(root=root, manifests=list(result.manifests), findings=list(result.findings))

