"""Watching a view until something ends it: `get rollout --watch`, `list rollouts --watch`, `status`.

The reconciler has no resident controller, so a view changes when a run (a CronJob tick, a person
at a terminal) writes the cluster, or when time passes (a pod becoming ready in the embedded
cluster, ages). The loop therefore looks twice:
- cheaply and often (every POLL_SECONDS) at a fingerprint of what can change: the embedded
  cluster's files (names, sizes, mtimes); a changed fingerprint rebuilds the view at once;
- at most every REFRESH_SECONDS it rebuilds the view anyway (time-driven changes; and for
  `--cluster kube` or a Git status source, where there is no cheap fingerprint, this is the poll).

On a terminal each new rendering replaces the previous one in place; otherwise each new state is
printed once, as a block, so a log or a pipe gets one entry per change.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

POLL_SECONDS = 0.25
REFRESH_SECONDS = 2.0
# Cursor home + clear the screen: the next rendering replaces the previous one (as watch(1) does).
CLEAR = "\x1b[H\x1b[2J"


@dataclass
class Ended:
    reason: str  # "done" (the stop condition held), "timeout", "interrupted"
    last: object = None  # the last snapshot's data


def parse_timeout(value: str | None) -> float | None:
    """--timeout as seconds; None or 0 means no limit."""
    if value is None or str(value).strip() in ("", "0"):
        return None
    from reconciler.durations import parse_duration
    from reconciler.errors import UsageError

    seconds = parse_duration(str(value))
    if seconds is None or seconds < 0:
        raise UsageError(f"--timeout {value!r} is not a duration", hint="write e.g. --timeout 5m, 90s or 300 (seconds); 0 waits forever")
    return seconds or None


def local_fingerprint(cluster_spec: str) -> Callable[[], object] | None:
    """A cheap function whose value changes when the embedded cluster's files change; None for
    a backend without one (kube: the refresh poll does the work)."""
    if not (cluster_spec == "local" or cluster_spec.startswith("local:")):
        return None
    directory = Path(cluster_spec.partition(":")[2] or ".reconciler/cluster")

    def fingerprint() -> object:
        seen = []
        for dirpath, _dirnames, filenames in os.walk(directory):
            for name in filenames:
                try:
                    stat = os.stat(os.path.join(dirpath, name))
                except FileNotFoundError:  # replaced while we looked (writes are atomic renames)
                    continue
                seen.append((dirpath, name, stat.st_mtime_ns, stat.st_size))
        return tuple(sorted(seen))

    return fingerprint


def watch(
    snapshot: Callable[[], tuple[object, object]],
    render: Callable[[object], str],
    *,
    timeout: float | None,
    fingerprint: Callable[[], object] | None = None,
    redraw: bool | None = None,
    done: Callable[[object], bool] | None = None,
    between: str = "\n",
    out=None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Ended:
    """Show `render(data)` for each new `snapshot()` = (key, data) until `done(data)`, the
    timeout, or Ctrl-C. `key` is what counts as a change (a block is printed only when it
    differs); on a terminal (`redraw`) the rendering is refreshed in place whenever its text
    changes (ages move). Errors from `snapshot` propagate (the caller exits 2)."""
    out = out or sys.stdout
    redraw = out.isatty() if redraw is None else redraw
    start = clock()
    last_key = last_text = last_print = None
    last_fp = fingerprint() if fingerprint else None
    last_data = None
    rebuilt_at = None
    try:
        while True:
            now = clock()
            changed_files = False
            if fingerprint is not None and rebuilt_at is not None:
                current = fingerprint()
                changed_files = current != last_fp
                last_fp = current
            if rebuilt_at is None or changed_files or now - rebuilt_at >= REFRESH_SECONDS:
                key, last_data = snapshot()
                rebuilt_at = now
                text = render(last_data)
                if redraw:
                    if text != last_text:
                        out.write(CLEAR + text)
                        out.flush()
                elif key != last_key:
                    if last_print is not None:
                        out.write(between)  # a blank line between blocks (none between status lines)
                    out.write(text)
                    out.flush()
                    last_print = text
                last_key, last_text = key, text
                if done is not None and done(last_data):
                    return Ended("done", last_data)
            if timeout is not None and clock() - start >= timeout:
                return Ended("timeout", last_data)
            sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        return Ended("interrupted", last_data)
