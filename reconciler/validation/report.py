"""Findings as text (grouped by file), JSON, or GitHub workflow commands."""

from __future__ import annotations

import json
from itertools import groupby

from reconciler.findings import Finding


def _sort_key(f: Finding):
    return (f.file, f.line, f.col, f.path)


def render(findings: list[Finding], fmt: str, *, files_read: int = 0, objects: int = 0, source: str = "", commit: str | None = None,
           prefix: str = "") -> str:
    findings = sorted(findings, key=_sort_key)
    errors = sum(1 for f in findings if f.is_error)
    warnings = len(findings) - errors
    if fmt in ("json", "yaml"):
        data = {
            "source": source,
            "commit": commit,
            "filesRead": files_read,
            "objects": objects,
            "errors": errors,
            "warnings": warnings,
            "valid": errors == 0,
            "findings": [dict(f.to_dict(), file=prefix + f.file) for f in findings],
        }
        if fmt == "yaml":
            import yaml

            return yaml.safe_dump(data, sort_keys=False).rstrip("\n")
        return json.dumps(data, indent=2)
    if fmt == "github":
        lines = []
        for f in findings:
            level = "error" if f.is_error else "warning"
            title = _escape_property(f"{f.rule or 'reconciler'}: {f.path}" if f.path else f.rule or "reconciler")
            text = f.message + (f" -- {f.hint}" if f.hint else "")
            lines.append(f"::{level} file={_escape_property(prefix + f.file)},line={f.line},col={f.col},title={title}::{_escape_data(text)}")
        lines.append(_summary(errors, warnings, files_read, objects))
        return "\n".join(lines)
    out = []
    for file, group in groupby(findings, key=lambda f: f.file):
        out.append(prefix + file)
        for f in group:
            level = "error" if f.is_error else "warning"
            where = f"  {prefix}{f.file}:{f.line}:{f.col}"
            out.append(f"{where}  {level}  {f.path or '(document)'}: {f.message}" + (f"  [{f.object}]" if f.object else ""))
            if f.hint:
                out.append(f"      hint: {f.hint}")
        out.append("")
    out.append(_summary(errors, warnings, files_read, objects))
    return "\n".join(out)


def _summary(errors: int, warnings: int, files_read: int, objects: int) -> str:
    verdict = "valid" if errors == 0 else "invalid"
    return f"{verdict}: {errors} error(s), {warnings} warning(s) in {objects} object(s) from {files_read} file(s)"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
