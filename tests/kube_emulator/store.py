"""The emulator's object store and the pure pieces of API-server behaviour it needs:
label selectors, JSON merge patch (RFC 7386), JSON patch (RFC 6902), resourceVersion bookkeeping.

Strategic merge patch is approximated by JSON merge patch (lists are replaced, not merged by key):
enough for the reconciler, which never sends strategic patches, and for tests that do by hand.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Mapping
from typing import Any


class PatchError(ValueError):
    """A patch that cannot be applied (RFC 6902 path missing, failed test op, malformed body)."""


# -- label selectors ------------------------------------------------------------------------------

_SET_RE = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_selector(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_selector(text: str | None):
    """A label selector string (as kubectl sends it) -> a predicate on a labels dict."""
    if not text:
        return lambda labels: True
    tests = []
    for term in _split_selector(text):
        match = _SET_RE.match(term)
        if match:
            key, op, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",") if v.strip()}
            if op == "in":
                tests.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                tests.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        elif "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            tests.append(lambda labels, k=key, v=value: labels.get(k) != v)
        elif "=" in term:
            key, value = (s.strip() for s in term.replace("==", "=").split("=", 1))
            tests.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif term.startswith("!"):
            tests.append(lambda labels, k=term[1:].strip(): k not in labels)  # noqa: B008 -- binds the term now, on purpose
        else:
            tests.append(lambda labels, k=term: k in labels)
    return lambda labels: all(test(labels) for test in tests)


# -- patches ---------------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"JSON pointer {path!r} must start with /")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, tokens: list[str]) -> tuple[Any, str]:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, list):
            try:
                node = node[int(token)]
            except (ValueError, IndexError):
                raise PatchError(f"path segment {token!r} is not an index of the list") from None
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise PatchError(f"path segment {token!r} does not exist")
    return node, tokens[-1]


def _get(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        return doc
    parent, last = _parent(doc, tokens)
    try:
        return parent[int(last)] if isinstance(parent, list) else parent[last]
    except (KeyError, ValueError, IndexError, TypeError):
        raise PatchError(f"path {'/' + '/'.join(tokens)!r} does not exist") from None


def _remove(doc: Any, tokens: list[str]) -> Any:
    parent, last = _parent(doc, tokens)
    try:
        return parent.pop(int(last)) if isinstance(parent, list) else parent.pop(last)
    except (KeyError, ValueError, IndexError):
        raise PatchError(f"path {'/' + '/'.join(tokens)!r} does not exist") from None


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent, last = _parent(doc, tokens)
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if index > len(parent):
            raise PatchError(f"index {index} is past the end of the list")
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise PatchError(f"cannot add under a {type(parent).__name__}")
    return doc


def json_patch(doc: Any, operations: Any) -> Any:
    """RFC 6902 on a deep copy: add, remove, replace, move, copy, test."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch is a list of operations")
    doc = copy.deepcopy(doc)
    for op in operations:
        if not isinstance(op, Mapping) or "op" not in op or "path" not in op:
            raise PatchError(f"malformed operation {op!r}")
        kind, tokens = op["op"], _pointer(op["path"])
        if kind == "add":
            doc = _add(doc, tokens, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, tokens)
        elif kind == "replace":
            _get(doc, tokens)
            if not tokens:
                doc = copy.deepcopy(op.get("value"))
            else:
                parent, last = _parent(doc, tokens)
                parent[int(last) if isinstance(parent, list) else last] = copy.deepcopy(op.get("value"))
        elif kind in ("move", "copy"):
            source = _pointer(op.get("from", ""))
            value = _remove(doc, source) if kind == "move" else copy.deepcopy(_get(doc, source))
            doc = _add(doc, tokens, value)
        elif kind == "test":
            if _get(doc, tokens) != op.get("value"):
                raise PatchError(f"test failed at {op['path']!r}")
        else:
            raise PatchError(f"unknown operation {kind!r}")
    return doc


# -- the store ----------------------------------------------------------------------------------------


class Store:
    """Objects keyed by (kind, namespace-or-None, name), each a plain dict in stored form."""

    def __init__(self):
        self.objects: dict[tuple[str, str | None, str], dict] = {}
        self.resource_version = 0

    def next_version(self) -> str:
        self.resource_version += 1
        return str(self.resource_version)

    def get(self, kind: str, namespace: str | None, name: str) -> dict | None:
        obj = self.objects.get((kind, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def list(self, kind: str, namespace: str | None) -> list[dict]:
        return [
            copy.deepcopy(obj)
            for (k, ns, _), obj in sorted(self.objects.items(), key=lambda item: (item[0][1] or "", item[0][2]))
            if k == kind and (namespace is None or ns == namespace)
        ]

    def put(self, obj: dict, *, previous: dict | None, now_text: str) -> dict:
        """Store obj as a new version: resourceVersion, uid, creationTimestamp, generation."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        old_meta = (previous or {}).get("metadata") or {}
        meta["resourceVersion"] = self.next_version()
        meta["uid"] = old_meta.get("uid") or str(uuid.uuid4())
        meta["creationTimestamp"] = old_meta.get("creationTimestamp") or now_text
        generation = int(old_meta.get("generation") or 0)
        if previous is None:
            generation = 1
        elif previous.get("spec") != obj.get("spec"):
            generation += 1
        meta["generation"] = generation
        key = (obj["kind"], meta.get("namespace"), meta["name"])
        self.objects[key] = obj
        return copy.deepcopy(obj)

    def remove(self, kind: str, namespace: str | None, name: str) -> dict | None:
        return self.objects.pop((kind, namespace, name), None)
