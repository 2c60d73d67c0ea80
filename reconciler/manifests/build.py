"""Plain dicts and lists straight from a document's nodes, as PyYAML's SafeConstructor would make
them, without its per-node overhead; anything unusual (explicit tags, merge keys, unhashable keys)
raises `Unusual` and is left to PyYAML's own constructor. Integer literals no Kubernetes field can
hold raise `HugeInteger`."""

from __future__ import annotations

import sys

from reconciler.findings import Finding
from reconciler.manifests.yaml_nodes import path_to, pyyaml
from reconciler.plain_data import SHARED_TEXT_MAX

MAX_INT_LITERAL = 40  # characters: int64 needs 20 digits; past Python's 4300-digit limit int() raises


class HugeInteger(Exception):
    """An integer literal no Kubernetes field can hold."""

    def __init__(self, node):
        super().__init__(node.value[:20])
        self.node = node



def huge_integer_finding(rel: str, document, node) -> Finding:
    from reconciler.manifests.model import format_path

    path = path_to(document, node) or ()
    digits = len(node.value.lstrip("+-"))
    return Finding(file=rel, line=node.start_mark.line + 1, col=node.start_mark.column + 1, path=format_path(path),
                   message=f"integer literal of {digits} characters is out of range for any Kubernetes field; the object is not read",
                   hint="Kubernetes counts are 32-bit (at most 2147483647) and durations 64-bit; write the number you mean",
                   rule="integer-range")


class Unusual(Exception):
    """A node `build_plain` leaves to PyYAML's constructor (explicit tags, merge keys, unhashable keys)."""


_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT = (_TAG + t for t in ("str", "null", "bool", "int", "float"))
_MAP, _SEQ, _MERGE = _TAG + "map", _TAG + "seq", _TAG + "merge"
_ScalarNode = _MappingNode = _SequenceNode = None  # PyYAML's node classes, bound on first load


def scalar_builders(loader):
    """tag -> function(node) for the scalar tags manifests use; the values are PyYAML's own."""
    global _ScalarNode, _MappingNode, _SequenceNode
    yaml = pyyaml()
    _ScalarNode, _MappingNode, _SequenceNode = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode
    bool_values = loader.bool_values
    construct_int = loader.construct_yaml_int  # signs, 0x / 0b / octal 017, 1_000, sexagesimal 1:30
    def build_int(node):
        if len(node.value) > MAX_INT_LITERAL:
            raise HugeInteger(node)
        return int(node.value) if node.value.isdigit() and node.value[0] != "0" else construct_int(node)

    return {
        _STR: _shared_text,
        _NULL: lambda node: None,
        _BOOL: lambda node: bool_values[node.value.lower()],
        _INT: build_int,
        _FLOAT: loader.construct_yaml_float,
    }




def _shared_text(node) -> str:
    """A string scalar; a short one is interned, so the keys and values every manifest repeats
    (`metadata`, `name`, `http`, ...) are held once, not once per document (a tenth of the memory
    of a 10,000-Rollout run)."""
    value = node.value
    return sys.intern(value) if len(value) <= SHARED_TEXT_MAX else value


def build_plain(node, scalars: dict, duplicates: list):
    """The value of an alias-free node, as SafeConstructor would make it; appends to `duplicates`
    when a mapping repeats a key (the caller then locates them on the node tree)."""
    cls = node.__class__
    if cls is _ScalarNode:
        build = scalars.get(node.tag)
        if build is None:
            raise Unusual(node.tag)
        return build(node)
    if cls is _MappingNode:
        if node.tag != _MAP:
            raise Unusual(node.tag)
        out: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                raise Unusual("merge key")
            key = build_plain(key_node, scalars, duplicates)
            if key.__class__ in (dict, list):
                raise Unusual("unhashable key")  # PyYAML's constructor reports it
            if key in out:
                duplicates.append(key)
            out[key] = build_plain(value_node, scalars, duplicates)
        return out
    if cls is _SequenceNode:
        if node.tag != _SEQ:
            raise Unusual(node.tag)
        return [build_plain(item, scalars, duplicates) for item in node.value]
    raise Unusual(cls.__name__)

