"""The functions an expression may call (`len`, `asInt`, `min`, ...) with their argument counts,
and the names of the predicates (`all(result, # > 0.9)`) the parser reads as closures."""

from __future__ import annotations

import math
from collections.abc import Callable

from reconciler.analysis.expr_values import ExprError, is_number, type_name


def _as_int(value) -> int:
    """Argo's asInt: a number is truncated, a string must parse as a base-10 integer."""
    if is_number(value):
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            raise ExprError(f"asInt: cannot convert {value} to int")
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip(), 10)
        except ValueError:
            raise ExprError(f"asInt: {value!r} is not an integer") from None
    raise ExprError(f"asInt: cannot convert {type_name(value)}")


def _as_float(value) -> float:
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise ExprError(f"asFloat: {value!r} is not a number") from None
    raise ExprError(f"asFloat: cannot convert {type_name(value)}")


def _float_arg(name: str, value) -> float:
    if not is_number(value):
        raise ExprError(f"{name}() needs a number, got {type_name(value)}")
    return float(value)


def _length(value) -> int:
    if isinstance(value, (str, list, tuple, dict)):
        return len(value)
    raise ExprError(f"len() needs a string, array or map, got {type_name(value)}")


def _numbers(name: str, args) -> list:
    values = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)
    if not values or not all(is_number(v) for v in values):
        raise ExprError(f"{name}() needs numbers")
    return values


def _string_arg(name: str, value) -> str:
    if not isinstance(value, str):
        raise ExprError(f"{name}() needs a string, got {type_name(value)}")
    return value


def _to_string(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nil"
    return str(value)


FUNCTIONS: dict[str, tuple[int, int, Callable]] = {
    # name: (min args, max args, implementation)
    "len": (1, 1, _length),
    "isNaN": (1, 1, lambda v: math.isnan(_float_arg("isNaN", v))),
    "isInf": (1, 1, lambda v: math.isinf(_float_arg("isInf", v))),
    "isNil": (1, 1, lambda v: v is None),
    "asInt": (1, 1, _as_int),
    "asFloat": (1, 1, _as_float),
    "default": (2, 2, lambda v, d: d if v is None or v == "" else v),
    "abs": (1, 1, lambda v: abs(_numbers("abs", [v])[0])),
    "min": (1, 99, lambda *a: min(_numbers("min", a))),
    "max": (1, 99, lambda *a: max(_numbers("max", a))),
    "sum": (1, 1, lambda v: sum(_numbers("sum", [v])) if v != [] else 0),
    "int": (1, 1, _as_int),
    "float": (1, 1, _as_float),
    "string": (1, 1, _to_string),
    "lower": (1, 1, lambda v: _string_arg("lower", v).lower()),
    "upper": (1, 1, lambda v: _string_arg("upper", v).upper()),
    "trim": (1, 1, lambda v: _string_arg("trim", v).strip()),
}

PREDICATES = {"all", "any", "none", "one", "filter", "map", "count"}
