"""Strategy rules: exactly one strategy, blue-green services, canary services and steps."""

from __future__ import annotations

from reconciler.durations import parse_duration
from reconciler.engine.replica_targets import max_traffic_weight
from reconciler.findings import Finding
from reconciler.manifests.model import Manifest

# The step actions Argo accepts. A step needs at least one; of the four "step types" (Argo's
# hasMultipleStepsType: setWeight, pause, experiment, analysis) it holds at most one. The others
# (setCanaryScale, setHeaderRoute, setMirrorRoute, plugin) may stand alone or go with one of them:
# Argo's own e2e manifests put setCanaryScale, setHeaderRoute and pause in one step.
STEP_ACTIONS = ("setWeight", "pause", "analysis", "experiment", "setCanaryScale", "setHeaderRoute", "setMirrorRoute", "plugin")
STEP_TYPES = ("setWeight", "pause", "experiment", "analysis")
_TRAFFIC_ROUTERS_NEEDING_SERVICES = ("alb", "smi", "apisix", "ambassador", "nginx", "appMesh", "traefik")


def check(manifest: Manifest, ctx) -> list[Finding]:
    spec = manifest.obj.get("spec")
    if spec is not None and not isinstance(spec, dict):
        return []  # the schema reports the type
    strategy = (spec or {}).get("strategy")
    base = ("spec", "strategy")
    if not isinstance(strategy, dict):
        return [
            manifest.finding(
                ("spec",) if strategy is None else base,
                "a Rollout needs spec.strategy with canary or blueGreen",
                hint="add `strategy: {canary: {steps: [...]}}` or `strategy: {blueGreen: {activeService: ...}}`",
                rule="one-strategy",
            )
        ]
    has_canary, has_bluegreen = strategy.get("canary") is not None, strategy.get("blueGreen") is not None
    if has_canary and has_bluegreen:
        return [
            manifest.finding(
                (*base, "blueGreen"),
                "spec.strategy sets both canary and blueGreen; a Rollout has exactly one strategy",
                hint="keep one of the two",
                rule="one-strategy",
            )
        ]
    if not has_canary and not has_bluegreen:
        return [
            manifest.finding(
                base, "spec.strategy sets neither canary nor blueGreen", hint="add `canary:` or `blueGreen:`", rule="one-strategy"
            )
        ]
    if has_bluegreen:
        return _bluegreen(manifest, strategy["blueGreen"], (*base, "blueGreen"))
    return _canary(manifest, strategy["canary"], (*base, "canary"))


def _bluegreen(manifest: Manifest, bg, path) -> list[Finding]:
    if not isinstance(bg, dict):
        return []
    active, preview = bg.get("activeService"), bg.get("previewService")
    if active and active == preview:
        return [
            manifest.finding(
                (*path, "previewService"),
                f"activeService and previewService are both `{active}`; blue-green needs two different Services",
                hint="create a second Service for the preview and name it here",
                rule="bluegreen-services",
            )
        ]
    return []


def _canary(manifest: Manifest, canary, path) -> list[Finding]:
    if not isinstance(canary, dict):
        return []
    out: list[Finding] = []
    canary_svc, stable_svc = canary.get("canaryService"), canary.get("stableService")
    if canary_svc and canary_svc == stable_svc:
        out.append(
            manifest.finding(
                (*path, "stableService"),
                f"canaryService and stableService are both `{canary_svc}`; a canary needs two different Services",
                hint="point canaryService and stableService at two Services with the same selector",
                rule="canary-services",
            )
        )
    routing = canary.get("trafficRouting")
    ping_pong = canary.get("pingPong")
    if isinstance(ping_pong, dict):
        out.extend(_ping_pong(manifest, ping_pong, (*path, "pingPong")))
    elif isinstance(routing, dict) and _needs_services(routing):
        for field in ("canaryService", "stableService"):
            if not canary.get(field):
                out.append(
                    manifest.finding(
                        (*path, field) if field in canary else path,
                        f"traffic routing needs `{field}`",
                        hint="set both canaryService and stableService; the router splits traffic between them",
                        rule="canary-services",
                    )
                )
    steps = canary.get("steps")
    if isinstance(steps, list):
        for index, step in enumerate(steps):
            out.extend(_step(manifest, step, (*path, "steps", index), _top_weight(canary)))
    return out


