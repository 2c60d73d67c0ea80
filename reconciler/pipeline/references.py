"""Which other objects a Rollout names: its Services, its traffic router's objects, its analysis
templates. Read by the validation stage (which shard owns an object) and by observe (what to list)."""

from __future__ import annotations

from collections.abc import Iterator


def service_names(rollout: dict) -> set[str]:
    strategy = ((rollout.get("spec") or {}).get("strategy")) or {}
    canary, bluegreen = strategy.get("canary") or {}, strategy.get("blueGreen") or {}
    names = {canary.get("canaryService"), canary.get("stableService"), bluegreen.get("activeService"), bluegreen.get("previewService")}
    return {str(name) for name in names if name}


def routing_keys(rollout: dict) -> list[tuple]:
    """(kind, namespace, name) of the traffic router objects a Rollout names (VirtualServices, ...)."""
    from reconciler.engine.traffic.routers import canary_router

    spec = rollout.get("spec") if isinstance(rollout.get("spec"), dict) else {}
    canary = ((spec.get("strategy") or {}).get("canary")) if isinstance(spec.get("strategy"), dict) else None
    if not isinstance(canary, dict):
        return []
    router = canary_router(canary, (rollout.get("metadata") or {}).get("namespace") or "default")
    return router.object_keys() if router is not None else []


def template_refs(rollout: dict) -> Iterator[tuple[str, str]]:
    """(kind, name) of every analysis template a Rollout names (steps, background, blue-green)."""
    from reconciler.analysis.checks import analysis_references

    spec = rollout.get("spec") if isinstance(rollout.get("spec"), dict) else {}
    for _, analysis, _ in analysis_references(spec):
        for ref in analysis.get("templates") or []:
            if isinstance(ref, dict) and ref.get("templateName"):
                yield ("ClusterAnalysisTemplate" if ref.get("clusterScope") else "AnalysisTemplate"), str(ref["templateName"])
