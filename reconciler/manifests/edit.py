"""Edits a person would make by hand to a Rollout manifest, made for them: `set image` and
`restart` (spec.restartAt). Each returns the file's new text; everything it does not change stays
byte for byte when the change is a scalar (comments, quoting, order, indentation), and otherwise
goes through a ruamel round-trip in the file's own style (see reconciler/manifests/yaml_edit.py)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.errors import ReconcilerError

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


@dataclass
class ImageChange:
    container: str
    list_name: str  # containers, initContainers or ephemeralContainers
    before: str
    after: str


def _documents(text: str):
    from ruamel.yaml import YAML

    return list(YAML(typ="rt").load_all(text))


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def container_names(template: dict) -> dict[str, list[str]]:
    spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    return {list_name: [str(c.get("name")) for c in spec.get(list_name) or [] if isinstance(c, dict)] for list_name in CONTAINER_LISTS}


def set_images(text: str, doc_index: int, images: list[tuple[str, str]], rollout: str) -> tuple[str, list[ImageChange]]:
    """The text with each CONTAINER=IMAGE applied to document `doc_index`'s pod template (`*`
    names every container, as the plugin's `set image`), and what changed. A container name the
    template does not have is an error that lists the names it does have."""
    from reconciler.manifests.yaml_edit import restore_template_text

    doc = _documents(text)[doc_index]
    template = _plain((doc.get("spec") or {}).get("template") or {})
    names = container_names(template)
    changes: list[ImageChange] = []
    for container, image in images:
        found = False
        for list_name in CONTAINER_LISTS:
            for entry in (template.get("spec") or {}).get(list_name) or []:
                if isinstance(entry, dict) and (container == "*" or entry.get("name") == container):
                    found = True
                    if entry.get("image") != image:
                        changes.append(ImageChange(str(entry.get("name")), list_name, str(entry.get("image") or ""), image))
                        entry["image"] = image
        if not found:
            raise unknown_container(rollout, container, names)
    if not changes:
        return text, []
    return restore_template_text(text, doc_index, template), changes


def unknown_container(rollout: str, container: str, names: dict[str, list[str]]) -> ReconcilerError:
    from reconciler.suggest import did_you_mean

    known = [n for list_name in CONTAINER_LISTS for n in names[list_name]]
    listed = ", ".join(names["containers"]) or "none"
    for list_name in ("initContainers", "ephemeralContainers"):
        if names[list_name]:
            listed += f"; {list_name}: {', '.join(names[list_name])}"
    close = did_you_mean(container, known)
    return ReconcilerError(
        f"rollout {rollout!r} has no container named {container!r}; its containers are: {listed}",
        hint=(close + " " if close else "") + "write CONTAINER=IMAGE with one of those names, or *=IMAGE for all of them",
    )


def set_spec_field(text: str, doc_index: int, key: str, value: str) -> str:
    """The text with `spec.<key>: "<value>"` in document `doc_index` (a string, double-quoted so
    that no YAML reader takes a timestamp for a date). An existing value is replaced in place; a
    new key is inserted as spec's first line, at spec's indentation."""
    import json

    from reconciler.manifests.yaml_edit import apply_scalar_edits, best_style, dump_all

    docs = _documents(text)
    spec = docs[doc_index].get("spec")
    if spec is None or not hasattr(spec, "lc"):
        raise ReconcilerError("the Rollout has no spec mapping to edit", hint="check the manifest")
    expected = dict(_plain(spec), **{key: value})
    if key in spec:
        line, col = spec.lc.value(key)
        edited = apply_scalar_edits(text, [(line, col, bool(spec.fa.flow_style()), value)])
    elif len(spec) and not spec.fa.flow_style():
        line, col = spec.lc.key(next(iter(spec)))
        lines = text.split("\n")
        lines.insert(line, " " * col + f"{key}: {json.dumps(value)}")
        edited = "\n".join(lines)
    else:
        edited = None
    if edited is not None and _plain(_documents(edited)[doc_index].get("spec")) == expected:
        return edited
    yaml = best_style(text)  # flow style or an unusual layout: a round-trip in the file's style
    docs = list(yaml.load_all(text))
    docs[doc_index]["spec"][key] = value
    updated = dump_all(yaml, docs)
    return updated if text.endswith("\n") else updated.rstrip("\n")
