"""The Go-template subset Argo's notification catalogue and documentation use, parsed and rendered
here (no Go, no eval).

Argo's notification templates are Go `text/template` text with sprig functions. Supported:

  output      {{.rollout.metadata.name}}  {{ $c.image }}  {{.}}  {{$}}  {{"text"}}  {{1}}
  trimming    {{- ... -}}
  comments    {{/* ... */}}
  control     {{if P}} {{else if P}} {{else}} {{end}}   {{range P}} {{range $v := P}}
              {{range $i, $v := P}} (with {{else}})   {{with P}} ... {{else}} ... {{end}}
  variables   {{$x := P}} (in the current block)
  pipelines   {{ .a | quote }}  {{ add .rollout.status.currentStepIndex 1 }}  ( ... ) grouping
  functions   Go's: and or not eq ne lt le gt ge len index print printf println
              sprig's: quote squote upper lower title trim trimPrefix trimSuffix replace contains
              hasPrefix hasSuffix default empty coalesce toJson toPrettyJson toString join split
              add add1 sub mul div mod max min trunc repeat list dict b64enc int float64 toStrings

Anything else (`define`, `template`, `block`, `call`, an unknown function) is a TemplateError
with the line inside the template, so `validate` reports it at file:line and nothing is ever sent
with raw braces. Values print as Go's fmt does (`<no value>` for a missing key).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_OUTPUT_CHARS = 256 * 1024  # a template that renders more than this is refused
MAX_RANGE_ITEMS = 10_000


class TemplateError(Exception):
    """A template that cannot be parsed or rendered; `line` is 1-based inside the template text."""

    def __init__(self, message: str, line: int = 1):
        super().__init__(message)
        self.message = message
        self.line = line


NO_VALUE = object()  # Go's invalid reflect.Value: a missing key


# -- lexing ----------------------------------------------------------------------------------------

_ACTION_OPEN = "{{"
_ACTION_CLOSE = "}}"


@dataclass
class _Piece:
    kind: str  # "text" | "action"
    text: str
    line: int


def _split(source: str) -> list[_Piece]:
    """Text and actions, with Go's `{{- ` / ` -}}` whitespace trimming applied to the text."""
    pieces: list[_Piece] = []
    pos, line = 0, 1
    trim_next = False
    while pos < len(source):
        start = source.find(_ACTION_OPEN, pos)
        if start < 0:
            text = source[pos:]
            pieces.append(_Piece("text", text.lstrip() if trim_next else text, line))
            break
        text = source[pos:start]
        inner_start = start + 2
        trim_left = source.startswith("- ", inner_start) or source.startswith("-\t", inner_start) or source.startswith("-\n", inner_start)
        if trim_next:
            text = text.lstrip()
        if trim_left:
            text = text.rstrip()
            inner_start += 1
        pieces.append(_Piece("text", text, line))
        line += source.count("\n", pos, start)
        end = _find_close(source, inner_start, line)
        inner = source[inner_start:end]
        trim_next = inner.endswith(" -") or inner.endswith("\t-") or inner.endswith("\n-")
        if trim_next:
            inner = inner[:-1]
        pieces.append(_Piece("action", inner, line))
        line += source.count("\n", start, end + 2)
        pos = end + 2
    return pieces


