"""Rendering parsed notification template nodes against plain data, as Go's text/template does."""

from __future__ import annotations

from typing import Any

from reconciler.notifications.template_functions import FUNCTIONS
from reconciler.notifications.template_values import (
    MAX_OUTPUT_CHARS,
    MAX_RANGE_ITEMS,
    NO_VALUE,
    TemplateError,
    go_string,
    go_type,
    truthy,
)


def render_nodes(nodes: list, data: dict) -> str:
    out: list[str] = []
    _Renderer(out).nodes(nodes, data, {"$": data})
    text = "".join(out)
    if len(text) > MAX_OUTPUT_CHARS:
        raise TemplateError(f"the template renders more than {MAX_OUTPUT_CHARS} characters")
    return text


class _Renderer:
    def __init__(self, out: list[str]):
        self.out = out
        self.size = 0

    def emit(self, text: str) -> None:
        self.size += len(text)
        if self.size > MAX_OUTPUT_CHARS:
            raise TemplateError(f"the template renders more than {MAX_OUTPUT_CHARS} characters")
        self.out.append(text)

    def nodes(self, nodes: list, dot: Any, variables: dict) -> None:
        variables = dict(variables)
        for node in nodes:
            kind = node[0]
            if kind == "text":
                self.emit(node[1])
            elif kind == "out":
                self.emit(go_string(self.pipe(node[1], dot, variables, node[2])))
            elif kind == "set":
                variables[node[1][0][0]] = self.pipe(node[1], dot, variables, node[2])
            elif kind == "if":
                for pipe, body in node[1]:
                    if truthy(self.pipe(pipe, dot, variables, node[3])):
                        self.nodes(body, dot, variables)
                        break
                else:
                    self.nodes(node[2], dot, variables)
            elif kind == "with":
                value = self.pipe(node[1], dot, variables, node[4])
                self.nodes(node[2] if truthy(value) else node[3], value if truthy(value) else dot, variables)
            elif kind == "range":
                self._range(node, dot, variables)

    def _range(self, node, dot, variables) -> None:
        _, names, pipe, body, else_body, line = node
        value = self.pipe(pipe, dot, variables, line)
        if value is None or value is NO_VALUE:
            items: list = []
        elif isinstance(value, dict):
            items = [(k, value[k]) for k in sorted(value, key=str)]
        elif isinstance(value, (list, tuple)):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [(i, i) for i in range(value)]
        else:
            raise TemplateError(f"range can't iterate over {go_string(value)}", line)
        if len(items) > MAX_RANGE_ITEMS:
            raise TemplateError(f"range over more than {MAX_RANGE_ITEMS} items", line)
        if not items:
            self.nodes(else_body, dot, variables)
            return
        for key, item in items:
            scope = dict(variables)
            if len(names) == 1:
                scope[names[0]] = item
            elif len(names) == 2:
                scope[names[0]], scope[names[1]] = key, item
            self.nodes(body, item, scope)

    def pipe(self, pipe, dot, variables, line) -> Any:
        value: Any = NO_VALUE
        first = True
        for operands in pipe[1]:
            value = self.command(operands, dot, variables, line, None if first else (value,))
            first = False
        return value

    def command(self, operands, dot, variables, line, piped) -> Any:
        head = operands[0]
        if head[0] == "ident":
            args = [self.operand(o, dot, variables, line) for o in operands[1:]]
            if piped is not None:
                args.append(piped[0])
            try:
                return FUNCTIONS[head[1]](*args)
            except TemplateError as err:
                raise TemplateError(f"{head[1]}: {err.message}", line) from None
            except (TypeError, ValueError, ZeroDivisionError, KeyError, IndexError, OverflowError) as err:
                raise TemplateError(f"error calling {head[1]}: {err}", line) from None
        if piped is not None:
            raise TemplateError("can't give an argument to a non-function", line)
        return self.operand(head, dot, variables, line)

    def operand(self, operand, dot, variables, line) -> Any:
        kind = operand[0]
        if kind == "lit":
            return operand[1]
        if kind == "pipe":
            return self.pipe(operand[1], dot, variables, line)
        if kind == "ident":
            return self.command([operand], dot, variables, line, None)
        base, names = operand[1], operand[2]
        if kind == "chain":
            value = self.pipe(base, dot, variables, line)
        else:
            value = dot if base == "." else variables.get(base, NO_VALUE)
        for name in names:
            if value is NO_VALUE or value is None:
                return NO_VALUE  # Go: a missing key of a map of interfaces prints <no value>
            if not isinstance(value, dict):
                raise TemplateError(f"can't evaluate field {name} in type {go_type(value)}", line)
            value = value.get(name, NO_VALUE)
        return value
