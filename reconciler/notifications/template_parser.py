"""Parsing a notification template's actions into nodes (the Go-template subset of templates.py),
with the line of each error inside the template."""

from __future__ import annotations

import json

from reconciler.notifications.template_functions import FUNCTIONS
from reconciler.notifications.template_lexer import Piece, Token, split_actions, tokens
from reconciler.notifications.template_values import TemplateError

# Nodes are tuples: ("text", s) ("out", pipe, line) ("if", [(pipe, body)], else_body, line)
# ("range", names, pipe, body, else_body, line) ("with", pipe, body, else_body, line) ("set", pipe, line)
# A pipe is (declared_names, [command]); a command is [operand]; an operand is
# ("field", base, names) base "." or "$name"; ("lit", value); ("ident", name); ("pipe", pipe).


def parse_nodes(source: str) -> list:
    """The nodes of a template; raises TemplateError (with the line inside `source`) on anything outside the subset."""
    return _Parser(split_actions(source)).block(top=True)


class _Parser:
    def __init__(self, pieces: list[Piece]):
        self.pieces = pieces
        self.i = 0
        self.scopes: list[set[str]] = [{"$"}]

    def _defined(self, name: str) -> bool:
        return any(name in scope for scope in self.scopes)

    def block(self, top: bool = False, ends: tuple[str, ...] = ()) -> list:
        """Nodes until an `{{end}}`/`{{else ...}}` (returned to the caller through self.stop)."""
        nodes: list = []
        self.stop = None
        while self.i < len(self.pieces):
            piece = self.pieces[self.i]
            self.i += 1
            if piece.kind == "text":
                if piece.text:
                    nodes.append(("text", piece.text))
                continue
            inner = piece.text.strip()
            if inner.startswith("/*"):
                if not inner.endswith("*/"):
                    raise TemplateError("a comment must be the whole action: {{/* ... */}}", piece.line)
                continue
            toks = tokens(inner, piece.line)
            if not toks:
                raise TemplateError("empty action {{}}", piece.line)
            head = toks[0]
            if head.kind == "ident" and head.text in ("end", "else"):
                if top:
                    raise TemplateError(f"unexpected {{{{{head.text}}}}} without an if, range or with", piece.line)
                self.stop = (head.text, toks[1:], piece.line)
                return nodes
            if head.kind == "ident" and head.text == "if":
                nodes.append(self._if(toks[1:], piece.line))
            elif head.kind == "ident" and head.text == "range":
                nodes.append(self._range(toks[1:], piece.line))
            elif head.kind == "ident" and head.text == "with":
                nodes.append(self._with(toks[1:], piece.line))
            elif head.kind == "ident" and head.text in ("define", "template", "block", "break", "continue"):
                raise TemplateError(f"{{{{{head.text}}}}} is not supported in notification templates (supported: if, else, range, with, end, pipelines and the listed functions)", piece.line)
            else:
                pipe = self._pipeline(toks, piece.line, allow_decl=True)
                nodes.append(("set", pipe, piece.line) if pipe[0] else ("out", pipe, piece.line))
        if not top:
            raise TemplateError("missing {{end}}", self.pieces[-1].line if self.pieces else 1)
        return nodes

    def _body(self, line: int, what: str):
        self.scopes.append(set())
        body = self.block()
        self.scopes.pop()
        if self.stop is None:
            raise TemplateError(f"{{{{{what}}}}} without {{{{end}}}}", line)
        return body

    def _if(self, toks: list[Token], line: int):
        branches = []
        pipe = self._pipeline(toks, line)
        else_body: list = []
        while True:
            body = self._body(line, "if")
            branches.append((pipe, body))
            word, rest, at = self.stop
            if word == "end":
                if rest:
                    raise TemplateError("unexpected words after {{end}}", at)
                break
            if rest and rest[0].kind == "ident" and rest[0].text == "if":
                pipe = self._pipeline(rest[1:], at)
                continue
            if rest:
                raise TemplateError("{{else}} takes nothing but `if`", at)
            else_body = self._body(line, "else")
            word, rest, at = self.stop
            if word != "end":
                raise TemplateError("a second {{else}} in one {{if}}", at)
            break
        self.stop = None
        return ("if", branches, else_body, line)

    def _range(self, toks: list[Token], line: int):
        names: list[str] = []
        if len(toks) >= 2 and toks[0].kind == "var":
            if toks[1].kind == "declare":
                names, toks = [toks[0].text], toks[2:]
            elif len(toks) >= 4 and toks[1].text == "," and toks[2].kind == "var" and toks[3].kind == "declare":
                names, toks = [toks[0].text, toks[2].text], toks[4:]
        pipe = self._pipeline(toks, line)
        self.scopes.append(set(names))
        body = self._body(line, "range")
        word, rest, at = self.stop
        else_body: list = []
        if word == "else":
            self.scopes.pop()
            else_body = self._body(line, "else")
            self.scopes.append(set())
            if self.stop[0] != "end":
                raise TemplateError("a second {{else}} in one {{range}}", self.stop[2])
        self.scopes.pop()
        self.stop = None
        return ("range", names, pipe, body, else_body, line)

    def _with(self, toks: list[Token], line: int):
        pipe = self._pipeline(toks, line)
        body = self._body(line, "with")
        else_body: list = []
        if self.stop[0] == "else":
            else_body = self._body(line, "else")
            if self.stop[0] != "end":
                raise TemplateError("a second {{else}} in one {{with}}", self.stop[2])
        self.stop = None
        return ("with", pipe, body, else_body, line)

    def _pipeline(self, toks: list[Token], line: int, allow_decl: bool = False):
        declared: list[str] = []
        if len(toks) >= 2 and toks[0].kind == "var" and toks[1].kind in ("declare", "assign"):
            if not allow_decl:
                raise TemplateError("a variable can only be declared in its own action", line)
            name = toks[0].text
            if toks[1].kind == "assign" and not self._defined(name):
                raise TemplateError(f"undefined variable {name}", line)
            declared = [name]
            toks = toks[2:]
        if not toks:
            raise TemplateError("missing value in action", line)
        commands = []
        pos = 0
        while True:
            command, pos = self._command(toks, pos, line)
            commands.append(command)
            if pos >= len(toks):
                break
            if toks[pos].text == "|":
                pos += 1
                continue
            raise TemplateError(f"unexpected {toks[pos].text!r}", line)
        if declared:
            self.scopes[-1].add(declared[0])
        return (declared, commands)

    def _command(self, toks: list[Token], pos: int, line: int):
        operands = []
        while pos < len(toks) and toks[pos].text not in ("|", ")"):
            operand, pos = self._operand(toks, pos, line)
            operands.append(operand)
        if not operands:
            raise TemplateError("missing value for command", line)
        head = operands[0]
        if head[0] != "ident" and len(operands) > 1:
            raise TemplateError("can't give arguments to a non-function", line)
        for operand in operands[1:]:
            if operand[0] == "ident" and operand[1] not in FUNCTIONS:
                raise TemplateError(f"function {operand[1]!r} not defined{_did_you_mean(operand[1])}", line)
        return operands, pos

    def _operand(self, toks: list[Token], pos: int, line: int):
        tok = toks[pos]
        if tok.kind == "field":
            return ("field", ".", tok.text.split(".")[1:]), pos + 1
        if tok.kind == "dot":
            return ("field", ".", []), pos + 1
        if tok.kind == "var":
            base, _, rest = tok.text.partition(".")
            if not self._defined(base):
                raise TemplateError(f"undefined variable {base}", line)
            return ("field", base, rest.split(".") if rest else []), pos + 1
        if tok.kind == "string":
            text = tok.text
            return ("lit", text[1:-1] if text.startswith("`") else json.loads(text)), pos + 1
        if tok.kind == "char":
            return ("lit", ord(json.loads('"' + tok.text[1:-1] + '"'))), pos + 1
        if tok.kind == "number":
            text = tok.text
            value = int(text, 16) if text.lower().startswith(("0x", "-0x")) else (float(text) if any(c in text for c in ".eE") else int(text))
            return ("lit", value), pos + 1
        if tok.kind == "ident":
            if tok.text in ("true", "false"):
                return ("lit", tok.text == "true"), pos + 1
            if tok.text == "nil":
                return ("lit", None), pos + 1
            if tok.text == "call":
                raise TemplateError("`call` is not supported: notification templates here get plain values, not Go functions", line)
            if tok.text not in FUNCTIONS:
                raise TemplateError(f"function {tok.text!r} not defined{_did_you_mean(tok.text)}", line)
            return ("ident", tok.text), pos + 1
        if tok.text == "(":
            inner_end = _matching_paren(toks, pos, line)
            pipe = self._pipeline(toks[pos + 1:inner_end], line)
            if inner_end + 1 < len(toks) and toks[inner_end + 1].kind == "chain":
                return ("chain", pipe, toks[inner_end + 1].text.split(".")[1:]), inner_end + 2
            return ("pipe", pipe), inner_end + 1
        raise TemplateError(f"unexpected {tok.text!r}", line)


def _matching_paren(toks: list[Token], pos: int, line: int) -> int:
    depth = 0
    for i in range(pos, len(toks)):
        if toks[i].text == "(":
            depth += 1
        elif toks[i].text == ")":
            depth -= 1
            if depth == 0:
                return i
    raise TemplateError("unclosed (", line)


def _did_you_mean(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(FUNCTIONS), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
