"""A safe evaluator for Argo's `successCondition` / `failureCondition` (expr-lang syntax).

Argo Rollouts evaluates conditions with expr-lang (github.com/expr-lang/expr) against an
environment holding `result` plus a few helper functions. This module parses that language with a
small tokenizer and a Pratt parser into a tree of tuples, and walks the tree with an interpreter
that only knows the node types below. Nothing is ever handed to Python's `eval`/`exec`, there is
no attribute access on Python objects, and only the whitelisted functions can be called.

Supported (each has a test in tests/test_expr.py):
  literals      1, 0.95, 1e3, 'text', "text", true, false, nil, [1, 2]
  variables     result (and any name given in `env`), `#` inside a predicate
  access        result[0], result[-1], result['key'], result.key
  comparison    == != < <= > >=
  logic         and or not, && || !   (operands must be booleans, as in expr-lang)
  arithmetic    + - * / % ** ^ and unary - +
  membership    in, not in, contains, startsWith, endsWith, matches
  conditional   cond ? a : b
  functions     len isNaN isInf isNil asInt asFloat default abs min max sum int float string
                lower upper trim
  predicates    all any none one filter map count, as `all(result, {# > 0.9})` or `all(result, # > 0.9)`

Precedence follows expr-lang: `not`/`!` bind tighter than comparisons (`not a == b` is
`(not a) == b`), `and` tighter than `or`, `**` is right-associative.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["ExprError", "compile_expression", "evaluate", "evaluate_condition", "check_expression", "Expression"]


class ExprError(Exception):
    """A syntax error (with the column) or a runtime error in an expression."""


# -- tokens ----------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<op>\*\*|&&|\|\||==|!=|<=|>=|[-+*/%^<>!?:.,()\[\]{}\#])
    """,
    re.VERBOSE,
)