def _find_close(source: str, pos: int, line: int) -> int:
    """The index of the `}}` closing the action at `pos`, skipping quoted strings and comments."""
    i = pos
    stripped = source[pos:].lstrip()
    if stripped.startswith("/*"):
        close = source.find("*/", pos)
        if close < 0:
            raise TemplateError("unclosed comment", line)
        end = source.find(_ACTION_CLOSE, close)
        if end < 0:
            raise TemplateError("unclosed action", line)
        return end
    while i < len(source):
        ch = source[i]
        if ch in "\"'`":
            quote = ch
            i += 1
            while i < len(source) and source[i] != quote:
                if source[i] == "\\" and quote != "`":
                    i += 1
                elif source[i] == "\n" and quote != "`":
                    raise TemplateError("unterminated quoted string", line)
                i += 1
            if i >= len(source):
                raise TemplateError("unterminated quoted string", line)
        elif source.startswith(_ACTION_CLOSE, i):
            return i
        i += 1
    raise TemplateError("unclosed action: `{{` without `}}`", line)


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<declare>:=)
  | (?P<assign>=)
  | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+)
  | (?P<var>\$[A-Za-z0-9_]*)
  | (?P<dot>\.)
  | (?P<string>"(?:[^"\\]|\\.)*"|`[^`]*`)
  | (?P<char>'(?:[^'\\]|\\.)')
  | (?P<number>-?(?:0[xX][0-9a-fA-F]+|\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+|\d+(?:[eE][-+]?\d+)?))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[|(),])
    """,
    re.VERBOSE,
)


@dataclass
class _Tok:
    kind: str
    text: str


def _tokens(inner: str, line: int) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(inner):
        m = _TOKEN.match(inner, pos)
        if not m:
            raise TemplateError(f"unexpected {inner[pos]!r} in action {{{{{inner.strip()}}}}}", line)
        kind = m.lastgroup
        text = m.group()
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "field" and m.start() > 0 and inner[m.start() - 1] == ")":
            kind = "chain"  # (pipeline).field
        if kind == "var" and pos < len(inner) and inner[pos] == ".":  # $c.name
            more = re.match(r"(?:\.[A-Za-z_][A-Za-z0-9_]*)+", inner[pos:])
            if more:
                text += more.group()
                pos += more.end()
        out.append(_Tok(kind, text))
    return out


# -- parsing ---------------------------------------------------------------------------------------

# Nodes are tuples: ("text", s) ("out", pipe, line) ("if", [(pipe, body)], else_body, line)
# ("range", names, pipe, body, else_body, line) ("with", pipe, body, else_body, line) ("set", pipe, line)
# A pipe is (declared_names, [command]); a command is [operand]; an operand is
# ("field", base, names) base "." or "$name"; ("lit", value); ("ident", name); ("pipe", pipe).


@dataclass
class Template:
    source: str
    nodes: list = field(default_factory=list)

    def render(self, data: dict, functions: dict | None = None) -> str:
        return render(self, data, functions)


def parse(source: str) -> Template:
    """Parse a template; raises TemplateError (with the line inside `source`) on anything outside the subset."""
    if not isinstance(source, str):
        raise TemplateError("a template must be text")
    pieces = _split(source)
    parser = _Parser(pieces)
    nodes = parser.block(top=True)
    return Template(source, nodes)


class _Parser:
    def __init__(self, pieces: list[_Piece]):
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
            toks = _tokens(inner, piece.line)
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

    def _if(self, toks: list[_Tok], line: int):
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

    def _range(self, toks: list[_Tok], line: int):
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

    def _with(self, toks: list[_Tok], line: int):
        pipe = self._pipeline(toks, line)
        body = self._body(line, "with")
        else_body: list = []
        if self.stop[0] == "else":
            else_body = self._body(line, "else")
            if self.stop[0] != "end":
                raise TemplateError("a second {{else}} in one {{with}}", self.stop[2])
        self.stop = None
        return ("with", pipe, body, else_body, line)

    def _pipeline(self, toks: list[_Tok], line: int, allow_decl: bool = False):
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

    def _command(self, toks: list[_Tok], pos: int, line: int):
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

    def _operand(self, toks: list[_Tok], pos: int, line: int):
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


def _matching_paren(toks: list[_Tok], pos: int, line: int) -> int:
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


# -- rendering -------------------------------------------------------------------------------------


def render(template: Template, data: dict, functions: dict | None = None) -> str:
    out: list[str] = []
    _Renderer(out).nodes(template.nodes, data, {"$": data})
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
                raise TemplateError(f"can't evaluate field {name} in type {_go_type(value)}", line)
            value = value.get(name, NO_VALUE)
        return value


def _go_type(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "interface {}"


# -- Go values -------------------------------------------------------------------------------------


def truthy(value) -> bool:
    """Go's template truth: false, 0, nil, "" and empty collections are false."""
    if value is NO_VALUE or value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (str, list, tuple, dict)):
        return len(value) > 0
    return True


def go_string(value) -> str:
    """How Go's fmt prints a value from JSON (%v)."""
    if value is NO_VALUE or value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e21:
            return str(int(value))
        text = repr(value)
        return text.replace("e+", "e+").replace("e-0", "e-0")
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "map[" + " ".join(f"{go_string(k)}:{go_string(value[k])}" for k in sorted(value, key=str)) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_string(v) for v in value) + "]"
    return str(value)


def _plain(value):
    return None if value is NO_VALUE else value


def _number(value) -> float | int:
    value = _plain(value)
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return 0
    return 0


def _int(value) -> int:
    return int(_number(value))


def _compare_values(a, b) -> int:
    a, b = _plain(a), _plain(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return (a > b) - (a < b)
    if isinstance(a, str) and isinstance(b, str):
        return (a > b) - (a < b)
    raise TemplateError(f"incompatible types for comparison: {_go_type(a)} and {_go_type(b)}")


def _eq(a, *others) -> bool:
    if not others:
        raise TemplateError("missing argument for comparison")
    a = _plain(a)
    for b in others:
        b = _plain(b)
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
    value = _plain(value)
    if isinstance(value, (str, list, tuple, dict)):
        return len(value)
    raise TemplateError(f"len of {_go_type(value) if value is not None else 'nil'}")


def _index(value, *keys):
    value = _plain(value)
    for key in keys:
        key = _plain(key)
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, (list, tuple, str)):
            if not isinstance(key, int) or not 0 <= key < len(value):
                raise TemplateError(f"index out of range: {key}")
            value = value[key]
        else:
            raise TemplateError(f"can't index item of type {_go_type(value)}")
    return value


