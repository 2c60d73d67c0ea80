"""How expr-lang treats values in an expression (expr.py): their type names, equality, ordering,
arithmetic, indexing and membership, and `matches`' RE2 patterns; ExprError, which every part of
the expression language raises."""

from __future__ import annotations

import math
from functools import lru_cache

from reconciler.plain_data import data_kind


class ExprError(Exception):
    """A syntax error (with the column) or a runtime error in an expression."""




def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# expr-lang's names for a value's kind, as its error messages give them.
_KIND_WORDS = {"null": "nil", "boolean": "bool", "integer": "int", "list": "array", "tuple": "array", "mapping": "map"}


def type_name(value) -> str:
    kind = data_kind(value)
    return _KIND_WORDS.get(kind, kind)


def equal(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if is_number(a) and is_number(b):
        return a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    return a == b


def require_bool(value, what: str) -> bool:
    if not isinstance(value, bool):
        raise ExprError(f"{what} needs a bool, got {type_name(value)}")
    return value


def compare(op: str, a, b) -> bool:
    if not ((is_number(a) and is_number(b)) or (isinstance(a, str) and isinstance(b, str))):
        raise ExprError(f"invalid operation: {type_name(a)} {op} {type_name(b)}")
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _divide(a, b) -> float:
    a, b = float(a), float(b)
    if b == 0.0:
        if a == 0.0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * (math.copysign(1.0, b))
    return a / b


def arithmetic(op: str, a, b):
    if op == "+":
        if isinstance(a, str) and isinstance(b, str):
            return a + b
        if isinstance(a, list) and isinstance(b, list):
            return a + b
    if not (is_number(a) and is_number(b)):
        raise ExprError(f"invalid operation: {type_name(a)} {op} {type_name(b)}")
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return _divide(a, b)
    if op == "%":
        if not (isinstance(a, int) and isinstance(b, int)):
            raise ExprError(f"invalid operation: {type_name(a)} % {type_name(b)} (integers only)")
        if b == 0:
            raise ExprError("integer divide by zero")
        return int(math.fmod(a, b))
    try:
        return float(a) ** float(b)
    except (OverflowError, ZeroDivisionError, ValueError):
        return math.nan


def index(container, key):
    if container is None:
        raise ExprError(f"cannot fetch {key!r} from nil")
    if isinstance(container, dict):
        return container.get(key)
    if isinstance(container, (list, tuple, str)):
        if not is_number(key) or int(key) != key:
            raise ExprError(f"cannot index {type_name(container)} with {type_name(key)}")
        position = int(key)
        if position < 0:
            position += len(container)
        if not 0 <= position < len(container):
            raise ExprError(f"index out of range: {int(key)} (length {len(container)})")
        return container[position]
    raise ExprError(f"cannot fetch {key!r} from {type_name(container)}")


def contains(collection, item) -> bool:
    if isinstance(collection, dict):
        return item in collection
    if isinstance(collection, (list, tuple)):
        return any(equal(item, element) for element in collection)
    if collection is None:
        return False
    raise ExprError(f"invalid operation: in {type_name(collection)}")


def strings(op: str, a, b) -> tuple[str, str]:
    if not (isinstance(a, str) and isinstance(b, str)):
        raise ExprError(f"invalid operation: {type_name(a)} {op} {type_name(b)}")
    return a, b


@lru_cache(maxsize=256)
def regex(pattern: str):
    """`matches` runs on RE2 (linear time, the engine Go's regexp and so Argo use): a pattern such as
    `^(a+)+$` cannot make a run hang on a long input. Features RE2 leaves out on purpose
    (backreferences, lookaround) are an error, found by `validate` when the pattern is a literal."""
    import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

    options = re2.Options()
    options.log_errors = False  # the error is ours to report, not RE2's to print on stderr
    try:
        return re2.compile(pattern, options)
    except re2.error as err:
        detail = err.args[0].decode("utf-8", "replace") if err.args and isinstance(err.args[0], bytes) else str(err)
        raise ExprError(f"invalid regular expression {pattern!r}: {detail} (matches uses RE2 syntax, as Go does: "
                        "no backreferences or lookaround)") from None


