"""Everything a Rollout names must exist: Services, analysis templates, Istio objects and routes,
the workloadRef target -- in the repository, or live when a cluster is given."""

from __future__ import annotations

from reconciler.findings import Finding, Severity
from reconciler.manifests.model import Manifest


def check(manifest: Manifest, ctx) -> list[Finding]:
    spec = manifest.obj.get("spec")
    if not isinstance(spec, dict):
        return []
    ns = manifest.namespace
    out: list[Finding] = []

    def need(kind: str, name, path, namespace=ns):
        if isinstance(name, str) and name and ctx.find(kind, namespace, name) is None:
            out.append(ctx.missing(manifest, kind, namespace, name, path))

    ref = spec.get("workloadRef")
    if isinstance(ref, dict):
        need(ref.get("kind") or "Deployment", ref.get("name"), ("spec", "workloadRef", "name"))

    strategy = spec.get("strategy") if isinstance(spec.get("strategy"), dict) else {}
    bg = strategy.get("blueGreen")
    if isinstance(bg, dict):
        base = ("spec", "strategy", "blueGreen")
        for field in ("activeService", "previewService"):
            need("Service", bg.get(field), (*base, field))
        for field in ("prePromotionAnalysis", "postPromotionAnalysis"):
            _templates(bg.get(field), (*base, field), need)
    canary = strategy.get("canary")
    if isinstance(canary, dict):
        base = ("spec", "strategy", "canary")
        for field in ("canaryService", "stableService"):
            need("Service", canary.get(field), (*base, field))
        ping_pong = canary.get("pingPong")
        if isinstance(ping_pong, dict):
            for field in ("pingService", "pongService"):
                need("Service", ping_pong.get(field), (*base, "pingPong", field))
        _templates(canary.get("analysis"), (*base, "analysis"), need)
        for index, step in enumerate(canary.get("steps") or []):
            if isinstance(step, dict):
                _templates(step.get("analysis"), (*base, "steps", index, "analysis"), need)
                experiment = step.get("experiment")
                if isinstance(experiment, dict):
                    for a_index, analysis in enumerate(experiment.get("analyses") or []):
                        if isinstance(analysis, dict):
                            _template_ref(analysis, (*base, "steps", index, "experiment", "analyses", a_index), need)
        routing = canary.get("trafficRouting")
        if isinstance(routing, dict) and isinstance(routing.get("istio"), dict):
            out.extend(_istio(manifest, routing["istio"], (*base, "trafficRouting", "istio"), ctx, ns, canary))
    for name, path in config_map_refs(spec.get("template")):
        if ctx.find("ConfigMap", ns, name) is None:
            # Not an invalid spec (Argo accepts it), but no pod of the new revision would start.
            out.append(ctx.missing(manifest, "ConfigMap", ns, name, ("spec", "template", *path), severity=Severity.WARNING,
                                   consequence="pods that need it stay in CreateContainerConfigError, so the rollout cannot progress; "
                                   "mark the reference `optional: true` if it may be absent"))
    return out


def config_map_refs(template) -> list[tuple[str, tuple]]:
    """The ConfigMaps a pod template needs (name, path inside the template): env values, envFrom and
    volumes, plain and projected; a reference marked `optional: true` is not needed."""
    pod = template.get("spec") if isinstance(template, dict) else None
    if not isinstance(pod, dict):
        return []
    refs: list[tuple[str, tuple]] = []

    def need(ref, path):
        if isinstance(ref, dict) and isinstance(ref.get("name"), str) and ref["name"] and ref.get("optional") is not True:
            refs.append((ref["name"], (*path, "name")))

    for field in ("initContainers", "containers"):
        for c_index, container in enumerate(_list(pod.get(field))):
            base = ("spec", field, c_index)
            for e_index, env in enumerate(_list(container.get("env"))):
                value_from = env.get("valueFrom")
                if isinstance(value_from, dict):
                    need(value_from.get("configMapKeyRef"), (*base, "env", e_index, "valueFrom", "configMapKeyRef"))
            for e_index, source in enumerate(_list(container.get("envFrom"))):
                need(source.get("configMapRef"), (*base, "envFrom", e_index, "configMapRef"))
    for v_index, volume in enumerate(_list(pod.get("volumes"))):
        need(volume.get("configMap"), ("spec", "volumes", v_index, "configMap"))
        projected = volume.get("projected")
        if isinstance(projected, dict):
            for s_index, source in enumerate(_list(projected.get("sources"))):
                need(source.get("configMap"), ("spec", "volumes", v_index, "projected", "sources", s_index, "configMap"))
    return refs