_VERB = re.compile(r"%([-+# 0]*\d*(?:\.\d+)?)([vsdqftxXgeT%])")


def _printf(fmt, *args) -> str:
    args = list(args)

    def one(m: re.Match) -> str:
        flags, verb = m.group(1), m.group(2)
        if verb == "%":
            return "%"
        if not args:
            return f"%!{verb}(MISSING)"
        value = _plain(args.pop(0))
        if verb in ("v", "s"):
            return ("%" + flags + "s") % go_string(value)
        if verb == "q":
            return json.dumps(go_string(value))
        if verb == "d":
            return ("%" + flags + "d") % _int(value)
        if verb in ("f", "g", "e"):
            return ("%" + flags + verb) % float(_number(value))
        if verb in ("x", "X"):
            return ("%" + flags + verb) % _int(value) if isinstance(value, (int, float)) else go_string(value).encode().hex()
        if verb == "t":
            return go_string(bool(truthy(value)))
        return _go_type(value)

    return _VERB.sub(one, go_string(fmt))


def _print(*args) -> str:
    # Go's fmt.Sprint adds spaces between operands when neither is a string
    out = ""
    for i, value in enumerate(args):
        if i and not isinstance(_plain(args[i - 1]), str) and not isinstance(_plain(value), str):
            out += " "
        out += go_string(value)
    return out


def _default(default, value=NO_VALUE):
    return value if truthy(value) else default


def _to_json(value) -> str:
    return json.dumps(_plain(value), separators=(",", ":"), sort_keys=True, default=str)


def _trunc(length, value) -> str:
    text, length = go_string(value), _int(length)
    return text[:length] if length >= 0 else text[length:]


def _dict(*pairs) -> dict:
    return {go_string(pairs[i]): _plain(pairs[i + 1]) if i + 1 < len(pairs) else "" for i in range(0, len(pairs), 2)}


def _div(a, b):
    a, b = _int(a), _int(b)
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
    "quote": lambda *args: " ".join(json.dumps(go_string(a)) for a in args if _plain(a) is not None),
    "squote": lambda *args: " ".join(f"'{go_string(a)}'" for a in args if _plain(a) is not None),
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
    "toPrettyJson": lambda value: json.dumps(_plain(value), indent=2, sort_keys=True, default=str),
    "toString": go_string,
    "toStrings": lambda value: [go_string(v) for v in (_plain(value) or [])],
    "join": lambda sep, items: go_string(sep).join(go_string(v) for v in (_plain(items) or [])),
    "split": lambda sep, s: {f"_{i}": part for i, part in enumerate(go_string(s).split(go_string(sep)))},
    "add": lambda *args: sum(_int(a) for a in args),
    "add1": lambda a: _int(a) + 1,
    "sub": lambda a, b: _int(a) - _int(b),
    "mul": lambda *args: _product(args),
    "div": _div,
    "mod": lambda a, b: _int(a) % _int(b) if _int(b) else 0,
    "max": lambda *args: max(_int(a) for a in args),
    "min": lambda *args: min(_int(a) for a in args),
    "trunc": _trunc,
    "repeat": lambda count, s: go_string(s) * max(0, min(_int(count), 10_000)),
    "list": lambda *args: [_plain(a) for a in args],
    "dict": _dict,
    "b64enc": lambda s: base64.b64encode(go_string(s).encode()).decode(),
    "int": _int,
    "float64": lambda value: float(_number(value)),
}


def _product(args) -> int:
    out = 1
    for value in args:
        out *= _int(value)
    return out


def names_used(template: Template) -> set[str]:
    """The top-level names a template reads (`.rollout`, `.context`, ...), for validation hints."""
    found: set[str] = set()

    def pipe(p):
        for command in p[1]:
            for operand in command:
                if operand[0] == "field" and operand[1] == "." and operand[2]:
                    found.add(operand[2][0])
                elif operand[0] in ("pipe", "chain"):
                    pipe(operand[1])

    def walk(nodes):
        for node in nodes:
            if node[0] in ("out", "set"):
                pipe(node[1])
            elif node[0] == "if":
                for p, body in node[1]:
                    pipe(p)
                    walk(body)
                walk(node[2])
            elif node[0] == "range":
                pipe(node[2])
                walk(node[3])
                walk(node[4])
            elif node[0] == "with":
                pipe(node[1])
                walk(node[2])
                walk(node[3])

    walk(template.nodes)
    return found