_WORD_OPERATORS = {"and", "or", "not", "in", "matches", "contains", "startsWith", "endsWith"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0"}


@dataclass(frozen=True)
class _Token:
    kind: str  # number | string | name | op | end
    value: Any
    pos: int


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def _tokenize(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ExprError(f"unexpected character {text[pos]!r} at column {pos + 1}")
        kind = match.lastgroup
        raw = match.group(kind)
        if kind == "number":
            value: Any = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(_Token("number", value, pos))
        elif kind == "string":
            tokens.append(_Token("string", _unescape(raw[1:-1]), pos))
        elif kind == "name":
            tokens.append(_Token("op" if raw in _WORD_OPERATORS else "name", raw, pos))
        elif kind == "op":
            tokens.append(_Token("op", raw, pos))
        pos = match.end()
    tokens.append(_Token("end", None, len(text)))
    return tokens


# -- parser ----------------------------------------------------------------------------------------

# Binding powers, as expr-lang's parser has them.
_BINARY = {
    "or": 10, "||": 10,
    "and": 15, "&&": 15,
    "==": 20, "!=": 20, "<": 20, ">": 20, "<=": 20, ">=": 20,
    "in": 20, "matches": 20, "contains": 20, "startsWith": 20, "endsWith": 20,
    "+": 30, "-": 30,
    "*": 60, "/": 60, "%": 60,
    "**": 100, "^": 100,
}
_RIGHT_ASSOC = {"**", "^"}
_UNARY = {"not": 50, "!": 50, "-": 90, "+": 90}
_NOT_IN_POWER = 20

_PREDICATES = {"all", "any", "none", "one", "filter", "map", "count"}


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.closure_depth = 0

    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, message: str, token: _Token | None = None) -> ExprError:
        token = token or self.peek()
        return ExprError(f"{message} at column {token.pos + 1}")

    def expect(self, op: str) -> _Token:
        token = self.peek()
        if token.kind != "op" or token.value != op:
            found = "end of expression" if token.kind == "end" else repr(token.value)
            raise self.error(f"expected {op!r}, found {found}")
        return self.advance()

    def parse(self):
        node = self.expression()
        if self.peek().kind != "end":
            raise self.error(f"unexpected {self.peek().value!r}")
        return node

    def expression(self):
        node = self.binary(0)
        if self.peek().kind == "op" and self.peek().value == "?":
            self.advance()
            when_true = self.expression()
            self.expect(":")
            when_false = self.expression()
            node = ("if", node, when_true, when_false)
        return node

    def binary(self, min_power: int):
        left = self.unary()
        while True:
            token = self.peek()
            if token.kind != "op":
                break
            op = token.value
            if op == "not" and self.peek(1).kind == "op" and self.peek(1).value == "in":
                if min_power >= _NOT_IN_POWER:
                    break
                self.advance()
                self.advance()
                right = self.binary(_NOT_IN_POWER)
                left = ("not", ("binary", "in", left, right))
                continue
            power = _BINARY.get(op)
            if power is None or power <= min_power:
                break
            self.advance()
            right = self.binary(power - 1 if op in _RIGHT_ASSOC else power)
            left = ("binary", op, left, right)
        return left

    def unary(self):
        token = self.peek()
        if token.kind == "op" and token.value in _UNARY:
            self.advance()
            operand = self.binary(_UNARY[token.value])
            if token.value in ("not", "!"):
                return ("not", operand)
            return ("neg", operand) if token.value == "-" else ("pos", operand)
        return self.postfix(self.primary())

    def primary(self):
        token = self.advance()
        if token.kind in ("number", "string"):
            return ("const", token.value)
        if token.kind == "name":
            if token.value == "true":
                return ("const", True)
            if token.value == "false":
                return ("const", False)
            if token.value in ("nil", "null"):
                return ("const", None)
            if self.peek().kind == "op" and self.peek().value == "(":
                return self.call(token)
            return ("var", token.value)
        if token.kind == "op":
            if token.value == "(":
                node = self.expression()
                self.expect(")")
                return node
            if token.value == "[":
                items = []
                if not (self.peek().kind == "op" and self.peek().value == "]"):
                    items.append(self.expression())
                    while self.peek().kind == "op" and self.peek().value == ",":
                        self.advance()
                        items.append(self.expression())
                self.expect("]")
                return ("list", tuple(items))
            if token.value == "#":
                if self.closure_depth == 0:
                    raise self.error("'#' is only allowed inside a predicate such as all(result, {# > 0})", token)
                return ("element",)
            if token.value == "{":
                raise self.error("a '{...}' predicate is only allowed as the second argument of " + "/".join(sorted(_PREDICATES)), token)
        if token.kind == "end":
            raise self.error("unexpected end of expression", token)
        raise self.error(f"unexpected {token.value!r}", token)

    def call(self, name_token: _Token):
        name = name_token.value
        self.expect("(")
        args = []
        if not (self.peek().kind == "op" and self.peek().value == ")"):
            args.append(self.expression())
            while self.peek().kind == "op" and self.peek().value == ",":
                self.advance()
                if name in _PREDICATES and len(args) == 1:
                    args.append(self.predicate())
                else:
                    args.append(self.expression())
        self.expect(")")
        if name in _PREDICATES:
            if len(args) != 2:
                raise self.error(f"{name}() takes a collection and a predicate, e.g. {name}(result, {{# > 0}})", name_token)
            return ("predicate", name, args[0], args[1])
        if name not in _FUNCTIONS:
            raise self.error(f"unknown function {name}(); supported: {', '.join(sorted(set(_FUNCTIONS) | _PREDICATES))}", name_token)
        return ("call", name, tuple(args))

    def predicate(self):
        self.closure_depth += 1
        try:
            if self.peek().kind == "op" and self.peek().value == "{":
                self.advance()
                body = self.expression()
                self.expect("}")
            else:
                body = self.expression()
        finally:
            self.closure_depth -= 1
        return ("closure", body)

    def postfix(self, node):
        while self.peek().kind == "op" and self.peek().value in (".", "["):
            token = self.advance()
            if token.value == ".":
                name = self.advance()
                if name.kind not in ("name", "op") or not isinstance(name.value, str) or not (name.value[:1].isalpha() or name.value[:1] == "_"):
                    raise self.error("expected a field name after '.'", name)
                node = ("index", node, ("const", name.value))
            else:
                key = self.expression()
                self.expect("]")
                node = ("index", node, key)
        return node


# -- runtime ---------------------------------------------------------------------------------------


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _type_name(value) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "map"
    return type(value).__name__


def _equal(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    return a == b


def _require_bool(value, what: str) -> bool:
    if not isinstance(value, bool):
        raise ExprError(f"{what} needs a bool, got {_type_name(value)}")
    return value


def _compare(op: str, a, b) -> bool:
    if not ((_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str))):
        raise ExprError(f"invalid operation: {_type_name(a)} {op} {_type_name(b)}")
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


def _arithmetic(op: str, a, b):
    if op == "+":
        if isinstance(a, str) and isinstance(b, str):
            return a + b
        if isinstance(a, list) and isinstance(b, list):
            return a + b
    if not (_is_number(a) and _is_number(b)):
        raise ExprError(f"invalid operation: {_type_name(a)} {op} {_type_name(b)}")
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
            raise ExprError(f"invalid operation: {_type_name(a)} % {_type_name(b)} (integers only)")
        if b == 0:
            raise ExprError("integer divide by zero")
        return int(math.fmod(a, b))
    try:
        return float(a) ** float(b)
    except (OverflowError, ZeroDivisionError, ValueError):
        return math.nan


def _index(container, key):
    if container is None:
        raise ExprError(f"cannot fetch {key!r} from nil")
    if isinstance(container, dict):
        return container.get(key)
    if isinstance(container, (list, tuple, str)):
        if not _is_number(key) or int(key) != key:
            raise ExprError(f"cannot index {_type_name(container)} with {_type_name(key)}")
        position = int(key)
        if position < 0:
            position += len(container)
        if not 0 <= position < len(container):
            raise ExprError(f"index out of range: {int(key)} (length {len(container)})")
        return container[position]
    raise ExprError(f"cannot fetch {key!r} from {_type_name(container)}")


def _contains(collection, item) -> bool:
    if isinstance(collection, dict):
        return item in collection
    if isinstance(collection, (list, tuple)):
        return any(_equal(item, element) for element in collection)
    if collection is None:
        return False
    raise ExprError(f"invalid operation: in {_type_name(collection)}")


def _strings(op: str, a, b) -> tuple[str, str]:
    if not (isinstance(a, str) and isinstance(b, str)):
        raise ExprError(f"invalid operation: {_type_name(a)} {op} {_type_name(b)}")
    return a, b


@lru_cache(maxsize=256)
def _regex(pattern: str):
    """`matches` runs on RE2 (linear time, the engine Go's regexp and so Argo use): a pattern such as
    `^(a+)+$` cannot make a run hang on a long input. Features RE2 leaves out on purpose
    (backreferences, lookaround) are an error, found by `validate` when the pattern is a literal."""
    import re2

    options = re2.Options()
    options.log_errors = False  # the error is ours to report, not RE2's to print on stderr
    try:
        return re2.compile(pattern, options)
    except re2.error as err:
        detail = err.args[0].decode("utf-8", "replace") if err.args and isinstance(err.args[0], bytes) else str(err)
        raise ExprError(f"invalid regular expression {pattern!r}: {detail} (matches uses RE2 syntax, as Go does: "
                        "no backreferences or lookaround)") from None


def _as_int(value) -> int:
    """Argo's asInt: a number is truncated, a string must parse as a base-10 integer."""
    if _is_number(value):
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            raise ExprError(f"asInt: cannot convert {value} to int")
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip(), 10)
        except ValueError:
            raise ExprError(f"asInt: {value!r} is not an integer") from None
    raise ExprError(f"asInt: cannot convert {_type_name(value)}")


