"""A Secret's values never leave the process: what a diff, a plan or a run's JSON shows of a Secret
has every value of `data` / `stringData` replaced by a marker that only says whether it changed.

    secret_as_stored(secret) -> secret        stringData folded into data (base64), as the API server stores it
    redacted(before, after) -> (before, after) copies safe to print (non-Secrets come back as they are)
"""

from __future__ import annotations

import base64
import copy

_VALUE_FIELDS = ("data", "stringData", "binaryData")
HIDDEN = "<redacted>"
OLD, NEW = "<redacted old value>", "<redacted new value>"  # a value that changed, on each side of a diff


def secret_as_stored(secret: dict) -> dict:
    """`stringData` merged into `data` as the API server does (its values win), so the object the
    reconciler applies and compares is the one the cluster keeps: no drift reported every run."""
    string_data = secret.get("stringData")
    if not isinstance(string_data, dict):
        return secret
    out = {k: v for k, v in secret.items() if k != "stringData"}
    data = dict(out.get("data") or {})
    for key, value in string_data.items():
        data[str(key)] = base64.b64encode(str("" if value is None else value).encode()).decode()
    out["data"] = data
    return out


def _is_secret(obj) -> bool:
    return isinstance(obj, dict) and obj.get("kind") == "Secret"


def redacted(before: dict | None, after: dict | None) -> tuple[dict | None, dict | None]:
    """Copies of a Secret's two sides with every value hidden; a value that differs between them is
    marked old / new on its two sides (so a diff still shows which key changed, never from what or to what)."""
    if not _is_secret(before) and not _is_secret(after):
        return before, after
    old, new = copy.deepcopy(before), copy.deepcopy(after)
    for field in _VALUE_FIELDS:
        old_values, new_values = _values(old, field), _values(new, field)
        for side, values, other, changed in ((old, old_values, new_values, OLD), (new, new_values, old_values, NEW)):
            if side is None or field not in side:
                continue
            if not isinstance(side[field], dict):
                side[field] = HIDDEN
                continue
            compared = old is not None and new is not None  # a creation or a deletion changes nothing "from" anything
            side[field] = {key: (changed if compared and other.get(key) != value else HIDDEN) for key, value in values.items()}
    for side in (old, new):  # the applied-hash annotation is a digest of the values: not shown either
        annotations = ((side or {}).get("metadata") or {}).get("annotations")
        if isinstance(annotations, dict):
            for key in annotations:
                if key.endswith("/applied-hash"):
                    annotations[key] = HIDDEN
    return old, new


def _values(obj: dict | None, field: str) -> dict:
    value = (obj or {}).get(field)
    return value if isinstance(value, dict) else {}
