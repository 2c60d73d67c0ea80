"""Load every *.yaml / *.yml under a directory into Manifests with line positions.

Parsing uses libyaml through PyYAML's C loader when present (about ten times faster than a
pure-Python parser; a CronJob pays it every tick). YAML 1.1 scalars are what `kubectl apply`
sees too (go-yaml), with one exception: timestamps stay strings, as the API server reads them.

Positions are only needed for findings, and most objects have none, so the node tree is not
kept: each document is built into plain dicts/lists straight from its nodes (`build_plain` in build.py, which
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
from dataclasses import dataclass
from pathlib import Path

from reconciler.findings import Finding, Severity
from reconciler.manifests.build import HugeInteger, Unusual, build_plain, huge_integer_finding, scalar_builders
from reconciler.manifests.files import file_finding, is_values_file, manifest_files, render_first
from reconciler.manifests.lists import expand as expand_list
from reconciler.manifests.model import LoadResult, Manifest
from reconciler.manifests.yaml_nodes import FilePositions, duplicate_keys, expanded_size, loader_class, pyyaml

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_ALIAS_EXPANSION = 100_000


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = MAX_FILE_BYTES
    max_alias_expansion: int = MAX_ALIAS_EXPANSION


def load_file(path: str | Path, rel: str, limits: Limits = Limits(), cache=None) -> tuple[list[Manifest], list[Finding]]:
    """Manifests and findings of one file (`rel` is how findings name it). `cache`: a
    reconciler.manifests.source_cache.SourceCache, or None."""
    data, problems = _read(path, rel, limits)
    if data is None:
        return [], problems
    key = ""
    if cache is not None:
        key = cache.key(rel, data, limits)
        entry = cache.get(key)
        if entry is not None:
            return _with_list_items(*_from_entry(entry, data, rel))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        problems = [
            file_finding(
                rel,
                f"file is not UTF-8 (byte 0x{data[err.start]:02x} at line {line}, column {col})",
                "save it as UTF-8; Kubernetes only accepts UTF-8 manifests",
                "encoding",
                line=line,
                col=col,
            )
        ]
        if cache is not None:
            cache.put(key, [], problems)
        return [], problems
    if text.startswith("\ufeff"):
        text = text[1:]
    if cache is None:
        return _with_list_items(*_load_text(text, rel, limits))
    manifests, findings = _load_text(text, rel, limits)
    if cache.check is not None:
        for manifest in manifests:
            manifest.checked = cache.check(manifest)
    cache.put(key, manifests, findings)
    return _with_list_items(manifests, findings)


def _with_list_items(manifests: list[Manifest], findings: list[Finding]) -> tuple[list[Manifest], list[Finding]]:
    """A `kind: List` document stands for its items (reconciler/manifests/lists.py); done after the
    source cache, which keeps documents as they are."""
    out: list[Manifest] = []
    for manifest in manifests:
        items, item_findings = expand_list(manifest)
        out.extend(items)
        findings = [*findings, *item_findings] if item_findings else findings
    return out, findings


def _read(path: str | Path, rel: str, limits: Limits) -> tuple[bytes | None, list[Finding]]:
    """The file's bytes, or None and the finding that says why not. One open, fstat and read: a
    warm run reads thousands of files and does little else with most of them. O_NONBLOCK: a file
    swapped for a FIFO since it was listed is not waited on."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        try:
            os.stat(path)
        except OSError as gone:
            return None, [file_finding(rel, f"cannot read the file: {gone.strerror}", "check its permissions", "read-error")]
        return None, [file_finding(rel, f"cannot read the file: {err.strerror or err}",
                                   "check its permissions (the reconciler must be able to read every manifest)", "read-error")]
    try:
        size = os.fstat(fd).st_size
        if size > limits.max_file_bytes:
            return None, [_too_large(rel, size, limits)]
        parts = []
        got = 0
        while True:
            chunk = os.read(fd, max(size + 1 - got, 65536))
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
            if got > limits.max_file_bytes:  # it grew while being read
                return None, [_too_large(rel, got, limits)]
        return (parts[0] if len(parts) == 1 else b"".join(parts)), []
    except OSError as err:  # an I/O error, a folder
        return None, [file_finding(rel, f"cannot read the file: {err.strerror or err}",
                                   "check its permissions (the reconciler must be able to read every manifest)", "read-error")]
    finally:
        os.close(fd)


