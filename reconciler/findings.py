"""Findings: errors and warnings about the user's input, each with a place."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem in one place: `file:line:col`, the field path inside the object, and a hint."""

    file: str
    line: int
    col: int
    path: str  # dotted field path inside the object, e.g. "spec.strategy.blueGreen.activeService"
    message: str
    hint: str = ""
    severity: Severity = Severity.ERROR
    rule: str = ""  # short id of the check that produced it, e.g. "schema", "bluegreen-active-service"
    object: str = ""  # "Kind/namespace/name" of the object it is about, when known

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["severity"] = self.severity.value
        return out


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.is_error for f in findings)
