"""Column alignment the way Go's text/tabwriter does it for `kubectl argo rollouts`
(minwidth 0, padding 2, pad with spaces): every cell but the last of a row is padded to the
widest cell of its column plus two spaces. Widths count characters (runes), so the tree's
box-drawing characters and status symbols count as one each.

One deliberate difference: trailing spaces are stripped from each line (Go keeps the padding of
empty INFO cells). The text reads the same and copies cleanly into files and tests.
"""

from __future__ import annotations

from typing import Sequence

PADDING = 2


def align(rows: Sequence[Sequence[str]], padding: int = PADDING) -> list[str]:
    """Rows of cells → aligned lines (no trailing whitespace)."""
    widths: dict[int, int] = {}
    for row in rows:
        for index, cell in enumerate(row[:-1]):
            widths[index] = max(widths.get(index, 0), len(cell))
    lines = []
    for row in rows:
        parts = [cell.ljust(widths[index] + padding) for index, cell in enumerate(row[:-1])]
        if row:
            parts.append(row[-1])
        lines.append("".join(parts).rstrip())
    return lines
