"""Load every *.yaml / *.yml under a directory into Manifests with line positions.

Parsing uses libyaml through PyYAML's C loader when present (about ten times faster than a
pure-Python parser; a CronJob pays it every tick). YAML 1.1 scalars are what `kubectl apply`
sees too (go-yaml), with one exception: timestamps stay strings, as the API server reads them.

Positions are only needed for findings, and most objects have none, so the node tree is not
kept: each document is built into plain dicts/lists straight from its nodes (`_build`, which
leaves anything unusual, such as explicit tags or merge keys, to PyYAML's own constructor), and
`Manifest.locate` re-composes the file's text the first time a position is asked for. Keeping
every node alive made the loader spend half its time in the garbage collector.

The source is untrusted (any pull request), so loading is bounded:
- a file larger than `max_file_bytes` is refused (finding);
- aliases that would expand past `max_alias_expansion` nodes ("billion laughs") are refused;
- duplicate keys are a finding naming both lines (YAML keeps only the last one silently);
- a file that is not UTF-8, cannot be read, or is not a regular file (a FIFO, a socket, a broken
  link) is a finding naming it, and is never opened; so is a folder that cannot be listed;
- an integer literal longer than any Kubernetes field takes (`replicas: 777...` with thousands of
  digits, past Python's int/str conversion limit) is a finding at its line and field, and its
  document is skipped;
- symlinks (files or directories) that leave the root are refused, and never read;
- documents that are not Kubernetes objects are a warning and skipped.
Hidden directories (.git, .github, .reconciler) are not searched. A folder holding a kustomization
file or a Helm chart (Chart.yaml) is not read either: one warning at that file says to render it
first (`kustomize build`, `helm template`), since its files are not the objects it stands for (its
patches are partial objects, its templates are not YAML). So is a Helm values file elsewhere.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from reconciler.findings import Finding, Severity
from reconciler.manifests.model import LoadResult, Manifest

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_ALIAS_EXPANSION = 100_000
SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = MAX_FILE_BYTES
    max_alias_expansion: int = MAX_ALIAS_EXPANSION


def _pyyaml():
    import yaml

    return yaml


_loader_cls = None
_PLAIN_TAG_CACHE = 50_000  # distinct plain scalars remembered (bounded: the input is untrusted)


def _loader_class():
    """A safe loader (C when available) whose timestamps stay strings."""
    global _loader_cls
    if _loader_cls is None:
        yaml = _pyyaml()
        base = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
        scalar_node = yaml.ScalarNode
        plain_tags: dict[str, str] = {}

        class ManifestLoader(base):  # type: ignore[misc, valid-type]
            def resolve(self, kind, value, implicit):
                # A plain scalar's tag depends on its text alone (there are no path resolvers), and
                # manifests repeat the same texts (keys, `true`, ports), so remember the answer.
                if kind is scalar_node and implicit[0]:
                    tag = plain_tags.get(value)
                    if tag is None:
                        tag = base.resolve(self, kind, value, implicit)
                        if len(plain_tags) < _PLAIN_TAG_CACHE:
                            plain_tags[value] = tag
                    return tag
                return base.resolve(self, kind, value, implicit)

            # Called for every node; with no path resolvers (asserted below) they do nothing.
            def descend_resolver(self, current_node, current_index):
                pass

            def ascend_resolver(self):
                pass

        ManifestLoader.yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for first, resolvers in base.yaml_implicit_resolvers.items()
        }
        assert not ManifestLoader.yaml_path_resolvers
        _loader_cls = ManifestLoader
    return _loader_cls


# --------------------------------------------------------------------------------------------
# Locating fields in a composed node tree


def _node_locator(root_node):
    """locate(path) -> (line, col), 1-based, of the deepest key/item of `path` that exists."""

    def locate(path):
        node = root_node
        best = (node.start_mark.line + 1, node.start_mark.column + 1)
        for part in path:
            node = _child(node, part)
            if node is None:
                break
            key_node, value_node = node
            best = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            node = value_node
        return best

    return locate


def _child(node, part):
    """(node that names `part`, its value node): the key node for a mapping, the item for a sequence."""
    yaml = _pyyaml()
    if isinstance(node, yaml.MappingNode) and not isinstance(part, int):
        found = None
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                found = (key_node, value_node)  # last one wins, as in the loaded object
        return found
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item = node.value[part]
        return item, item
    return None


# --------------------------------------------------------------------------------------------
# Hostile-input checks on the node tree


def _expanded_size(node, memo: dict, budget: int) -> int:
    """How many nodes `node` becomes once aliases are expanded (stops counting past `budget`)."""
    known = memo.get(id(node))
    if known is not None:
        return known
    yaml = _pyyaml()
    size = 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            size += _expanded_size(key_node, memo, budget) + _expanded_size(value_node, memo, budget)
            if size > budget:
                break
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            size += _expanded_size(item, memo, budget)
            if size > budget:
                break
    memo[id(node)] = size
    return size


def _duplicate_keys(node, rel: str, out: list[Finding], path=()) -> None:
    yaml = _pyyaml()
    if isinstance(node, yaml.MappingNode):
        first_seen: dict = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
                if key in first_seen and key != "<<":
                    prev = first_seen[key]
                    from reconciler.manifests.model import format_path

                    out.append(
                        Finding(
                            file=rel,
                            line=key_node.start_mark.line + 1,
                            col=key_node.start_mark.column + 1,
                            path=format_path((*path, key)),
                            message=f"duplicate key {key!r}: first at line {prev.start_mark.line + 1}, again at line "
                            f"{key_node.start_mark.line + 1}; YAML keeps only the last value",
                            hint="remove one of the two; Kubernetes would silently use the second",
                            rule="duplicate-key",
                        )
                    )
                else:
                    first_seen[key] = key_node
                _duplicate_keys(value_node, rel, out, (*path, key))
            else:
                _duplicate_keys(value_node, rel, out, path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _duplicate_keys(item, rel, out, (*path, index))


# --------------------------------------------------------------------------------------------
# Files


def _files(root: Path, findings: list[Finding]):
    """(path, relative name) of every manifest file under root; refuses symlinks leaving root."""
    real_root = root.resolve()

    def unreadable(err: OSError) -> None:  # os.walk would skip a folder it cannot list, silently
        where = Path(err.filename) if err.filename else root
        rel = where.relative_to(root).as_posix() if where != root and where.is_relative_to(root) else str(where)
        findings.append(_file_finding(rel, f"cannot list the folder: {err.strerror}; its files were not read",
                                      "check its permissions (the reconciler must be able to read every manifest)", "read-error"))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=unreadable):
        here = Path(dirpath)
        rendered_elsewhere = _render_first(here, root, filenames)
        if rendered_elsewhere is not None:
            findings.append(rendered_elsewhere)
            dirnames[:] = []
            continue
        for name in sorted(dirnames):
            if name.startswith("."):
                dirnames.remove(name)
                continue
            sub = here / name
            if sub.is_symlink():
                dirnames.remove(name)  # os.walk would not descend anyway; say why when it escapes
                if not _inside(sub, real_root):
                    findings.append(_escape_finding(sub, root))
            elif name.endswith(SUFFIXES):
                findings.append(_file_finding(sub.relative_to(root).as_posix(), "is a folder, not a manifest file; the files in it are read as any folder's",
                                              "rename the folder if it is not meant to look like a YAML file", "not-a-file", severity=Severity.WARNING))
        dirnames.sort()
        for name in sorted(filenames):
            path = here / name
            if not name.endswith(SUFFIXES):
                continue
            if path.is_symlink() and not _inside(path, real_root):
                findings.append(_escape_finding(path, root))
                continue
            if not path.is_file():  # never opened: reading a FIFO would wait forever
                what = "a broken symbolic link" if path.is_symlink() and not path.exists() else "not a regular file (a FIFO, socket or device)"
                findings.append(_file_finding(path.relative_to(root).as_posix(), f"is {what}; not read",
                                              "replace it with a plain YAML file, or remove it", "not-a-file"))
                continue
            yield path, path.relative_to(root).as_posix()


KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
HELM_CHART_FILE = "Chart.yaml"


def _render_first(folder: Path, root: Path, filenames) -> Finding | None:
    """The warning for a kustomize folder or a Helm chart (nothing under it is read), else None."""
    names = set(filenames)
    where = folder.relative_to(root).as_posix() if folder != root else "."
    kustomization = next((n for n in KUSTOMIZATION_FILES if n in names), None)
    if kustomization is not None:
        rel = (folder / kustomization).relative_to(root).as_posix()
        return _file_finding(rel, f"a kustomization: the folder {where} is not read (its files are kustomize's input, not the objects it builds)",
                             f"render it first and point the reconciler at the output: kustomize build {where} > rendered/{_slug(where)}.yaml",
                             "render-first", severity=Severity.WARNING)
    if HELM_CHART_FILE in names:
        rel = (folder / HELM_CHART_FILE).relative_to(root).as_posix()
        return _file_finding(rel, f"a Helm chart: the folder {where} is not read (its templates are not Kubernetes objects until rendered)",
                             f"render it first and point the reconciler at the output: helm template NAME {where} -f VALUES > rendered/{_slug(where)}.yaml",
                             "render-first", severity=Severity.WARNING)
    return None


def _slug(where: str) -> str:
    return "all" if where == "." else where.replace("/", "-")


def _is_values_file(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name.startswith("values") and name.endswith(SUFFIXES)


def _inside(path: Path, real_root: Path) -> bool:
    try:
        path.resolve().relative_to(real_root)
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def _escape_finding(path: Path, root: Path) -> Finding:
    return Finding(
        file=path.relative_to(root).as_posix(),
        line=1,
        col=1,
        path="",
        message="symlink points outside the repository root; not read",
        hint="replace the symlink with the file itself, or point it at a file inside the repository",
        rule="symlink-escape",
    )


def _file_finding(rel: str, message: str, hint: str, rule: str, line: int = 1, col: int = 1, severity=Severity.ERROR) -> Finding:
    return Finding(file=rel, line=line, col=col, path="", message=message, hint=hint, rule=rule, severity=severity)


def load_file(path: Path, rel: str, limits: Limits = Limits()) -> tuple[list[Manifest], list[Finding]]:
    """Manifests and findings of one file (`rel` is how findings name it)."""
    try:
        size = path.stat().st_size
    except OSError as err:
        return [], [_file_finding(rel, f"cannot read the file: {err.strerror}", "check its permissions", "read-error")]
    if size > limits.max_file_bytes:
        return [], [
            _file_finding(
                rel,
                f"file is {size} bytes, above the {limits.max_file_bytes}-byte limit; not read",
                "split it into smaller files (a manifest file this large is almost certainly generated or hostile)",
                "file-too-large",
            )
        ]
    try:
        data = path.read_bytes()
    except OSError as err:  # permissions, a file removed meanwhile, an I/O error
        return [], [_file_finding(rel, f"cannot read the file: {err.strerror or err}", "check its permissions (the reconciler must be able to read every manifest)", "read-error")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        return [], [
            _file_finding(
                rel,
                f"file is not UTF-8 (byte 0x{data[err.start]:02x} at line {line}, column {col})",
                "save it as UTF-8; Kubernetes only accepts UTF-8 manifests",
                "encoding",
                line=line,
                col=col,
            )
        ]
    if text.startswith("\ufeff"):
        text = text[1:]
    return _load_text(text, rel, limits)


class _FilePositions:
    """The composed node tree of one file's text, built when a position is first asked for.

    Only the last few files' trees are kept (`_COMPOSED_KEPT`): findings come object by object, and
    keeping every tree alive would make the garbage collector walk them all again and again (the
    reason the loader no longer keeps them). A file asked about again later is composed again.
    """

    def __init__(self, text: str):
        self.text = text
        self.nodes: list | None = None

    def document(self, index: int):
        key = id(self)
        if self.nodes is None:
            self.nodes = []
            loader = _loader_class()(self.text)
            try:
                while loader.check_node():
                    self.nodes.append(loader.get_node())
            except (_pyyaml().YAMLError, RecursionError):
                pass  # the documents before the error were loaded, and are the only ones asked about
            finally:
                loader.dispose()
            if len(_composed) >= _COMPOSED_KEPT:
                _composed.pop(next(iter(_composed))).nodes = None
        _composed.pop(key, None)
        _composed[key] = self  # most recently used last
        return self.nodes[index] if index < len(self.nodes) else None

    def locator(self, index: int):
        def locate(path):
            node = self.document(index)
            return _node_locator(node)(path) if node is not None else (1, 1)

        return locate


_COMPOSED_KEPT = 8
_composed: dict[int, _FilePositions] = {}  # id -> files whose node trees are kept, oldest first


_NOT_BUILT = object()


MAX_INT_LITERAL = 40  # characters: int64 needs 20 digits; past Python's 4300-digit limit int() raises


class HugeInteger(Exception):
    """An integer literal no Kubernetes field can hold."""

    def __init__(self, node):
        super().__init__(node.value[:20])
        self.node = node


def _path_to(root, target, path=()):
    """The field path of node `target` inside the node tree `root`, or None."""
    if root is target:
        return path
    if isinstance(root, _pyyaml().MappingNode):
        for key_node, value_node in root.value:
            key = key_node.value if isinstance(key_node, _pyyaml().ScalarNode) else "?"
            found = _path_to(key_node, target, (*path, key)) if key_node is target else _path_to(value_node, target, (*path, key))
            if found is not None:
                return found
    elif isinstance(root, _pyyaml().SequenceNode):
        for index, item in enumerate(root.value):
            found = _path_to(item, target, (*path, index))
            if found is not None:
                return found
    return None


def _huge_integer_finding(rel: str, document, node) -> Finding:
    from reconciler.manifests.model import format_path

    path = _path_to(document, node) or ()
    digits = len(node.value.lstrip("+-"))
    return Finding(file=rel, line=node.start_mark.line + 1, col=node.start_mark.column + 1, path=format_path(path),
                   message=f"integer literal of {digits} characters is out of range for any Kubernetes field; the object is not read",
                   hint="Kubernetes counts are 32-bit (at most 2147483647) and durations 64-bit; write the number you mean",
                   rule="integer-range")


class _Unusual(Exception):
    """A node `_build` leaves to PyYAML's constructor (explicit tags, merge keys, unhashable keys)."""


