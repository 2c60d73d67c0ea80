"""Strict schema validation of the kinds we have schemas for (generated into reconciler/schemas/).

Two validators per kind, each built once per process:
- jsonschema-rs (Rust, Draft 7) answers valid / invalid: ~3 µs per Rollout against ~360 µs for
  Python's jsonschema, and it compiles the Rollout schema in ~4 ms (fastjsonschema needs ~1 s,
  which a CronJob would pay every tick, and also only says valid / invalid);
- jsonschema (Python) runs only on the objects the fast path calls invalid (or cannot read, e.g.
  a non-string key), and reports every error with its path, which the findings are made from.
Formats are not checked by either (the schemas have none; Python's jsonschema ignores `format`
without a format checker), so both judge by the same keywords. Where the engines could differ
(regex `$` before a trailing newline) the fast path is the stricter one, which only costs time:
its "invalid" is re-checked, its "valid" is final.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from reconciler.findings import Finding
from reconciler.kinds import foreign_group
from reconciler.manifests.model import Manifest
from reconciler.plain_data import data_kind
from reconciler.suggest import did_you_mean

SCHEMA_FILES = {
    "Rollout": "rollout.json",
    "AnalysisTemplate": "analysistemplate.json",
    "ClusterAnalysisTemplate": "clusteranalysistemplate.json",
    "AnalysisRun": "analysisrun.json",
    "Experiment": "experiment.json",
    "VirtualService": "virtualservice.json",
    "DestinationRule": "destinationrule.json",
}


@cache
def load_schema(kind: str) -> dict | None:
    name = SCHEMA_FILES.get(kind)
    if name is None:
        return None
    text = resources.files("reconciler").joinpath("schemas", name).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _validator(kind: str):
    schema = load_schema(kind)
    if schema is None:
        return None
    from jsonschema import Draft7Validator

    return Draft7Validator(schema)


@cache
def _fast_validator(kind: str):
    """jsonschema-rs for `kind`, or None when it is not installed (then every object takes the slow path)."""
    schema = load_schema(kind)
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - it is a declared dependency
        return None
    return jsonschema_rs.validator_for(schema, validate_formats=False)


def _surely_valid(kind: str, obj) -> bool:
    fast = _fast_validator(kind)
    if fast is None:
        return False
    try:
        return fast.is_valid(obj)
    except (ValueError, TypeError, OverflowError):  # e.g. a non-string key: let jsonschema say what is wrong
        return False


def schema_findings(manifest: Manifest) -> list[Finding]:
    kind = manifest.kind
    if foreign_group(kind, manifest.api_version):
        return []  # another group's kind of the same name (App Mesh's VirtualService): not ours to check
    schema = load_schema(kind)
    if schema is None:
        return []
    findings: list[Finding] = []
    served = schema.get("x-api-versions", [])
    if served and manifest.api_version not in served:
        findings.append(
            manifest.finding(
                ("apiVersion",),
                f"apiVersion {manifest.api_version!r} does not serve kind {kind}",
                hint=f"use {' or '.join(served)}",
                rule="api-version",
            )
        )
        return findings
    if _surely_valid(kind, manifest.obj):
        return findings
    for error in _validator(kind).iter_errors(manifest.obj):
        findings.extend(_to_findings(manifest, error))
    return findings


_REQUIRED_HINTS = {
    "activeService": "name the Service that sends traffic to the live version; blue-green switches its selector "
    "(the seed's InvalidSpec: a blue-green Rollout without it never creates pods)",
}


# The JSON-schema words for a value's kind, in "is a <kind>, expected <type>".
_KIND_WORDS = {"float": "number"}


def _type_name(value) -> str:
    kind = data_kind(value)
    return _KIND_WORDS.get(kind, kind)


def _short(value) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _to_findings(manifest: Manifest, error) -> list[Finding]:
    path = tuple(error.absolute_path)
    validator, schema, instance = error.validator, error.schema, error.instance
    if validator == "additionalProperties" and isinstance(instance, dict):
        known = list((schema.get("properties") or {}).keys())
        out = []
        for key in instance:
            if key in known:
                continue
            hint = did_you_mean(str(key), known)
            if not hint:
                hint = "remove it; Kubernetes would silently drop it" + (f" (allowed: {', '.join(sorted(known)[:12])}{', …' if len(known) > 12 else ''})" if known else "")
            else:
                hint += " Kubernetes would silently drop the misspelt field"
            out.append(manifest.finding((*path, key), f"unknown field `{key}`", hint=hint, rule="unknown-field"))
        return out
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        hint = _REQUIRED_HINTS.get(missing, f"add `{missing}`")
        return [manifest.finding(path, f"`{missing}` is required here", hint=hint, rule="required")]
    if validator == "type":
        expected = schema.get("type")
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return [
            manifest.finding(
                path,
                f"{_short(instance)} is a {_type_name(instance)}, expected {expected}",
                hint="write a number without quotes" if expected in ("integer", "number") and isinstance(instance, str) else f"write a {expected} here",
                rule="type",
            )
        ]
    if validator in ("anyOf", "oneOf") and schema.get("x-kubernetes-int-or-string"):
        return [manifest.finding(path, f"{_short(instance)} must be an integer or a string", rule="type")]
    if validator == "enum":
        allowed = ", ".join(map(str, schema.get("enum", [])))
        return [manifest.finding(path, f"{_short(instance)} is not one of the allowed values", hint=f"use one of: {allowed}", rule="enum")]
    if validator == "pattern":
        hint = "a quantity looks like 500m, 1, 1.5, 128Mi or 2Gi" if "KMGTPE" in schema.get("pattern", "") else f"it must match {schema.get('pattern')}"
        return [manifest.finding(path, f"{_short(instance)} is not in the expected format", hint=hint, rule="format")]
    if validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "minLength", "maxLength"):
        return [manifest.finding(path, f"{_short(instance)}: {error.message.split(' is ', 1)[-1] if ' is ' in error.message else error.message}", rule="range")]
    return [manifest.finding(path, error.message, rule="schema")]
