"""Manifests: every Kubernetes object found in the source, each with its file and line."""

from reconciler.manifests.model import LoadResult, Manifest

__all__ = ["Manifest", "LoadResult"]
