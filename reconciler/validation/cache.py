"""The source cache (reconciler/manifests/source_cache.py) as the commands use it: one pack per
source, its entries filled with the findings validation keeps per object (`local_checks`)."""

from __future__ import annotations

from pathlib import Path


def source_cache(cache_dir: Path | None, checkout):
    """The source cache of `checkout` (a reconciler.source.Checkout) in `cache_dir`; None when there
    is no cache folder (--no-cache, --cache-dir '')."""
    if cache_dir is None:
        return None
    from reconciler.manifests.source_cache import SourceCache
    from reconciler.validation import local_checks

    return SourceCache(cache_dir, source_identity(checkout), check=local_checks)


def source_identity(checkout) -> str:
    """What names a source from one run to the next: a Git source is cloned afresh into a new
    temporary folder each time, so it is its URL, ref and path; a folder is its real path."""
    if checkout.is_git:
        try:
            sub = checkout.root.relative_to(checkout.repo_dir).as_posix()
        except ValueError:
            sub = checkout.root.as_posix()
        return f"git\0{checkout.display_url}\0{checkout.ref or ''}\0{sub}"
    return f"dir\0{checkout.root.resolve()}"
