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

Modules: expr_parser.py (tokens and the parser), expr_interpreter.py (the tree walk),
expr_values.py (value semantics, ExprError), expr_functions.py (the callable functions).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from reconciler.analysis.expr_interpreter import Interpreter
from reconciler.analysis.expr_parser import Parser
from reconciler.analysis.expr_values import ExprError, regex, type_name

__all__ = ["ExprError", "compile_expression", "evaluate", "evaluate_condition", "check_expression", "Expression"]


@dataclass(frozen=True)
class Expression:
    """A parsed expression; `evaluate(env)` can be called many times."""

    text: str
    tree: tuple

    def evaluate(self, env: dict) -> Any:
        try:
            return Interpreter(env).run(self.tree)
        except RecursionError:
            raise ExprError("expression nests too deeply") from None


@lru_cache(maxsize=512)
def compile_expression(text: str) -> Expression:
    """Parse `text`; raises ExprError with the column of the first problem."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("empty expression")
    try:
        return Expression(text, Parser(text).parse())
    except RecursionError:
        raise ExprError("expression nests too deeply") from None


def evaluate(text: str, env: dict) -> Any:
    return compile_expression(text).evaluate(env)


def evaluate_condition(text: str, result: Any) -> bool:
    """Evaluate a success/failure condition with `result` bound; it must yield a bool (as in Argo)."""
    value = evaluate(text, {"result": result})
    if not isinstance(value, bool):
        raise ExprError(f"expected bool, but got {type_name(value)}")
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
            regex(pattern)
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
