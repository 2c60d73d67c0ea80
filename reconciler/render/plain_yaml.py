"""YAML text of plain data (dicts, lists, strings, numbers, booleans, None) exactly as
`yaml.dump(_plain(obj), Dumper=...)` writes it, without PyYAML's general representer.

`plan` renders one diff per action; at 1,000 Rollouts PyYAML's representer (type dispatch and alias
bookkeeping per value) and its resolver (regular expressions per scalar, twice) cost more than
libyaml's emitter itself. Here the node tree is built directly from the data, with the nodes,
tags and styles the safe representer would make, and the resolver's answers are remembered (for
scalars they depend only on the text). Anything that is not plain data (a datetime, a set, an
object) goes through the dumper's own representer, so it comes out, or fails, as it always did.
tests/test_render_plain_yaml.py checks the text against `yaml.dump` on generated data.
"""

from __future__ import annotations

import io
from typing import Mapping

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_INF = float("inf")
_MEMO_LIMIT = 200_000


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


def _node(dumper, data, drop):
    """The node the dumper makes for _plain(data) (minus the keys `drop` names: {key: True} drops
    the key, {key: {...}} applies to the mapping under it). Block styles throughout
    (default_flow_style=False); a string with a line break is a literal block (render/plan.py's
    representer for diffs)."""
    kind = type(data)
    if kind is str:
        return ScalarNode(_STR, data, style="|" if "\n" in data else None)
    if isinstance(data, Mapping):
        items = {str(key): value for key, value in data.items()}
        pairs = []
        for key in sorted(items):
            rule = drop.get(key) if drop else None
            if rule is True:
                continue
            pairs.append((_node(dumper, key, None), _node(dumper, items[key], rule)))
        return MappingNode(_MAP, pairs, flow_style=False)
    if isinstance(data, (list, tuple)):
        return SequenceNode(_SEQ, [_node(dumper, item, None) for item in data], flow_style=False)
    if kind is bool:
        return ScalarNode(_BOOL, "true" if data else "false")
    if kind is int:
        return ScalarNode(_INT, str(data))
    if kind is float:
        return ScalarNode(_FLOAT, _float_text(data))
    if data is None:
        return ScalarNode(_NULL, "null")
    return dumper.represent_data(data)  # not plain: the dumper's own representer (or its error)


def dump_plain(obj, dumper_class, options: dict, drop: dict | None = None) -> str:
    """`yaml.dump(_plain(obj), Dumper=dumper_class, **options)`, minus what `drop` names."""
    stream = io.StringIO()
    dumper = dumper_class(stream, **options)
    try:
        dumper.open()
        dumper.serialize(_node(dumper, obj, drop))
        dumper.close()
    finally:
        dumper.dispose()
    return stream.getvalue()
