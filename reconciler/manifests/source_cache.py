"""What each SOURCE file parses to and the findings that depend on its objects alone, kept so that
a run over an unchanged repository parses and validates nothing again (issue 16).

    DIR/source-v1/<digest of the source's identity>.json   DIR: --cache-dir, RECONCILER_CACHE_DIR,
                                                            default $XDG_CACHE_HOME/reconciler

One pack per source (its Git URL and path, or its folder), holding one entry per file. An entry's
key is a BLAKE2b digest of: the file's bytes (their digest), its path in SOURCE (findings name it),
the loader's limits, and this build's fingerprint (`fingerprint`: the reconciler's version, the
digest of its schemas, the size and time of each of its modules, the PyYAML/libyaml, jsonschema and
jsonschema-rs versions). Change any of them and the entry is simply not found: a changed file misses
alone, the others are still used. A pack keeps the entries of the files read by the last run that
wrote it (it is rewritten, whole, when a file was new or changed or gone), so it does not grow.

A pack is one line of header, {"format", "digest"}, then the body as JSON. An entry holds the file's
objects (object, line, column, document index, and `Manifest.checked`: the findings by rule that
depend on the object alone) and the loader's findings for the file. A pack is used only when its
format is this one and the body's BLAKE2b digest matches; an entry only when every field has its
type. Anything else (truncated, corrupted, another format, an entry copied under another key: its
key covers the bytes of its file) is a miss, and the pack is written again. Nothing is ever
unpickled or evaluated. The cache's folder must belong to the user and be writable by nobody else
(it is created so): one that is not, or cannot be created or written, is not used, and the run goes
on without it after one warning. A pack is written to a temporary file and renamed into place, so
two processes filling it at once each leave a whole pack (the last rename wins; a lost entry is a
miss).

Only files whose objects survive JSON unchanged are kept (string keys; no YAML alias shared between
two places, no binary or set); the others are parsed every time. Rules across objects (references,
duplicates, templates, notifications) are never cached: `validate` runs them on the objects however
they were loaded. Positions of fields are not kept either: a finding asks the file's text, read for
its digest anyway, as it would without the cache.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from reconciler.findings import Finding, Severity
from reconciler.plain_data import blake2b, digest, json_clean

FORMAT = 1
SUBDIR = f"source-v{FORMAT}"
ENV = "RECONCILER_CACHE_DIR"

_fingerprint: str | None = None


def default_dir(environ=os.environ) -> Path:
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "reconciler"


def resolve_dir(option: str | None, no_cache: bool = False, environ=os.environ) -> Path | None:
    """The cache folder for --cache-dir / RECONCILER_CACHE_DIR / the default; None (no cache) for
    --no-cache or an empty --cache-dir."""
    if no_cache:
        return None
    if option is None:
        option = environ.get(ENV)
    if option is None:
        return default_dir(environ)
    return Path(option).expanduser() if option.strip() else None


def fingerprint() -> str:
    """What an entry was made by: another version, schema or module of the reconciler, or another
    YAML or JSON Schema library, may parse or judge differently."""
    global _fingerprint
    if _fingerprint is None:
        import reconciler

        _fingerprint = build_fingerprint(Path(reconciler.__file__).resolve().parent, reconciler.__version__, _library_versions())
    return _fingerprint


def build_fingerprint(package: Path, version: str, libraries: str) -> str:
    """The digest of `version`, `libraries`, the bytes of the package's schemas, and the size and
    time of each of its modules (reading them all would cost a warm run more than the rest)."""
    h = blake2b(digest_size=16)
    h.update(f"{FORMAT}\0{version}\0{libraries}\0".encode())
    for schema in sorted((package / "schemas").glob("*.json")):
        h.update(schema.name.encode() + b"\0" + schema.read_bytes())
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
        for name in sorted(f for f in files if f.endswith(".py")):
            stat = os.stat(os.path.join(folder, name))
            h.update(f"{os.path.relpath(folder, package)}/{name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return h.hexdigest()


def _library_versions() -> str:
    """The YAML and JSON Schema libraries' files (names, sizes, times): an upgrade or reinstall
    changes them. Read from the folders, without importing them (a warm run does not need them)."""
    from importlib.util import find_spec

    found = []
    for module in ("yaml", "jsonschema", "jsonschema_rs"):
        try:
            spec = find_spec(module)
        except (ImportError, ValueError):
            spec = None
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        files = [os.path.join(folder, name) for folder in folders for name in sorted(os.listdir(folder))]
        if spec is not None and spec.origin and not folders:
            files.append(spec.origin)
        for path in files:
            try:
                stat = os.stat(path)
            except OSError:
                continue
            found.append(f"{module}:{path}:{stat.st_size}:{stat.st_mtime_ns}")
    return ",".join(found)


class SourceCache:
    """The pack of one source. `source`: what identifies it across runs (a Git URL and path, or a
    folder); `check(manifest)` gives a new entry's per-object findings
    (reconciler.validation.local_checks): without it entries hold no findings, and validation finds
    them every time."""

    def __init__(self, directory: Path, source: str, check: Callable | None = None):
        self.dir = os.path.join(directory, SUBDIR)
        self.path = os.path.join(self.dir, blake2b(source.encode(), digest_size=16).hexdigest() + ".json")
        self.check = check
        self.usable: bool | None = None  # None: not tried yet
        self._stored: dict | None = None  # key -> entry as JSON data, from the pack on disk
        self._kept: dict = {}  # key -> entry as JSON data, for the pack written at `save`
        self._added = False  # an entry was made this run (a file new or changed, or its entry bad)
        self._prefixes: dict = {}  # loader limits -> the start of every key made with them
        self.hits = self.misses = 0

    def key(self, rel: str, data: bytes, limits) -> str:
        prefix = self._prefixes.get(limits)
        if prefix is None:
            prefix = self._prefixes[limits] = f"{fingerprint()}\0{limits!r}\0".encode()
        h = blake2b(prefix, digest_size=20)
        h.update(rel.encode() + b"\0")
        h.update(data)
        return h.hexdigest()

    def _ready(self) -> bool:
        if self.usable is None:
            self.usable = self._prepare()
        return self.usable

    def _prepare(self) -> bool:
        try:
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            info = os.stat(self.dir)
        except OSError as err:
            return self._disable(f"cannot create it: {err.strerror or err}")
        if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
            return self._disable("it belongs to another user")
        if info.st_mode & 0o022:
            return self._disable("others may write to it (chmod go-w)")
        return True

    def _disable(self, why: str) -> bool:
        import logging

        logging.getLogger("reconciler").warning("not using the source cache in %s: %s; going on without it", self.dir, why)
        return False

    def _entries(self) -> dict:
        if self._stored is None:
            self._stored = read_pack(self.path)
        return self._stored

    def get(self, key: str):
        """(objects, findings) of the entry, or None: [(obj, line, col, doc_index, checked)], [Finding]."""
        if not self._ready():
            return None
        raw = self._entries().get(key)
        found = decode_entry(raw, key) if raw is not None else None
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
            self._kept[key] = raw
        return found

    def put(self, key: str, manifests, findings: list[Finding]) -> None:
        if self.usable and all(json_clean(m.obj, unshared=True) for m in manifests):
            self._kept[key] = encode_entry(key, [(m.obj, m.line, m.col, m.doc_index, m.checked) for m in manifests], findings)
            self._added = True

    def save(self) -> None:
        """Write the pack when it is not what this run read (a file was new, changed or gone), then
        let go of the entries: their objects live on in the manifests, the rest is not needed."""
        if self.usable and (self._added or self._kept.keys() != self._entries().keys()):
            from reconciler.atomic_write import write_text_atomically

            try:
                write_text_atomically(Path(self.path), encode_pack(self._kept))
            except OSError as err:
                self.usable = self._disable(f"cannot write to it: {err.strerror or err}")
        self._stored, self._kept, self._added = None, {}, False


# --------------------------------------------------------------------------------------------
# The entry format: plain JSON, checked field by field on the way in


def _finding_out(f: Finding) -> list:
    return [f.file, f.line, f.col, f.path, f.message, f.hint, f.severity.value, f.rule, f.object]


def encode_entry(key: str, objects: list, findings: list[Finding]) -> dict:
    return {
        "key": key,
        "objects": [[obj, line, col, index, _checked_out(checked)] for obj, line, col, index, checked in objects],
        "findings": [_finding_out(f) for f in findings],
    }


def _checked_out(checked: dict | None):
    """Most objects have no finding at all: their rules are then one string, "rule,rule,...", not a
    mapping of empty lists (a tenth of a pack, and of the time to read it)."""
    if checked is None:
        return None
    if not any(checked.values()):
        return ",".join(checked)
    return {rule: [_finding_out(f) for f in found] for rule, found in checked.items()}


def encode_pack(entries: dict) -> str:
    body = json.dumps({"entries": entries}, separators=(",", ":"))
    return json.dumps({"format": FORMAT, "digest": digest(body.encode())}) + "\n" + body


def read_pack(path: str) -> dict:
    """key -> entry (JSON data, not checked yet) of the pack at `path`; {} when it is missing, cut
    short, corrupted or of another format."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        head, _, body = raw.partition(b"\n")
        header = json.loads(head)
        if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("digest") != digest(body):
            return {}
        data = json.loads(body)
    except (OSError, ValueError, RecursionError):
        return {}
    entries = data.get("entries") if isinstance(data, dict) else None
    return entries if isinstance(entries, dict) else {}


