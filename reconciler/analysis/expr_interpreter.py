"""Evaluating a parsed expression tree against an environment of plain values; only the node
kinds the parser makes and the whitelisted functions are known."""

from __future__ import annotations

from reconciler.analysis.expr_functions import FUNCTIONS
from reconciler.analysis.expr_values import (
    ExprError,
    arithmetic,
    compare,
    contains,
    equal,
    index,
    is_number,
    regex,
    require_bool,
    strings,
    type_name,
)


class Interpreter:
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
            return index(self.run(node[1]), self.run(node[2]))
        if kind == "not":
            return not require_bool(self.run(node[1]), "not")
        if kind in ("neg", "pos"):
            value = self.run(node[1])
            if not is_number(value):
                raise ExprError(f"unary {'-' if kind == 'neg' else '+'} needs a number, got {type_name(value)}")
            return -value if kind == "neg" else value
        if kind == "if":
            return self.run(node[2]) if require_bool(self.run(node[1]), "?:") else self.run(node[3])
        if kind == "binary":
            return self.binary(node[1], node[2], node[3])
        if kind == "call":
            _, name, arg_nodes = node
            low, high, function = FUNCTIONS[name]
            if not low <= len(arg_nodes) <= high:
                raise ExprError(f"{name}() takes {low if low == high else f'{low} to {high}'} argument(s), got {len(arg_nodes)}")
            return function(*[self.run(arg) for arg in arg_nodes])
        if kind == "predicate":
            return self.predicate(node[1], self.run(node[2]), node[3][1])
        raise ExprError(f"unsupported expression node {kind!r}")  # unreachable for parsed trees

    def binary(self, op: str, left_node, right_node):
        if op in ("and", "&&"):
            return require_bool(self.run(left_node), op) and require_bool(self.run(right_node), op)
        if op in ("or", "||"):
            return require_bool(self.run(left_node), op) or require_bool(self.run(right_node), op)
        a, b = self.run(left_node), self.run(right_node)
        if op == "==":
            return equal(a, b)
        if op == "!=":
            return not equal(a, b)
        if op in ("<", "<=", ">", ">="):
            return compare(op, a, b)
        if op == "in":
            return contains(b, a)
        if op == "contains":
            a, b = strings(op, a, b)
            return b in a
        if op == "startsWith":
            a, b = strings(op, a, b)
            return a.startswith(b)
        if op == "endsWith":
            a, b = strings(op, a, b)
            return a.endswith(b)
        if op == "matches":
            a, b = strings(op, a, b)
            return regex(b).search(a) is not None
        return arithmetic(op, a, b)

    def predicate(self, name: str, collection, body):
        if collection is None:
            collection = []
        if not isinstance(collection, (list, tuple)):
            raise ExprError(f"{name}() needs an array, got {type_name(collection)}")
        results = []
        for element in collection:
            self.elements.append(element)
            try:
                value = self.run(body)
            finally:
                self.elements.pop()
            if name != "map":
                value = require_bool(value, f"{name}() predicate")
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


