"""Column alignment the way Go's text/tabwriter does it for `kubectl argo rollouts`
(minwidth 0, padding 2, pad with spaces): every cell but the last of a row is padded to the
widest cell of its column plus two spaces. Widths count characters (runes), so the tree's
box-drawing characters and status symbols count as one each.

One deliberate difference: trailing spaces are stripped from each line (Go keeps the padding of
empty INFO cells). The text reads the same and copies cleanly into files and tests.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

PADDING = 2
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def visible_width(cell: str) -> int:
    """Characters a terminal shows: colour escape codes take no room."""
    return len(_ANSI.sub("", cell)) if "\x1b" in cell else len(cell)


def align(rows: Sequence[Sequence[str]], padding: int = PADDING) -> list[str]:
    """Rows of cells → aligned lines (no trailing whitespace)."""
    widths: dict[int, int] = {}
    for row in rows:
        for index, cell in enumerate(row[:-1]):
            widths[index] = max(widths.get(index, 0), visible_width(cell))
    lines = []
    for row in rows:
        parts = [cell + " " * (widths[index] + padding - visible_width(cell)) for index, cell in enumerate(row[:-1])]
        if row:
            parts.append(row[-1])
        lines.append("".join(parts).rstrip())
    return lines