_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT = (_TAG + t for t in ("str", "null", "bool", "int", "float"))
_MAP, _SEQ, _MERGE = _TAG + "map", _TAG + "seq", _TAG + "merge"
_ScalarNode = _MappingNode = _SequenceNode = None  # PyYAML's node classes, bound on first load


def _scalar_builders(loader):
    """tag -> function(node) for the scalar tags manifests use; the values are PyYAML's own."""
    global _ScalarNode, _MappingNode, _SequenceNode
    yaml = _pyyaml()
    _ScalarNode, _MappingNode, _SequenceNode = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode
    bool_values = loader.bool_values
    construct_int = loader.construct_yaml_int  # signs, 0x / 0b / octal 017, 1_000, sexagesimal 1:30
    def build_int(node):
        if len(node.value) > MAX_INT_LITERAL:
            raise HugeInteger(node)
        return int(node.value) if node.value.isdigit() and node.value[0] != "0" else construct_int(node)

    return {
        _STR: _shared_text,
        _NULL: lambda node: None,
        _BOOL: lambda node: bool_values[node.value.lower()],
        _INT: build_int,
        _FLOAT: loader.construct_yaml_float,
    }


_SHARED_TEXT_MAX = 64


def _shared_text(node) -> str:
    """A string scalar; a short one is interned, so the keys and values every manifest repeats
    (`metadata`, `name`, `http`, ...) are held once, not once per document (a tenth of the memory
    of a 10,000-Rollout run)."""
    value = node.value
    return sys.intern(value) if len(value) <= _SHARED_TEXT_MAX else value


