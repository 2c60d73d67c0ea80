"""Formatting-preserving edits of a manifest's YAML text: a changed scalar is rewritten in place
(comments, quoting, order and indentation stay byte for byte); anything else goes through a ruamel
round-trip in the file's own indentation style. Used by `undo` (reconciler/commands/undo.py) and by
`set image` / `restart` (reconciler/manifests/edit.py)."""

from __future__ import annotations

# Indentation styles seen in Kubernetes YAML: (mapping, sequence, offset).
_STYLES = ((2, 2, 0), (2, 4, 2), (4, 4, 2), (4, 2, 0), (4, 6, 4), (2, 3, 1))


def _round_trip(explicit_start: bool, style):
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    yaml.explicit_start = explicit_start
    yaml.indent(mapping=style[0], sequence=style[1], offset=style[2])
    return yaml


def dump_all(yaml, docs) -> str:
    import io

    out = io.StringIO()
    yaml.dump_all(docs, out)
    return out.getvalue()


def best_style(text: str):
    """The dumper settings that reproduce the file as it is (or come closest), so the commit's diff
    shows only the template change."""
    import difflib

    best, best_score = None, -1.0
    for explicit_start in (text.lstrip().startswith("---"), not text.lstrip().startswith("---")):
        for style in _STYLES:
            yaml = _round_trip(explicit_start, style)
            docs = list(yaml.load_all(text))
            dumped = dump_all(yaml, docs)
            if dumped == text:
                return yaml
            score = difflib.SequenceMatcher(None, dumped, text, autojunk=False).ratio()
            if score > best_score:
                best, best_score = yaml, score
    return best


def _update_in_place(node, new):
    """Node `node` (ruamel round-trip) made equal to plain value `new`, touching only what differs,
    so comments and quoting on the unchanged parts stay."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap) and isinstance(new, dict):
        for key in [k for k in node if k not in new]:
            del node[key]
        for key, value in new.items():
            node[key] = _update_in_place(node[key], value) if key in node else value
        return node
    if isinstance(node, CommentedSeq) and isinstance(new, list) and len(node) == len(new):
        for index, value in enumerate(new):
            node[index] = _update_in_place(node[index], value)
        return node
    return node if _same_scalar(node, new) else new


def _same_scalar(node, new) -> bool:
    if isinstance(node, bool) or isinstance(new, bool):
        return type(node) is type(new) and node == new
    # ruamel keeps quoting in str/int subclasses; equal values keep the original node
    return isinstance(node, type(new)) and node == new


def restore_template_text(text: str, doc_index: int, template: dict) -> str:
    """The file text with document `doc_index`'s spec.template set to `template`.

    When only scalar values differ (the usual rollback: an image tag, an env value) those values
    are replaced in the text itself, so everything else stays byte for byte. Otherwise the
    document is re-emitted by a ruamel round-trip in the file's own indentation style."""
    yaml = _round_trip(text.lstrip().startswith("---"), _STYLES[0])
    docs = list(yaml.load_all(text))
    spec = docs[doc_index]["spec"]
    current = spec.get("template")
    edits = _scalar_edits(current, template) if current is not None else None
    if edits is not None:
        edited = apply_scalar_edits(text, edits)
        if edited is not None and template_of(edited, doc_index) == _plain(template):
            return edited
    yaml = best_style(text)
    docs = list(yaml.load_all(text))
    spec = docs[doc_index]["spec"]
    if "template" in spec:
        spec["template"] = _update_in_place(spec["template"], template)
    else:
        spec["template"] = template
    updated = dump_all(yaml, docs)
    if not text.endswith("\n"):
        updated = updated.rstrip("\n")
    return updated


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def template_of(text: str, doc_index: int):
    from ruamel.yaml import YAML

    docs = list(YAML(typ="safe", pure=True).load_all(text))
    return _plain(docs[doc_index]["spec"].get("template"))


def _scalar_edits(node, new):
    """[(line, col, in_flow, new value)] when `node` and `new` differ only in scalar values at the
    same places; None when keys, lengths or shapes differ (or a changed value spans lines)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    edits = []
    if isinstance(node, CommentedMap) and isinstance(new, dict):
        if list(node.keys()) != list(new.keys()) and set(node.keys()) != set(new.keys()):
            return None
        pairs = [(key, node[key], new[key], lambda key=key: node.lc.value(key)) for key in new]
    elif isinstance(node, CommentedSeq) and isinstance(new, list):
        if len(node) != len(new):
            return None
        pairs = [(index, node[index], new[index], lambda index=index: node.lc.item(index)) for index in range(len(new))]
    else:
        return None
    in_flow = bool(node.fa.flow_style())
    for _key, old_value, new_value, position in pairs:
        if isinstance(old_value, (CommentedMap, CommentedSeq)) or isinstance(new_value, (dict, list)):
            inner = _scalar_edits(old_value, new_value)
            if inner is None:
                return None
            edits.extend(inner)
        elif not _same_scalar(old_value, new_value):
            if isinstance(old_value, str) and "\n" in old_value or isinstance(new_value, str) and "\n" in new_value:
                return None
            line, col = position()
            edits.append((line, col, in_flow, new_value))
    return edits


def _token_end(line: str, col: int, in_flow: bool) -> int | None:
    """Where the scalar starting at `col` ends on its line."""
    if col >= len(line):
        return None
    quote = line[col]
    if quote == "'":
        index = col + 1
        while index < len(line):
            if line[index] == "'":
                if line[index + 1 : index + 2] == "'":
                    index += 2
                    continue
                return index + 1
            index += 1
        return None
    if quote == '"':
        index = col + 1
        while index < len(line):
            if line[index] == "\\":
                index += 2
                continue
            if line[index] == '"':
                return index + 1
            index += 1
        return None
    if quote in "|>&*!":  # block scalars, anchors, aliases, tags: leave to the round-trip
        return None
    end = len(line)
    comment = line.find(" #", col)
    if comment != -1:
        end = comment
    if in_flow:
        for stop in (",", "}", "]"):
            at = line.find(stop, col)
            if at != -1:
                end = min(end, at)
    while end > col and line[end - 1] == " ":
        end -= 1
    return end


def _scalar_text(value, original_token: str) -> str:
    import io
    import json

    from ruamel.yaml import YAML

    if isinstance(value, str) and original_token.startswith("'"):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, str) and original_token.startswith('"'):
        return json.dumps(value, ensure_ascii=False)
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.width = 4096
    yaml.default_flow_style = False
    yaml.dump([value], out)
    text = out.getvalue().strip()
    text = text[2:] if text.startswith("- ") else text
    if isinstance(value, str) and text.lower() in _YAML11_BOOLEANS:
        return "'" + value + "'"  # Kubernetes' YAML 1.1 parser would read these as booleans
    return text


_YAML11_BOOLEANS = {"y", "n", "yes", "no", "true", "false", "on", "off"}


def apply_scalar_edits(text: str, edits) -> str | None:
    lines = text.split("\n")
    # right to left within a line so earlier columns stay valid
    for line_no, col, in_flow, value in sorted(edits, key=lambda edit: (edit[0], -edit[1])):
        line = lines[line_no]
        end = _token_end(line, col, in_flow)
        if end is None:
            return None
        lines[line_no] = line[:col] + _scalar_text(value, line[col:end]) + line[end:]
    return "\n".join(lines)
