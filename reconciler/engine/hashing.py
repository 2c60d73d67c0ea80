"""The pod-template hash: names a revision, stable across runs and machines.

Like Argo (and Kubernetes Deployments) it is an FNV-1a 32-bit hash of the template, rendered with
the "safe" alphabet Kubernetes uses for generated names (no vowels, no look-alike digits), so it
looks like `598c9cf7c8`. We hash canonical JSON (sorted keys) of the template without the
`rollouts-pod-template-hash` label, so YAML formatting or key order never changes a revision.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from reconciler import POD_TEMPLATE_HASH_LABEL
from reconciler.plain_data import plain as _plain

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193



def fnv1a_32(data: bytes) -> int:
    h = _FNV_OFFSET
    for byte in data:
        h ^= byte
        h = (h * _FNV_PRIME) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    return "".join(_SAFE_ALPHABET[ord(ch) % len(_SAFE_ALPHABET)] for ch in text)


def canonical_template(template: Mapping[str, Any] | None) -> dict[str, Any]:
    """The template as hashed: plain dicts, without our hash label and server-set fields."""
    plain: dict[str, Any] = _plain(template or {})
    metadata = plain.get("metadata")
    if isinstance(metadata, dict):
        labels = metadata.get("labels")
        if isinstance(labels, dict):
            labels.pop(POD_TEMPLATE_HASH_LABEL, None)
            if not labels:
                metadata.pop("labels")
        metadata.pop("creationTimestamp", None)
        if not metadata:
            plain.pop("metadata")
    return plain


def pod_template_hash(template: Mapping[str, Any] | None, collision_count: int = 0) -> str:
    text = json.dumps(canonical_template(template), sort_keys=True, separators=(",", ":"))
    if collision_count:
        text += f"#{collision_count}"
    return safe_encode(str(fnv1a_32(text.encode("utf-8"))))


def short_hash(text: str, length: int = 5) -> str:
    """A deterministic suffix (pod names): `length` safe characters derived from `text`."""
    out, seed = "", text
    while len(out) < length:
        value = fnv1a_32(seed.encode("utf-8"))
        out += "".join(_SAFE_ALPHABET[(value >> shift) % len(_SAFE_ALPHABET)] for shift in (0, 5, 10, 15, 20, 25))
        seed += "+"
    return out[:length]


def rs_hash(rs: Mapping[str, Any]) -> str:
    """A ReplicaSet's pod-template hash: its label, else the suffix of its name."""
    meta = rs.get("metadata") or {}
    return cast(str, (meta.get("labels") or {}).get(POD_TEMPLATE_HASH_LABEL) or str(meta.get("name", "")).rsplit("-", 1)[-1])