def _too_large(rel: str, size: int, limits: Limits) -> Finding:
    return file_finding(rel, f"file is {size} bytes, above the {limits.max_file_bytes}-byte limit; not read",
                        "split it into smaller files (a manifest file this large is almost certainly generated or hostile)",
                        "file-too-large")


def _from_entry(entry, data: bytes, rel: str) -> tuple[list[Manifest], list[Finding]]:
    """What a source cache entry holds, as the loader would have made it from the file's bytes
    (decoded only when a finding asks where a field is)."""
    objects, findings = entry
    positions = FilePositions(data)
    manifests = [Manifest(obj=obj, file=rel, line=line, col=col, doc_index=index, locate_fn=positions.locator(index), checked=checked)
                 for obj, line, col, index, checked in objects]
    return manifests, findings



_NOT_BUILT = object()


def _load_text(text: str, rel: str, limits: Limits) -> tuple[list[Manifest], list[Finding]]:
    yaml = pyyaml()
    findings: list[Finding] = []
    manifests: list[Manifest] = []
    loader = loader_class()(text)
    positions = FilePositions(text)
    has_aliases = "*" in text
    scalars = scalar_builders(loader)
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
                expanded = expanded_size(node, distinct, len(distinct) + limits.max_alias_expansion + 1)
                if expanded - len(distinct) > limits.max_alias_expansion:
                    findings.append(
                        file_finding(
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
                        obj = build_plain(node, scalars, repeated)
                    except Unusual:
                        repeated = [True]
                if repeated or shared:
                    duplicate_keys(node, rel, dups)  # before construct_document, which flattens merge keys in place
                if obj is _NOT_BUILT:
                    obj = loader.construct_document(node)
            except HugeInteger as huge:
                findings.append(huge_integer_finding(rel, node, huge.node))
                continue
            except (ValueError, TypeError, OverflowError) as err:  # PyYAML's constructor on a value it cannot make
                findings.append(file_finding(rel, f"document {index + 1} cannot be read: {str(err)[:200]}; skipped",
                                              "check the values of this document (numbers, dates, tags)", "yaml-value",
                                              line=node.start_mark.line + 1, col=node.start_mark.column + 1))
                continue
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
            if not isinstance(obj, dict) or not obj.get("kind") or not obj.get("apiVersion"):
                if obj is None:
                    continue
                findings.extend(dups)
                values = is_values_file(rel) and isinstance(obj, dict)
                findings.append(
                    file_finding(
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
            file_finding(rel, "YAML nested too deeply to read; not read", "flatten the document", "yaml-depth")
        )
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = getattr(err, "problem", None) or str(err)
        context = getattr(err, "context", None)
        findings.append(
            file_finding(
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


def load_directory(root: str | Path, limits: Limits = Limits(), cache=None) -> LoadResult:
    """Every Kubernetes object under `root` (recursively), with the findings met on the way.
    `cache`: a reconciler.manifests.source_cache.SourceCache (files unchanged since they were last
    read are not parsed, nor their objects' own findings looked for again), or None."""
    root = Path(root)
    skipped = render_first(root.parent, root.parent, [root.name]) if root.is_file() else None
    if skipped is not None:  # SOURCE is a kustomization file or a chart's Chart.yaml
        return LoadResult(manifests=[], findings=[skipped], files_read=0)
    if root.is_file():
        one_file, its_findings = load_file(root, root.name, limits, cache)
        if cache is not None:
            cache.save()
        return LoadResult(manifests=one_file, findings=its_findings, files_read=1)
    manifests: list[Manifest] = []
    findings: list[Finding] = []
    files_read = 0
    for path, rel in manifest_files(root, findings):
        found, problems = load_file(path, rel, limits, cache)
        files_read += 1
        manifests.extend(found)
        findings.extend(problems)
    if cache is not None:
        cache.save()
    return LoadResult(manifests=manifests, findings=findings, files_read=files_read)
