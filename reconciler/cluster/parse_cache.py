"""What the embedded cluster's YAML files parse to, kept beside them so a run does not parse
thousands of unchanged files again (PyYAML's constructor was a third of a 1,000-Rollout `plan`).

    DIR/.parse-cache/<namespace or _cluster>/<Kind>.json

One JSON file per kind directory: {"format", "loader", "entries": {file name: [digest, object]}}.
An entry is used only when its digest is the BLAKE2b digest of the file's bytes as read now, so a
hand edit, a write by another process, or a file restored from a backup is parsed again. A cache
file that is not JSON, has another format or loader, or holds a malformed entry is ignored (that
entry, or the whole file) and rebuilt: nothing in it is trusted beyond "these bytes parsed to this".
Only objects that survive JSON unchanged are kept (string keys, no timestamps: the reconciler writes
nothing else); anything else is parsed every time.

Writes by this process are recorded as they happen (the object written and the digest of the text
written) and merged into the cache file at the next read of that directory or at exit. Two
processes may race on a cache file: the last rename wins and a lost entry is only a miss.
"""

from __future__ import annotations

import atexit
import json
import threading
from collections.abc import Callable
from pathlib import Path

import yaml

from reconciler.atomic_write import write_text_atomically
from reconciler.plain_data import digest, json_clean

CACHE_DIR = ".parse-cache"
FORMAT = 1
# What the entries were parsed with: another PyYAML (or its pure-Python fallback) may parse differently.
LOADER = f"pyyaml-{yaml.__version__}-{'libyaml' if hasattr(yaml, 'CSafeLoader') else 'python'}"

_pending: dict[Path, dict[str, tuple[str, str]]] = {}  # cache file -> file name -> (digest, object as JSON) written
# A cache file's recorded writes are merged into it once this many are waiting, so a run that writes
# tens of thousands of objects does not hold them all until exit.
PENDING_LIMIT = 500
_pending_lock = threading.Lock()


def cache_file(cluster_dir: Path, kind_dir: Path) -> Path:
    """DIR/.parse-cache/<namespace>/<Kind>.json for DIR/<namespace>/<Kind>/."""
    return cluster_dir / CACHE_DIR / kind_dir.parent.name / f"{kind_dir.name}.json"


def _read_entries(path: Path) -> dict[str, tuple[str, object]]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):  # missing, unreadable, not JSON (ValueError covers UnicodeDecodeError)
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("loader") != LOADER:
        return {}
    entries = data.get("entries")
    if not isinstance(entries, dict):
        return {}
    kept = {}
    for name, entry in entries.items():
        if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) and len(entry[0]) == 32:
            kept[name] = (entry[0], entry[1])
    return kept


def _write_entries(path: Path, entries: dict[str, tuple[str, object]]) -> None:
    text = json.dumps({"format": FORMAT, "loader": LOADER, "entries": {name: [d, obj] for name, (d, obj) in sorted(entries.items())}},
                      separators=(",", ":"))
    try:
        write_text_atomically(path, text)
    except OSError:
        pass  # a cache that cannot be written is only slower next time


def _take_pending(path: Path) -> dict[str, tuple[str, object]]:
    with _pending_lock:
        written = _pending.pop(path, {})
    return {name: (key, json.loads(text)) for name, (key, text) in written.items()}


def load_directory(cluster_dir: Path, kind_dir: Path, read: Callable[[Path], bytes],
                   parse: Callable[[Path, bytes], object]) -> list[tuple[Path, object]]:
    """(path, parsed object) of every *.yaml file in `kind_dir`, sorted by name. `read(path)` gives
    a file's bytes; files whose bytes match a cache entry are not parsed, `parse(path, data)` parses
    the others (and raises on a bad file, as it always did)."""
    path = cache_file(cluster_dir, kind_dir)
    entries = _read_entries(path)
    pending = _take_pending(path)
    changed = bool(pending)
    entries.update(pending)
    out = []
    seen = set()
    for file in sorted(kind_dir.glob("*.yaml")):
        data = read(file)
        name = file.name
        seen.add(name)
        key = digest(data)
        entry = entries.get(name)
        if entry is not None and entry[0] == key:
            out.append((file, entry[1]))
            continue
        obj = parse(file, data)
        if json_clean(obj):
            entries[name] = (key, json.loads(json.dumps(obj)))  # a copy: the caller may change obj
            changed = True
        elif entries.pop(name, None) is not None:
            changed = True
        out.append((file, obj))
    for name in [n for n in entries if n not in seen]:
        del entries[name]
        changed = True
    if changed:
        _write_entries(path, entries)
    return out


def record_write(cluster_dir: Path, file: Path, text: str, obj) -> None:
    """`obj` was just written to `file` as `text`: the next read need not parse it."""
    if not json_clean(obj):
        return
    as_json = json.dumps(obj, separators=(",", ":"))  # text, not a copy of the object: a tenth of the memory
    path = cache_file(cluster_dir, file.parent)
    with _pending_lock:
        waiting = _pending.setdefault(path, {})
        waiting[file.name] = (digest(text.encode("utf-8")), as_json)
        full = len(waiting) >= PENDING_LIMIT
    if full:
        _merge(path)


def flush() -> None:
    """Merge every recorded write into its cache file (at exit, and for tests)."""
    with _pending_lock:
        paths = list(_pending)
    for path in paths:
        _merge(path)


def _merge(path: Path) -> None:
    written = _take_pending(path)
    if not written or not path.parents[2].is_dir():  # the cluster directory went away (a test's tmp dir)
        return
    entries = _read_entries(path)
    entries.update(written)
    _write_entries(path, entries)


atexit.register(flush)