def _ping_pong(manifest: Manifest, ping_pong: dict, path) -> list[Finding]:
    """pingPong names two Services that take turns as stable and canary (pingService, pongService);
    canaryService and stableService are not needed then (Argo's requireCanaryStableServices)."""
    out: list[Finding] = []
    for field in ("pingService", "pongService"):
        if not ping_pong.get(field):
            out.append(manifest.finding(
                (*path, field) if field in ping_pong else path, f"pingPong needs `{field}`",
                hint="name two Services with the rollout's selector: pingService and pongService take turns as stable and canary",
                rule="canary-services",
            ))
    ping = ping_pong.get("pingService")
    if ping and ping == ping_pong.get("pongService"):
        out.append(manifest.finding(
            (*path, "pongService"), f"pingService and pongService are both `{ping}`; pingPong needs two different Services",
            hint="create a second Service with the same selector and name it here", rule="canary-services",
        ))
    return out


def _needs_services(routing: dict) -> bool:
    istio = routing.get("istio")
    if isinstance(istio, dict) and istio.get("destinationRule") is None:
        return True
    return any(routing.get(name) is not None for name in _TRAFFIC_ROUTERS_NEEDING_SERVICES)


def _top_weight(canary: dict) -> int:
    routing = canary.get("trafficRouting")
    value = routing.get("maxTrafficWeight") if isinstance(routing, dict) else None
    return max_traffic_weight(canary) if isinstance(value, int) and not isinstance(value, bool) else 100  # else the schema says what is wrong


def _step(manifest: Manifest, step, path, top: int = 100) -> list[Finding]:
    """One step. `top`: the routes' total weight (trafficRouting.maxTrafficWeight, default 100), the
    most a setWeight may be (Argo's ValidateRolloutStrategyCanary)."""
    if not isinstance(step, dict):
        return []  # the schema reports the type
    actions = [a for a in STEP_ACTIONS if step.get(a) is not None]
    types = [a for a in STEP_TYPES if step.get(a) is not None]
    out: list[Finding] = []
    if len(actions) == 0:
        out.append(
            manifest.finding(
                path,
                "step has no action",
                hint=f"give it exactly one of: {', '.join(STEP_ACTIONS[:5])}",
                rule="step-one-action",
            )
        )
    elif len(types) > 1:
        out.append(
            manifest.finding(
                (*path, types[1]),
                f"step sets {' and '.join(f'`{a}`' for a in types)}; a step holds at most one of "
                f"{', '.join(STEP_TYPES)}",
                hint=f"split it into {len(types)} steps, e.g. `- {types[0]}: …` then `- {types[1]}: …`",
                rule="step-one-action",
            )
        )
    weight = step.get("setWeight")
    if isinstance(weight, int) and not isinstance(weight, bool) and not 0 <= weight <= top:
        out.append(
            manifest.finding((*path, "setWeight"), f"setWeight {weight} is outside 0..{top}",
                             hint="a weight is a percentage" if top == 100 else f"a weight is a share of trafficRouting.maxTrafficWeight ({top})",
                             rule="set-weight")
        )
    pause = step.get("pause")
    if isinstance(pause, dict) and "duration" in pause:
        duration = pause["duration"]
        seconds = parse_duration(duration)
        problem = None
        if seconds is None:
            problem = ("does not parse", "write bare seconds (60) or a duration such as 30s, 1m, 1h; `pause: {}` waits for a promote")
        elif seconds <= 0:
            problem = ("must be greater than 0", "remove the step, or use `pause: {}` to wait for a promote")
        if problem is not None:
            what, hint = problem
            out.append(manifest.finding((*path, "pause", "duration"), f"pause duration {duration!r} {what}", hint=hint, rule="pause-duration"))
    return out
