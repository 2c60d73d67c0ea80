"""A local directory as a source: read in place, never copied."""

from __future__ import annotations

from pathlib import Path

from reconciler.errors import SourceError, UsageError
from reconciler.source.checkout import Checkout


def resolve_subpath(base: Path, path: str | None, shown: str) -> Path:
    if not path:
        return base
    target = (base / path).resolve()
    try:
        target.relative_to(base.resolve())
    except ValueError:
        raise UsageError(f"--path {path!r} leaves the source", hint="give a folder inside the repository") from None
    if not target.is_dir():
        raise SourceError(f"--path {path!r} is not a folder in {shown}", hint="check the folder name and --ref")
    return target


def open_local(directory: Path, ref: str | None = None, path: str | None = None) -> Checkout:
    if ref:
        raise UsageError("--ref applies to a Git SOURCE, not a local directory", hint="drop --ref, or give a Git URL")
    if not directory.exists():
        raise SourceError(f"{directory} does not exist", hint="give a local directory or a Git URL (https://, ssh://, file://, git://)")
    root = resolve_subpath(directory, path, str(directory)) if directory.is_dir() else directory
    return Checkout(root=root, repo_dir=directory, commit=None, display_url=str(directory), is_git=False, ref=None)
