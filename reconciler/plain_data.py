"""Parsed YAML (ruamel's CommentedMap/CommentedSeq, tuples) as plain data: dicts with string keys,
lists and scalars, which is what the cluster takes, the hash is computed over and the recorded state
holds. The one home of this conversion (it was written five times), and of the checks the parse
caches make before keeping parsed data as JSON (`json_clean`, `digest`), and of naming a value's
kind in messages (`data_kind`; each caller words it its own way)."""

from __future__ import annotations

import sys
from collections.abc import Mapping

try:  # hashlib would load OpenSSL's bindings too (13 ms of a warm `validate`); BLAKE2 is built in
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - an interpreter built without it
    from hashlib import blake2b
from typing import Any


def plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


SHARED_TEXT_MAX = 64  # strings up to this long are interned by `shared_strings` (and the source loader)


def shared_strings(value: Any) -> Any:
    """`value` (parsed JSON) with its keys and short strings interned. json.loads shares the keys
    only within one call: ten thousand recorded states each held their own copy of every key
    (about 40 MiB of a 10,000-Rollout run)."""
    kind = type(value)
    if kind is dict:
        return {sys.intern(k) if type(k) is str else k: shared_strings(v) for k, v in value.items()}
    if kind is list:
        return [shared_strings(v) for v in value]
    if kind is str and len(value) <= SHARED_TEXT_MAX:
        return sys.intern(value)
    return value


_DATA_KINDS: tuple[tuple[type, str], ...] = ((bool, "boolean"), (int, "integer"), (float, "float"), (str, "string"), (list, "list"), (dict, "mapping"))


def data_kind(value: Any) -> str:
    """What a plain-data value is: "null", "boolean", "integer", "float", "string", "list", "mapping",
    or the name of its Python type (e.g. "tuple")."""
    if value is None:
        return "null"
    for kind, name in _DATA_KINDS:  # bool before int: True is an int to Python
        if isinstance(value, kind):
            return name
    return type(value).__name__


def digest(data: bytes) -> str:
    """The BLAKE2b digest (128 bits, hex) the parse caches key file contents by."""
    return blake2b(data, digest_size=16).hexdigest()


def json_clean(value, *, unshared: bool = False) -> bool:
    """True when `value` comes back from JSON exactly as it is (dicts with string keys, lists,
    strings, ints, finite floats, booleans, None). `unshared`: and no dict or list appears twice
    (a YAML alias makes one object of two places; JSON would make two)."""
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict or kind is list:
            if unshared:
                if id(item) in seen:
                    return False
                seen.add(id(item))
            if kind is dict:
                for key, inner in item.items():
                    if type(key) is not str:
                        return False
                    stack.append(inner)
            else:
                stack.extend(item)
        elif kind is float:
            if item != item or item in (float("inf"), float("-inf")):
                return False
        elif kind not in (str, int, bool, type(None)):
            return False
    return True