def _list(value) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _templates(analysis, path, need) -> None:
    if isinstance(analysis, dict):
        for index, template in enumerate(analysis.get("templates") or []):
            if isinstance(template, dict):
                _template_ref(template, (*path, "templates", index), need)


def _template_ref(template: dict, path, need) -> None:
    if template.get("clusterScope"):
        need("ClusterAnalysisTemplate", template.get("templateName"), (*path, "templateName"), namespace=None)
    else:
        need("AnalysisTemplate", template.get("templateName"), (*path, "templateName"))


def _split_name(name: str, ns: str) -> tuple[str, str]:
    # Argo accepts "name" or "name.namespace" for Istio objects.
    if "." in name:
        short, _, other = name.partition(".")
        return short, other
    return name, ns


def _istio(manifest: Manifest, istio: dict, path, ctx, ns: str, canary: dict) -> list[Finding]:
    from reconciler.engine.traffic.routers import router_for

    out: list[Finding] = []
    router = router_for(canary.get("trafficRouting"), canary.get("canaryService"), canary.get("stableService"), ns)
    services = []
    if isinstance(istio.get("virtualService"), dict):
        services.append((istio["virtualService"], (*path, "virtualService")))
    for index, vs in enumerate(istio.get("virtualServices") or []):
        if isinstance(vs, dict):
            services.append((vs, (*path, "virtualServices", index)))
    for vs_ref, vs_path in services:
        raw = vs_ref.get("name")
        if not isinstance(raw, str) or not raw:
            continue
        name, vs_ns = _split_name(raw, ns)
        vs = ctx.find("VirtualService", vs_ns, name)
        if vs is None:
            out.append(ctx.missing(manifest, "VirtualService", vs_ns, name, (*vs_path, "name")))
            continue
        spec = vs.get("spec")
        http = (spec.get("http") if isinstance(spec, dict) else None) or []
        http = http if isinstance(http, list) else []
        named = [r.get("name") for r in http if isinstance(r, dict) and r.get("name")]
        routes = vs_ref.get("routes")
        if router is not None:
            out.extend(_destinations(manifest, router, vs, name, vs_ns, vs_ref, vs_path, _unknown_roles(router, istio, ctx, ns)))
        managed = {str(r.get("name")) for r in (canary.get("trafficRouting") or {}).get("managedRoutes") or [] if isinstance(r, dict)}
        if not routes:
            if len([r for r in http if not (isinstance(r, dict) and r.get("name") in managed)]) > 1:
                out.append(
                    manifest.finding(
                        (*vs_path, "name"),
                        f"VirtualService {name} has {len(http)} HTTP routes; say which one the rollout manages",
                        hint=f"add `routes: [{named[0] if named else 'ROUTE-NAME'}]`",
                        rule="istio-route",
                    )
                )
            continue
        if not http:
            continue  # only TLS/TCP routes: `routes` names no HTTP route to manage (Argo accepts it)
        for index, route in enumerate(routes):
            if route not in named:
                from reconciler.suggest import did_you_mean

                listed = f"its HTTP routes are: {', '.join(named)}" if named else "name the route in the VirtualService (http[].name)"
                close = did_you_mean(str(route), named)
                hint = f"{close} ({listed})" if close else listed
                out.append(
                    manifest.finding(
                        (*vs_path, "routes", index),
                        f"VirtualService {name} has no HTTP route named `{route}`",
                        hint=hint,
                        rule="istio-route",
                    )
                )
    dr_ref = istio.get("destinationRule")
    if isinstance(dr_ref, dict) and not isinstance(dr_ref.get("name"), str):
        dr_ref = None
    if isinstance(dr_ref, dict) and isinstance(dr_ref.get("name"), str):
        name, dr_ns = _split_name(dr_ref["name"], ns)
        dr = ctx.find("DestinationRule", dr_ns, name)
        if dr is None:
            out.append(ctx.missing(manifest, "DestinationRule", dr_ns, name, (*path, "destinationRule", "name")))
        else:
            dr_spec = dr.get("spec") if isinstance(dr.get("spec"), dict) else {}
            subsets = [s.get("name") for s in dr_spec.get("subsets") or [] if isinstance(s, dict)]
            for field in ("canarySubsetName", "stableSubsetName"):
                subset = dr_ref.get(field)
                if subset and subset not in subsets:
                    out.append(
                        manifest.finding(
                            (*path, "destinationRule", field),
                            f"DestinationRule {name} has no subset `{subset}`",
                            hint=f"its subsets are: {', '.join(map(str, subsets)) or 'none'}",
                            rule="istio-route",
                        )
                    )
    return out


