"""Parsing an expression (expr.py): a tokenizer and a Pratt parser with expr-lang's binding powers,
into a tree of tuples the interpreter walks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from reconciler.analysis.expr_functions import FUNCTIONS, PREDICATES
from reconciler.analysis.expr_values import ExprError

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
class Token:
    kind: str  # number | string | name | op | end
    value: Any
    pos: int


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ExprError(f"unexpected character {text[pos]!r} at column {pos + 1}")
        kind = match.lastgroup
        raw = match.group()  # the whole match is the one named group that matched
        if kind == "number":
            value: Any = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(Token("number", value, pos))
        elif kind == "string":
            tokens.append(Token("string", _unescape(raw[1:-1]), pos))
        elif kind == "name":
            tokens.append(Token("op" if raw in _WORD_OPERATORS else "name", raw, pos))
        elif kind == "op":
            tokens.append(Token("op", raw, pos))
        pos = match.end()
    tokens.append(Token("end", None, len(text)))
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


class Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.closure_depth = 0

    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, message: str, token: Token | None = None) -> ExprError:
        token = token or self.peek()
        return ExprError(f"{message} at column {token.pos + 1}")

    def expect(self, op: str) -> Token:
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
                raise self.error("a '{...}' predicate is only allowed as the second argument of " + "/".join(sorted(PREDICATES)), token)
        if token.kind == "end":
            raise self.error("unexpected end of expression", token)
        raise self.error(f"unexpected {token.value!r}", token)

    def call(self, name_token: Token):
        name = name_token.value
        self.expect("(")
        args = []
        if not (self.peek().kind == "op" and self.peek().value == ")"):
            args.append(self.expression())
            while self.peek().kind == "op" and self.peek().value == ",":
                self.advance()
                if name in PREDICATES and len(args) == 1:
                    args.append(self.predicate())
                else:
                    args.append(self.expression())
        self.expect(")")
        if name in PREDICATES:
            if len(args) != 2:
                raise self.error(f"{name}() takes a collection and a predicate, e.g. {name}(result, {{# > 0}})", name_token)
            return ("predicate", name, args[0], args[1])
        if name not in FUNCTIONS:
            raise self.error(f"unknown function {name}(); supported: {', '.join(sorted(set(FUNCTIONS) | PREDICATES))}", name_token)
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


