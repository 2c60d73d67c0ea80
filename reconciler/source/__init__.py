"""Sources: where the manifests come from -- a local directory or a Git repository.

    with open_source("https://github.com/org/repo", ref="main", path="deploy") as checkout:
        load_directory(checkout.root)

Git URLs (https, ssh, scp-like `git@host:org/repo`, `file://`, `git://`) are cloned shallow and
single-branch into a temporary directory that is always removed. Credentials come from the
environment (see reconciler/source/credentials.py) and reach git through its environment only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reconciler.source.checkout import Checkout, is_git_url

__all__ = ["open_source", "Checkout", "is_git_url"]


@contextmanager
def open_source(spec: str, ref: str | None = None, path: str | None = None, timeout: float | None = None) -> Iterator[Checkout]:
    """`timeout`: the most a clone may take (run --timeout's remaining time); None: git's own default."""
    if is_git_url(spec):
        from reconciler.source.git import clone

        with clone(spec, ref=ref, path=path, timeout=timeout) as checkout:
            yield checkout
    else:
        from reconciler.source.local import open_local

        yield open_local(Path(spec), ref=ref, path=path)
