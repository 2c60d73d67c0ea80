"""The notification configuration as values: the services, templates and triggers a ConfigMap
(config.py) or the built-in catalogue (triggers.py) defines, and the walk over a template's YAML
that finds its string leaves (each one a Go template)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Service:
    name: str  # what subscriptions name: `<name>` of service.<type>.<name>, else `<type>`
    type: str
    options: dict  # as written, `$key` references unresolved


@dataclass
class Condition:
    send: list[str]
    when: str = ""
    once_per: str = ""


@dataclass
class TemplateSpec:
    """A template.<name>: its YAML with every string leaf parsed as a Go template."""

    name: str
    raw: dict
    compiled: dict = field(default_factory=dict)  # path tuple -> Template


@dataclass
class NotificationConfig:
    services: dict[str, Service] = field(default_factory=dict)
    templates: dict[str, TemplateSpec] = field(default_factory=dict)
    triggers: dict[str, list[Condition]] = field(default_factory=dict)
    default_triggers: list[str] = field(default_factory=list)
    service_default_triggers: dict[str, list[str]] = field(default_factory=dict)
    context: dict = field(default_factory=dict)
    origin: str = ""  # "file.yaml" or "cluster ConfigMap ns/name"
    # Service names the ConfigMap defines but that cannot deliver (unknown type, bad options).
    broken_services: dict[str, str] = field(default_factory=dict)


def string_leaves(value, node, path=()):
    """(path, text, line-in-value (1-based) of the text's first line) for every string leaf."""
    import yaml  # here: a source with no notification ConfigMap (a warm, cached run) needs no YAML parser

    if isinstance(value, str):
        line = 1
        if node is not None:
            line = node.start_mark.line + 1 + (1 if getattr(node, "style", None) in ("|", ">") else 0)
        yield path, value, line
    elif isinstance(value, dict):
        pairs = {}
        if node is not None and isinstance(node, yaml.MappingNode):
            pairs = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
        for key, item in value.items():
            yield from string_leaves(item, pairs.get(str(key)), path + (str(key),))
    elif isinstance(value, list):
        items = node.value if node is not None and isinstance(node, yaml.SequenceNode) else [None] * len(value)
        for index, item in enumerate(value):
            yield from string_leaves(item, items[index] if index < len(items) else None, path + (index,))
