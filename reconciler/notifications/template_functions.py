"""The functions a notification template may call: Go's text/template builtins and the sprig
functions Argo's catalogue uses, each over the Go values of template_values."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

from reconciler.notifications.template_values import (
    NO_VALUE,
    TemplateError,
    go_string,
    go_type,
    number,
    plain,
    to_int,
    truthy,
)


def _compare_values(a, b) -> int:
    a, b = plain(a), plain(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return (a > b) - (a < b)
    if isinstance(a, str) and isinstance(b, str):
        return (a > b) - (a < b)
    raise TemplateError(f"incompatible types for comparison: {go_type(a)} and {go_type(b)}")


def _eq(a, *others) -> bool:
    if not others:
        raise TemplateError("missing argument for comparison")
    a = plain(a)
    for b in others:
        b = plain(b)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
            if a == b:
                return True
        elif a == b and type(a) is type(b):
            return True
        elif a is None or b is None:
            continue
    return False


def _and(*args):
    if not args:
        raise TemplateError("and needs arguments")
    for value in args:
        if not truthy(value):
            return value
    return args[-1]


def _or(*args):
    if not args:
        raise TemplateError("or needs arguments")
    for value in args:
        if truthy(value):
            return value
    return args[-1]


def _len(value) -> int:
    value = plain(value)
    if isinstance(value, (str, list, tuple, dict)):
        return len(value)
    raise TemplateError(f"len of {go_type(value) if value is not None else 'nil'}")


def _index(value, *keys):
    value = plain(value)
    for key in keys:
        key = plain(key)
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, (list, tuple, str)):
            if not isinstance(key, int) or not 0 <= key < len(value):
                raise TemplateError(f"index out of range: {key}")
            value = value[key]
        else:
            raise TemplateError(f"can't index item of type {go_type(value)}")
    return value


_VERB = re.compile(r"%([-+# 0]*\d*(?:\.\d+)?)([vsdqftxXgeT%])")


def _printf(fmt, *args) -> str:
    pending = list(args)

    def one(m: re.Match) -> str:
        flags, verb = m.group(1), m.group(2)
        if verb == "%":
            return "%"
        if not pending:
            return f"%!{verb}(MISSING)"
        value = plain(pending.pop(0))
        if verb in ("v", "s"):
            return ("%" + flags + "s") % go_string(value)
        if verb == "q":
            return json.dumps(go_string(value))
        if verb == "d":
            return ("%" + flags + "d") % to_int(value)
        if verb in ("f", "g", "e"):
            return ("%" + flags + verb) % float(number(value))
        if verb in ("x", "X"):
            return ("%" + flags + verb) % to_int(value) if isinstance(value, (int, float)) else go_string(value).encode().hex()
        if verb == "t":
            return go_string(bool(truthy(value)))
        return go_type(value)

    return _VERB.sub(one, go_string(fmt))


def _print(*args) -> str:
    # Go's fmt.Sprint adds spaces between operands when neither is a string
    out = ""
    for i, value in enumerate(args):
        if i and not isinstance(plain(args[i - 1]), str) and not isinstance(plain(value), str):
            out += " "
        out += go_string(value)
    return out


def _default(default, value=NO_VALUE):
    return value if truthy(value) else default


def _to_json(value) -> str:
    return json.dumps(plain(value), separators=(",", ":"), sort_keys=True, default=str)


def _trunc(length, value) -> str:
    text, length = go_string(value), to_int(length)
    return text[:length] if length >= 0 else text[length:]


def _dict(*pairs) -> dict:
    return {go_string(pairs[i]): plain(pairs[i + 1]) if i + 1 < len(pairs) else "" for i in range(0, len(pairs), 2)}


def _div(a, b):
    a, b = to_int(a), to_int(b)
    if b == 0:
        raise TemplateError("division by zero")
    return int(a / b)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    # Go's text/template builtins
    "and": _and,
    "or": _or,
    "not": lambda value: not truthy(value),
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "lt": lambda a, b: _compare_values(a, b) < 0,
    "le": lambda a, b: _compare_values(a, b) <= 0,
    "gt": lambda a, b: _compare_values(a, b) > 0,
    "ge": lambda a, b: _compare_values(a, b) >= 0,
    "len": _len,
    "index": _index,
    "print": _print,
    "printf": _printf,
    "println": lambda *args: " ".join(go_string(a) for a in args) + "\n",
    # sprig
    "quote": lambda *args: " ".join(json.dumps(go_string(a)) for a in args if plain(a) is not None),
    "squote": lambda *args: " ".join(f"'{go_string(a)}'" for a in args if plain(a) is not None),
    "upper": lambda s: go_string(s).upper(),
    "lower": lambda s: go_string(s).lower(),
    "title": lambda s: go_string(s).title(),
    "trim": lambda s: go_string(s).strip(),
    "trimPrefix": lambda prefix, s: go_string(s).removeprefix(go_string(prefix)),
    "trimSuffix": lambda suffix, s: go_string(s).removesuffix(go_string(suffix)),
    "replace": lambda old, new, s: go_string(s).replace(go_string(old), go_string(new)),
    "contains": lambda sub, s: go_string(sub) in go_string(s),
    "hasPrefix": lambda prefix, s: go_string(s).startswith(go_string(prefix)),
    "hasSuffix": lambda suffix, s: go_string(s).endswith(go_string(suffix)),
    "default": _default,
    "empty": lambda value=NO_VALUE: not truthy(value),
    "coalesce": lambda *args: next((a for a in args if truthy(a)), None),
    "toJson": _to_json,
    "toPrettyJson": lambda value: json.dumps(plain(value), indent=2, sort_keys=True, default=str),
    "toString": go_string,
    "toStrings": lambda value: [go_string(v) for v in (plain(value) or [])],
    "join": lambda sep, items: go_string(sep).join(go_string(v) for v in (plain(items) or [])),
    "split": lambda sep, s: {f"_{i}": part for i, part in enumerate(go_string(s).split(go_string(sep)))},
    "add": lambda *args: sum(to_int(a) for a in args),
    "add1": lambda a: to_int(a) + 1,
    "sub": lambda a, b: to_int(a) - to_int(b),
    "mul": lambda *args: _product(args),
    "div": _div,
    "mod": lambda a, b: to_int(a) % to_int(b) if to_int(b) else 0,
    "max": lambda *args: max(to_int(a) for a in args),
    "min": lambda *args: min(to_int(a) for a in args),
    "trunc": _trunc,
    "repeat": lambda count, s: go_string(s) * max(0, min(to_int(count), 10_000)),
    "list": lambda *args: [plain(a) for a in args],
    "dict": _dict,
    "b64enc": lambda s: base64.b64encode(go_string(s).encode()).decode(),
    "int": to_int,
    "float64": lambda value: float(number(value)),
}


def _product(args) -> int:
    out = 1
    for value in args:
        out *= to_int(value)
    return out
