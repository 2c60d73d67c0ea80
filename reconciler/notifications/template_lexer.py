"""Lexing a notification template: its text split into literal text and `{{ ... }}` actions (with
Go's `{{- -}}` trimming), and an action into tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.notifications.template_values import TemplateError

_ACTION_OPEN = "{{"
_ACTION_CLOSE = "}}"


@dataclass
class Piece:
    kind: str  # "text" | "action"
    text: str
    line: int


def split_actions(source: str) -> list[Piece]:
    """Text and actions, with Go's `{{- ` / ` -}}` whitespace trimming applied to the text."""
    pieces: list[Piece] = []
    pos, line = 0, 1
    trim_next = False
    while pos < len(source):
        start = source.find(_ACTION_OPEN, pos)
        if start < 0:
            text = source[pos:]
            pieces.append(Piece("text", text.lstrip() if trim_next else text, line))
            break
        text = source[pos:start]
        inner_start = start + 2
        trim_left = source.startswith("- ", inner_start) or source.startswith("-\t", inner_start) or source.startswith("-\n", inner_start)
        if trim_next:
            text = text.lstrip()
        if trim_left:
            text = text.rstrip()
            inner_start += 1
        pieces.append(Piece("text", text, line))
        line += source.count("\n", pos, start)
        end = _find_close(source, inner_start, line)
        inner = source[inner_start:end]
        trim_next = inner.endswith(" -") or inner.endswith("\t-") or inner.endswith("\n-")
        if trim_next:
            inner = inner[:-1]
        pieces.append(Piece("action", inner, line))
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
class Token:
    kind: str
    text: str


def tokens(inner: str, line: int) -> list[Token]:
    out: list[Token] = []
    pos = 0
    while pos < len(inner):
        m = _TOKEN.match(inner, pos)
        if not m:
            raise TemplateError(f"unexpected {inner[pos]!r} in action {{{{{inner.strip()}}}}}", line)
        kind = m.lastgroup or ""  # every alternative of _TOKEN is a named group
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
        out.append(Token(kind, text))
    return out
