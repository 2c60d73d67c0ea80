"""YAML text of plain data (dicts, lists, strings, numbers, booleans, None) exactly as
`yaml.dump(...)` writes it, without PyYAML's general representer.

`plan` renders one diff per action and the embedded cluster writes one file per object; at 1,000
Rollouts PyYAML's representer (type dispatch and alias bookkeeping per value) and its resolver
(regular expressions per scalar, twice) cost more than libyaml's emitter itself. Here the node tree is built directly from the data, with the nodes,
tags and styles the safe representer would make, and the resolver's answers are remembered (for
scalars they depend only on the text). Anything that is not plain data (a datetime, a set, an
object) goes through the dumper's own representer, so it comes out, or fails, as it always did.
tests/test_plain_yaml.py checks the text against `yaml.dump` on generated data.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_INF = float("inf")
_MEMO_LIMIT = 20_000  # the scalars every object repeats; names and versions unique to one object only fill it


def fast_dumper(cls):
    """`cls` (a PyYAML dumper class, changed in place) with the resolver's answer for a scalar
    remembered: the safe resolver has no path resolvers, so it is a function of its arguments."""
    base_resolve = cls.resolve
    memo: dict = {}

    def resolve(self, kind, value, implicit):
        if kind is not ScalarNode:
            return base_resolve(self, kind, value, implicit)
        key = (value, implicit)
        tag = memo.get(key)
        if tag is None:
            tag = base_resolve(self, kind, value, implicit)
            if len(memo) < _MEMO_LIMIT:
                memo[key] = tag
        return tag

    cls.resolve = resolve
    return cls


def _float_text(data: float) -> str:
    # SafeRepresenter.represent_float
    if data != data:
        return ".nan"
    if data == _INF:
        return ".inf"
    if data == -_INF:
        return "-.inf"
    value = repr(data).lower()
    if "." not in value and "e" in value:
        value = value.replace("e", ".0e", 1)
    return value


class _Fallback(Exception):
    """In `as_is` mode: data the representer would write otherwise than _plain(data) (one dict or
    list met twice: an anchor and an alias; a key that is not a string; a tuple or another mapping
    type, which the safe representer refuses)."""


def _node(dumper, data, drop, style):
    """The node the dumper makes for _plain(data) (minus the keys `drop` names: {key: True} drops
    the key, {key: {...}} applies to the mapping under it). Block styles throughout
    (default_flow_style=False). `style`: (sort_keys, literal block for a string with a line break
    (render/plan.py's representer for diffs), in `as_is` mode the ids of the dicts and lists met so far)."""
    kind = type(data)
    if kind is str:
        return ScalarNode(_STR, data, style="|" if style[1] and "\n" in data else None)
    if isinstance(data, Mapping):
        if style[2] is not None:
            if kind is not dict or id(data) in style[2] or any(type(key) is not str for key in data):
                raise _Fallback()
            style[2].add(id(data))
        items = {str(key): value for key, value in data.items()}
        pairs = []
        for key in (sorted(items) if style[0] else items):
            rule = drop.get(key) if drop else None
            if rule is True:
                continue
            pairs.append((_node(dumper, key, None, style), _node(dumper, items[key], rule, style)))
        return MappingNode(_MAP, pairs, flow_style=False)
    if isinstance(data, (list, tuple)):
        if style[2] is not None:
            if kind is not list or id(data) in style[2]:
                raise _Fallback()
            style[2].add(id(data))
        return SequenceNode(_SEQ, [_node(dumper, item, None, style) for item in data], flow_style=False)
    if kind is bool:
        return ScalarNode(_BOOL, "true" if data else "false")
    if kind is int:
        return ScalarNode(_INT, str(data))
    if kind is float:
        return ScalarNode(_FLOAT, _float_text(data))
    if data is None:
        return ScalarNode(_NULL, "null")
    return dumper.represent_data(data)  # not plain: the dumper's own representer (or its error)


def dump_plain(obj, dumper_class, options: dict, drop: dict | None = None, *, literal_blocks: bool = True, as_is: bool = False) -> str:
    """`yaml.dump(_plain(obj), Dumper=dumper_class, **options)`, minus what `drop` names.
    `literal_blocks`: the dumper writes a string with a line break as a literal block.
    `as_is`: `yaml.dump(obj, ...)` instead (no _plain copy): a dict or list met twice makes the
    representer write an anchor and an alias, so such data is left to it."""
    seen: set[int] | None = set() if as_is else None
    stream = io.StringIO()
    dumper = dumper_class(stream, **options)
    try:
        try:
            node = _node(dumper, obj, drop, (options.get("sort_keys", True), literal_blocks, seen))
        except _Fallback:
            node = None
        if node is None:
            import yaml

            return yaml.dump(obj, Dumper=dumper_class, **options)
        dumper.open()
        dumper.serialize(node)
        dumper.close()
    finally:
        dumper.dispose()
    return stream.getvalue()
