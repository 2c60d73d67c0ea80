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

Modules: template_lexer.py (text and actions, tokens), template_parser.py (nodes),
template_renderer.py (output), template_functions.py (the functions), template_values.py (Go's
view of values, TemplateError and the limits).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.notifications.template_parser import parse_nodes
from reconciler.notifications.template_renderer import render_nodes
from reconciler.notifications.template_values import TemplateError


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
    return Template(source, parse_nodes(source))


def render(template: Template, data: dict, functions: dict | None = None) -> str:
    return render_nodes(template.nodes, data)


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
