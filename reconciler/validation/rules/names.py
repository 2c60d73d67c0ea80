"""Names, namespaces and the shape of every object: what the API server would refuse, refused here.

A name or namespace becomes a path in the embedded cluster and a key everywhere else, so one that
is not what Kubernetes accepts (`../../outside`, `/`, 300 characters, `yes` read as a boolean) is
an error at its line, and the object is skipped; the others still progress.

- metadata.name: a DNS-1123 subdomain (lower-case alphanumerics, '-', '.', at most 253
  characters); Services and Namespaces a DNS-1123 label (at most 63, no '.').
- metadata.namespace: a DNS-1123 label.
- metadata, spec, metadata.labels / annotations, ConfigMap data: mappings of the right types, for
  every kind, including those without a schema (Service, ConfigMap).
"""

from __future__ import annotations

import re

from reconciler.findings import Finding
from reconciler.manifests.model import Manifest
from reconciler.plain_data import data_kind

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN_PART = _LABEL
LABEL_MAX, SUBDOMAIN_MAX = 63, 253
_LABEL_NAME_KINDS = {"Service", "Namespace"}  # names that become DNS labels
_YAML11 = {True: "the boolean true (YAML 1.1 reads yes, on and true so)", False: "the boolean false (YAML 1.1 reads no, off and false so)"}


def is_label(value: str) -> bool:
    return len(value) <= LABEL_MAX and bool(_LABEL.match(value))


def is_subdomain(value: str) -> bool:
    return 0 < len(value) <= SUBDOMAIN_MAX and all(_SUBDOMAIN_PART.match(part) for part in value.split("."))


# How a finding names a value's kind ("metadata is a list, expected a mapping").
_KIND_WORDS = {"null": "empty (null)", "integer": "a number", "float": "a number", "string": "a str"}


def _type_name(value) -> str:
    kind = data_kind(value)
    return _KIND_WORDS.get(kind, f"a {kind}")


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _identifier(manifest: Manifest, field: str, value, *, label: bool) -> Finding | None:
    path = ("metadata", field)
    what = "a DNS-1123 label" if label else "a DNS-1123 subdomain"
    rules = ("lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
             if label else "lower-case letters, digits, '-' and '.', each part starting and ending with a letter or digit, "
             "at most 253 characters")
    if isinstance(value, bool) or value is None:
        read = _YAML11[value] if isinstance(value, bool) else "null (YAML also reads ~, null and an empty value so)"
        return manifest.finding(path, f"{field} is {read}, not a string",
                                hint=f"quote it (e.g. {field}: \"yes\") if you meant the word; a {field} must be {what}: {rules}",
                                rule="name")
    if not isinstance(value, str):
        return manifest.finding(path, f"{field} is {_type_name(value)}, expected a string", hint=f"write {what}: {rules}", rule="name")
    valid = is_label(value) if label else is_subdomain(value)
    if valid:
        return None
    if not value:
        problem = "is empty"
    elif len(value) > (LABEL_MAX if label else SUBDOMAIN_MAX):
        problem = f"is {len(value)} characters long"
    elif "/" in value or "\\" in value or value in (".", ".."):
        problem = "contains a path separator or is a path component"
    else:
        problem = "has characters or a form Kubernetes does not accept"
    hint = f"a {field} must be {what}: {rules}"
    lowered = re.sub(r"[^a-z0-9.-]+", "-", value.lower()).strip("-.")
    if "/" not in value and "\\" not in value and lowered and lowered != value and (is_label(lowered) if label else is_subdomain(lowered)):
        hint = f"did you mean {lowered!r}? " + hint
    return manifest.finding(path, f"{field} {_shown(value)} {problem}; it is not {what}", hint=hint, rule="name")


def _string_map(manifest: Manifest, path: tuple, value, what: str) -> list[Finding]:
    if value is None:
        return []
    if not isinstance(value, dict):
        return [manifest.finding(path, f"{what} is {_type_name(value)}, expected a mapping of strings", hint="write key: \"value\" pairs", rule="shape")]
    out = []
    for key, item in value.items():
        if not isinstance(key, str):
            out.append(manifest.finding(path, f"{what} key {key!r} is {_type_name(key)}, expected a string", hint="quote the key", rule="shape"))
        elif not isinstance(item, str):
            out.append(manifest.finding((*path, key), f"{what} value is {_type_name(item)}, expected a string",
                                        hint=f"quote it: {key}: \"{item}\" (Kubernetes only takes strings here)", rule="shape"))
    return out


def check(manifest: Manifest, ctx=None) -> list[Finding]:
    obj = manifest.obj
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return [manifest.finding(("metadata",), f"metadata is {_type_name(metadata)}, expected a mapping",
                                 hint="write metadata: with name: (and namespace:) under it", rule="shape")]
    findings: list[Finding] = []
    kind = manifest.kind  # text whatever YAML made of it (`kind: [Rollout]` is reported as an unknown kind)
    found = _identifier(manifest, "name", metadata.get("name"), label=kind in _LABEL_NAME_KINDS)
    if found:
        findings.append(found)
    if "namespace" in metadata:
        found = _identifier(manifest, "namespace", metadata.get("namespace"), label=True)
        if found:
            findings.append(found)
    findings += _string_map(manifest, ("metadata", "labels"), metadata.get("labels"), "a label")
    findings += _string_map(manifest, ("metadata", "annotations"), metadata.get("annotations"), "an annotation")
    if "spec" in obj and not isinstance(obj.get("spec"), dict):
        findings.append(manifest.finding(("spec",), f"spec is {_type_name(obj.get('spec'))}, expected a mapping",
                                         hint=f"see the {kind} reference for the fields under spec:", rule="shape"))
    if kind in ("ConfigMap", "Secret"):
        findings += _string_map(manifest, ("data",), obj.get("data"), "a data entry")
    return findings


def checked_paths() -> tuple[str, ...]:
    """Field paths this rule owns: a schema finding at one of them says the same thing less helpfully."""
    return ("metadata", "metadata.name", "metadata.namespace", "spec")