class _Bad(Exception):
    pass


def decode_entry(raw, key: str):
    """The entry in `raw`, ([(obj, line, col, doc_index, checked)], [Finding]), if it names `key`
    (an entry copied under another file's key does not) and every field has its type, else None."""
    try:
        if type(raw) is not dict or raw.get("key") != key:
            return None
        return [_object_in(item) for item in _list(raw.get("objects"))], [_finding_in(item) for item in _list(raw.get("findings"))]
    except (_Bad, ValueError, TypeError):
        return None


def _list(value) -> list:
    if type(value) is not list:
        raise _Bad
    return value


def _int(value) -> int:
    if type(value) is not int:
        raise _Bad
    return value


def _object_in(item):
    obj, line, col, index, checked = _list(item)
    if type(obj) is not dict:
        raise _Bad
    if type(checked) is str:
        rules = _no_findings.get(checked)
        if rules is None:
            rules = _no_findings[checked] = tuple(checked.split(",")) if checked else ()
        checked = {rule: [] for rule in rules}
    elif checked is not None:
        if type(checked) is not dict:
            raise _Bad
        checked = {_str(rule): [_finding_in(f) for f in _list(found)] for rule, found in checked.items()}
    return obj, _int(line), _int(col), _int(index), checked


_no_findings: dict[str, tuple[str, ...]] = {}  # "rule,rule" -> its rules


def _str(value) -> str:
    if type(value) is not str:
        raise _Bad
    return value


def _finding_in(item) -> Finding:
    file, line, col, path, message, hint, severity, rule, obj = _list(item)
    return Finding(file=_str(file), line=_int(line), col=_int(col), path=_str(path), message=_str(message), hint=_str(hint),
                   severity=Severity(_str(severity)), rule=_str(rule), object=_str(obj))
