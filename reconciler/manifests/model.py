"""The value the `manifests` stage hands on: objects with their places in the source."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.findings import Finding

# A field path inside an object: ("spec", "strategy", "canary", "steps", 0, "setWeight").
FieldPath = tuple[Any, ...]


@dataclass
class Manifest:
    """One Kubernetes object from one YAML document.

    `obj` is the object as a mapping (it may be a ruamel CommentedMap, which is a dict).
    `file` is relative to the source root, `line`/`col` are 1-based and point at the document.
    `locate(path)` gives the 1-based (line, col) of a field, falling back to its nearest parent.
    `list_item`: where it sits in a `kind: List` document's items (reconciler/manifests/lists.py);
    () for a document of its own.
    """

    obj: dict
    file: str
    line: int
    col: int = 1
    doc_index: int = 0
    locate_fn: Callable[[FieldPath], tuple[int, int]] | None = field(default=None, repr=False, compare=False)
    # The findings that depend on this object alone, by rule (reconciler.validation.local_checks),
    # when the source cache had them; None: validation finds them.
    checked: dict[str, list[Finding]] | None = field(default=None, repr=False, compare=False)
    list_item: tuple[int, ...] = ()

    # kind, apiVersion, name and namespace are read tens of thousands of times in a large source:
    # a string is returned as it is, without the call to _text.
    @property
    def kind(self) -> str:
        value = self.obj.get("kind", "")
        return value if value.__class__ is str else _text(value)

    @property
    def api_version(self) -> str:
        value = self.obj.get("apiVersion", "")
        return value if value.__class__ is str else _text(value)

    @property
    def _metadata(self) -> dict:
        metadata = self.obj.get("metadata")
        return metadata if isinstance(metadata, dict) else {}  # `metadata: hello` is a finding, not a crash

    @property
    def name(self) -> str:
        value = self._metadata.get("name", "")
        return value if value.__class__ is str else _text(value)

    @property
    def namespace(self) -> str:
        value = self._metadata.get("namespace")
        return (value if value.__class__ is str else _text(value)) or "default"

    @property
    def ref(self) -> str:
        """Kind/namespace/name, the way findings and logs name an object."""
        return f"{self.kind}/{self.namespace}/{self.name}"

    def locate(self, path: FieldPath) -> tuple[int, int]:
        if self.locate_fn is None:
            return self.line, self.col
        return self.locate_fn(tuple(path))

    def finding(self, path: FieldPath, message: str, hint: str = "", **kw) -> Finding:
        line, col = self.locate(path)
        return Finding(
            file=self.file, line=line, col=col, path=format_path(path), message=message, hint=hint, object=self.ref, **kw
        )


def _text(value) -> str:
    """A name or namespace as text, whatever YAML made of it (`name: yes` is True, `name: 1` is 1);
    the names rule reports those, and every key and message can still be built."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def format_path(path: Sequence[Any]) -> str:
    """("spec", "steps", 0, "setWeight") -> "spec.steps[0].setWeight"."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass
class LoadResult:
    manifests: list[Manifest]
    findings: list[Finding]
    files_read: int = 0