def _as_float(value) -> float:
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise ExprError(f"asFloat: {value!r} is not a number") from None
    raise ExprError(f"asFloat: cannot convert {_type_name(value)}")


def _float_arg(name: str, value) -> float:
    if not _is_number(value):
        raise ExprError(f"{name}() needs a number, got {_type_name(value)}")
    return float(value)


def _length(value) -> int:
    if isinstance(value, (str, list, tuple, dict)):
        return len(value)
    raise ExprError(f"len() needs a string, array or map, got {_type_name(value)}")


def _numbers(name: str, args) -> list:
    values = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)
    if not values or not all(_is_number(v) for v in values):
        raise ExprError(f"{name}() needs numbers")
    return values


def _string_arg(name: str, value) -> str:
    if not isinstance(value, str):
        raise ExprError(f"{name}() needs a string, got {_type_name(value)}")
    return value


def _to_string(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nil"
    return str(value)


_FUNCTIONS: dict[str, tuple[int, int, Callable]] = {
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


class _Interpreter:
    def __init__(self, env: dict):
        self.env = env
        self.elements: list = []

    def run(self, node):
        kind = node[0]
        if kind == "const":
            return node[1]
        if kind == "var":
            name = node[1]
            if name not in self.env:
                raise ExprError(f"unknown name {name!r}")
            return self.env[name]
        if kind == "element":
            if not self.elements:
                raise ExprError("'#' used outside a predicate")
            return self.elements[-1]
        if kind == "list":
            return [self.run(item) for item in node[1]]
        if kind == "index":
            return _index(self.run(node[1]), self.run(node[2]))
        if kind == "not":
            return not _require_bool(self.run(node[1]), "not")
        if kind in ("neg", "pos"):
            value = self.run(node[1])
            if not _is_number(value):
                raise ExprError(f"unary {'-' if kind == 'neg' else '+'} needs a number, got {_type_name(value)}")
            return -value if kind == "neg" else value
        if kind == "if":
            return self.run(node[2]) if _require_bool(self.run(node[1]), "?:") else self.run(node[3])
        if kind == "binary":
            return self.binary(node[1], node[2], node[3])
        if kind == "call":
            _, name, arg_nodes = node
            low, high, function = _FUNCTIONS[name]
            if not low <= len(arg_nodes) <= high:
                raise ExprError(f"{name}() takes {low if low == high else f'{low} to {high}'} argument(s), got {len(arg_nodes)}")
            return function(*[self.run(arg) for arg in arg_nodes])
        if kind == "predicate":
            return self.predicate(node[1], self.run(node[2]), node[3][1])
        raise ExprError(f"unsupported expression node {kind!r}")  # unreachable for parsed trees

    def binary(self, op: str, left_node, right_node):
        if op in ("and", "&&"):
            return _require_bool(self.run(left_node), op) and _require_bool(self.run(right_node), op)
        if op in ("or", "||"):
            return _require_bool(self.run(left_node), op) or _require_bool(self.run(right_node), op)
        a, b = self.run(left_node), self.run(right_node)
        if op == "==":
            return _equal(a, b)
        if op == "!=":
            return not _equal(a, b)
        if op in ("<", "<=", ">", ">="):
            return _compare(op, a, b)
        if op == "in":
            return _contains(b, a)
        if op == "contains":
            a, b = _strings(op, a, b)
            return b in a
        if op == "startsWith":
            a, b = _strings(op, a, b)
            return a.startswith(b)
        if op == "endsWith":
            a, b = _strings(op, a, b)
            return a.endswith(b)
        if op == "matches":
            a, b = _strings(op, a, b)
            return _regex(b).search(a) is not None
        return _arithmetic(op, a, b)

    def predicate(self, name: str, collection, body):
        if collection is None:
            collection = []
        if not isinstance(collection, (list, tuple)):
            raise ExprError(f"{name}() needs an array, got {_type_name(collection)}")
        results = []
        for element in collection:
            self.elements.append(element)
            try:
                value = self.run(body)
            finally:
                self.elements.pop()
            if name != "map":
                value = _require_bool(value, f"{name}() predicate")
            results.append((element, value))
        if name == "all":
            return all(v for _, v in results)
        if name == "any":
            return any(v for _, v in results)
        if name == "none":
            return not any(v for _, v in results)
        if name == "one":
            return sum(1 for _, v in results if v) == 1
        if name == "count":
            return sum(1 for _, v in results if v)
        if name == "filter":
            return [e for e, v in results if v]
        return [v for _, v in results]


# -- public API ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expression:
    """A parsed expression; `evaluate(env)` can be called many times."""

    text: str
    tree: tuple

    def evaluate(self, env: dict) -> Any:
        try:
            return _Interpreter(env).run(self.tree)
        except RecursionError:
            raise ExprError("expression nests too deeply") from None


@lru_cache(maxsize=512)
def compile_expression(text: str) -> Expression:
    """Parse `text`; raises ExprError with the column of the first problem."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("empty expression")
    try:
        return Expression(text, _Parser(text).parse())
    except RecursionError:
        raise ExprError("expression nests too deeply") from None


def evaluate(text: str, env: dict) -> Any:
    return compile_expression(text).evaluate(env)


def evaluate_condition(text: str, result: Any) -> bool:
    """Evaluate a success/failure condition with `result` bound; it must yield a bool (as in Argo)."""
    value = evaluate(text, {"result": result})
    if not isinstance(value, bool):
        raise ExprError(f"expected bool, but got {_type_name(value)}")
    return value


def _names(tree) -> set[str]:
    if not isinstance(tree, tuple) or not tree:
        return set()
    if tree[0] == "var":
        return {tree[1]}
    out: set[str] = set()
    for part in tree[1:]:
        if isinstance(part, tuple):
            if part and isinstance(part[0], str):
                out |= _names(part)
            else:
                for item in part:
                    out |= _names(item)
    return out


def check_expression(text: str, names: tuple[str, ...] = ("result",)) -> str | None:
    """None when `text` parses and only uses known names; otherwise the problem, for `validate`."""
    try:
        expression = compile_expression(text)
    except ExprError as err:
        return str(err)
    unknown = sorted(_names(expression.tree) - set(names))
    if unknown:
        return f"unknown name {unknown[0]!r} (conditions can use: {', '.join(names)})"
    for pattern in _literal_patterns(expression.tree):
        try:
            _regex(pattern)
        except ExprError as err:
            return str(err)
    return None


def _literal_patterns(tree) -> list[str]:
    """The string literals on the right of `matches`: checked at validate time, not first at a measurement."""
    if not isinstance(tree, tuple) or not tree:
        return []
    out = []
    if tree[0] == "binary" and tree[1] == "matches" and isinstance(tree[3], tuple) and tree[3][:1] == ("const",) and isinstance(tree[3][1], str):
        out.append(tree[3][1])
    for part in tree[1:]:
        if isinstance(part, tuple):
            if part and isinstance(part[0], str):
                out += _literal_patterns(part)
            else:
                for item in part:
                    out += _literal_patterns(item)
    return out
