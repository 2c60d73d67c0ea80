"""Parsed YAML (ruamel's CommentedMap/CommentedSeq, tuples) as plain data: dicts with string keys,
lists and scalars, which is what the cluster takes, the hash is computed over and the recorded state
holds. The one home of this conversion (it was written five times)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