def _build(node, scalars: dict, duplicates: list):
    """The value of an alias-free node, as SafeConstructor would make it; appends to `duplicates`
    when a mapping repeats a key (the caller then locates them on the node tree)."""
    cls = node.__class__
    if cls is _ScalarNode:
        build = scalars.get(node.tag)
        if build is None:
            raise _Unusual(node.tag)
        return build(node)
    if cls is _MappingNode:
        if node.tag != _MAP:
            raise _Unusual(node.tag)
        out: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                raise _Unusual("merge key")
            key = _build(key_node, scalars, duplicates)
            if key.__class__ in (dict, list):
                raise _Unusual("unhashable key")  # PyYAML's constructor reports it
            if key in out:
                duplicates.append(key)
            out[key] = _build(value_node, scalars, duplicates)
        return out
    if cls is _SequenceNode:
        if node.tag != _SEQ:
            raise _Unusual(node.tag)
        return [_build(item, scalars, duplicates) for item in node.value]
    raise _Unusual(cls.__name__)


def _load_text(text: str, rel: str, limits: Limits) -> tuple[list[Manifest], list[Finding]]:
    yaml = _pyyaml()
    findings: list[Finding] = []
    manifests: list[Manifest] = []
    loader = _loader_class()(text)
    positions = _FilePositions(text)
    has_aliases = "*" in text
    scalars = _scalar_builders(loader)
    index = -1
    try:
        while loader.check_node():
            index += 1
            node = loader.get_node()
            if node is None:
                continue
            shared = False  # does an alias make some node appear twice?
            if has_aliases:
                distinct: dict = {}
                expanded = _expanded_size(node, distinct, len(distinct) + limits.max_alias_expansion + 1)
                if expanded - len(distinct) > limits.max_alias_expansion:
                    findings.append(
                        _file_finding(
                            rel,
                            f"document {index + 1}: YAML aliases expand to more than {limits.max_alias_expansion} nodes; not read",
                            "write the values out instead of nesting aliases (this pattern is a known denial-of-service)",
                            "alias-expansion",
                            line=node.start_mark.line + 1,
                            col=node.start_mark.column + 1,
                        )
                    )
                    continue
                shared = expanded > len(distinct)
            dups: list[Finding] = []
            repeated: list = []
            obj = _NOT_BUILT
            try:
                if not shared:  # aliased nodes are shared objects: PyYAML's constructor keeps them so
                    try:
                        obj = _build(node, scalars, repeated)
                    except _Unusual:
                        repeated = [True]
                if repeated or shared:
                    _duplicate_keys(node, rel, dups)  # before construct_document, which flattens merge keys in place
                if obj is _NOT_BUILT:
                    obj = loader.construct_document(node)
            except HugeInteger as huge:
                findings.append(_huge_integer_finding(rel, node, huge.node))
                continue
            except (ValueError, TypeError, OverflowError) as err:  # PyYAML's constructor on a value it cannot make
                findings.append(_file_finding(rel, f"document {index + 1} cannot be read: {str(err)[:200]}; skipped",
                                              "check the values of this document (numbers, dates, tags)", "yaml-value",
                                              line=node.start_mark.line + 1, col=node.start_mark.column + 1))
                continue
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
            if not isinstance(obj, dict) or not obj.get("kind") or not obj.get("apiVersion"):
                if obj is None:
                    continue
                findings.extend(dups)
                values = _is_values_file(rel) and isinstance(obj, dict)
                findings.append(
                    _file_finding(
                        rel,
                        "a Helm values file, not Kubernetes objects; skipped" if values
                        else f"document {index + 1} is not a Kubernetes object (no apiVersion/kind); skipped",
                        "render the chart with it first (helm template NAME CHART -f " + rel + " > rendered.yaml) and point the reconciler "
                        "at the output" if values else "if it is meant to be one, add apiVersion and kind; otherwise move it out of the manifests path",
                        "render-first" if values else "not-kubernetes",
                        line=line,
                        col=col,
                        severity=Severity.WARNING,
                    )
                )
                continue
            manifest = Manifest(obj=obj, file=rel, line=line, col=col, doc_index=index, locate_fn=positions.locator(index))
            findings.extend(_with_object(d, manifest.ref) for d in dups)
            manifests.append(manifest)
    except RecursionError:
        findings.append(
            _file_finding(rel, "YAML nested too deeply to read; not read", "flatten the document", "yaml-depth")
        )
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = getattr(err, "problem", None) or str(err)
        context = getattr(err, "context", None)
        findings.append(
            _file_finding(
                rel,
                f"not valid YAML: {problem}" + (f" ({context})" if context else ""),
                "fix the YAML syntax at this line (indentation, an unclosed bracket or quote)",
                "yaml-syntax",
                line=line,
                col=col,
            )
        )
    finally:
        loader.dispose()
    return manifests, findings


def _with_object(finding: Finding, ref: str) -> Finding:
    from dataclasses import replace

    return replace(finding, object=ref)


def load_directory(root: str | Path, limits: Limits = Limits()) -> LoadResult:
    """Every Kubernetes object under `root` (recursively), with the findings met on the way."""
    root = Path(root)
    skipped = _render_first(root.parent, root.parent, [root.name]) if root.is_file() else None
    if skipped is not None:  # SOURCE is a kustomization file or a chart's Chart.yaml
        return LoadResult(manifests=[], findings=[skipped], files_read=0)
    if root.is_file():
        one_file, its_findings = load_file(root, root.name, limits)
        return LoadResult(manifests=one_file, findings=its_findings, files_read=1)
    manifests: list[Manifest] = []
    findings: list[Finding] = []
    files_read = 0
    for path, rel in _files(root, findings):
        found, problems = load_file(path, rel, limits)
        files_read += 1
        manifests.extend(found)
        findings.extend(problems)
    return LoadResult(manifests=manifests, findings=findings, files_read=files_read)