def _unknown_roles(router, istio: dict, ctx, ns: str) -> set[str]:
    """Roles reported elsewhere (no canaryService, a subset the DestinationRule lacks): their
    missing destinations would only repeat that finding."""
    unknown: set[str] = set()
    dr_ref = istio.get("destinationRule")
    if router.destination_rule is None:
        unknown.update(role for role, svc in (("canary", router.canary_service), ("stable", router.stable_service)) if not svc)
    elif isinstance(dr_ref, dict) and isinstance(dr_ref.get("name"), str):
        dr = ctx.find("DestinationRule", *reversed(_split_name(dr_ref["name"], ns)))
        dr_spec = dr.get("spec") if isinstance(dr, dict) and isinstance(dr.get("spec"), dict) else {}
        subsets = {s.get("name") for s in dr_spec.get("subsets") or [] if isinstance(s, dict)}
        unknown.update(role for role, subset in (("canary", router.destination_rule.canary_subset), ("stable", router.destination_rule.stable_subset))
                       if dr is None or subset not in subsets)
    return unknown


def _destinations(manifest: Manifest, router, vs: dict, name: str, vs_ns: str, vs_ref: dict, vs_path, unknown: set[str]) -> list[Finding]:
    """Each route the rollout manages must have a destination for the stable and the canary (by
    host, or by subset with a DestinationRule); TLS/TCP routes named must exist. Route names are
    checked above, with their field paths."""
    ref = next((r for r in router.virtual_services if r.name == name and r.namespace == vs_ns), None)
    if ref is None:
        return []
    _, problems = router.managed_paths(vs, ref)
    out = []
    for problem in problems:
        if "HTTP route named" in problem or "HTTP routes; name" in problem:
            continue
        if "no destination for the" in problem:
            if any(f"no destination for the {role} " in problem for role in unknown):
                continue
            key = problem.split(" route ", 1)[1].split(":", 1)[0]
            route_name = key.partition("/")[2]
            routes = [str(r) for r in vs_ref.get("routes") or []]
            where = (*vs_path, "routes", routes.index(route_name)) if route_name in routes else (*vs_path, "name")
            if router.destination_rule is not None:
                hint = (f"add destinations with `subset: {router.destination_rule.stable_subset}` and `subset: {router.destination_rule.canary_subset}` "
                        "to the route; the reconciler sets their weights")
            else:
                hint = (f"add destinations with `host: {router.stable_service}` and `host: {router.canary_service}` (weight 100 and 0) "
                        "to the route; the reconciler sets their weights")
        elif "TLS" in problem:
            where, hint = (*vs_path, "tlsRoutes"), "tlsRoutes match a VirtualService tls route by its one port and its sniHosts"
        elif "TCP" in problem:
            where, hint = (*vs_path, "tcpRoutes"), "tcpRoutes match a VirtualService tcp route by its one port"
        else:
            where, hint = (*vs_path, "name"), "give the VirtualService an http, tls or tcp route with the stable and canary destinations"
        out.append(manifest.finding(where, problem, hint=hint, rule="istio-route"))
    return out
