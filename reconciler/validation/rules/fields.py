"""Fields the reconciler does not act on (reconciler/fields.py): a warning at the field's line naming
it and what the reconciler does instead, once per field per manifest. `--strict` makes them errors
(reconciler/validation/__init__.py `strict`)."""

from __future__ import annotations

from reconciler import fields
from reconciler.findings import Finding, Severity
from reconciler.manifests.model import Manifest

RULE = "field-not-implemented"


def check(manifest: Manifest, ctx) -> list[Finding]:
    out: list[Finding] = []
    for entry, path in fields.set_fields(manifest.kind, manifest.obj):
        if entry.reported_by:
            continue  # its own rule says it (the traffic-router warning, the analysis-provider error)
        out.append(manifest.finding(
            path, f"the reconciler does not act on this field: {entry.text.removeprefix('not read: ')}",
            hint="remove it, or accept what the reconciler does instead (`reconciler fields` lists every field; --strict makes this an error)",
            rule=RULE, severity=Severity.WARNING,
        ))
    return out
