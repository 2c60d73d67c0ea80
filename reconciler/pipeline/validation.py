"""Stage 3, validation: schema and rules over every manifest (reconciler/validation/), then what
this run acts on (`--only`, `--shard`). A Rollout with an error finding is reported and skipped;
the others go on.

    check(loaded, cluster, options) -> Checked
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.findings import Finding, Severity
from reconciler.kinds import applied as is_applied
from reconciler.kinds import namespaced
from reconciler.manifests.model import Manifest
from reconciler.pipeline.manifests import Loaded
from reconciler.pipeline.options import RunOptions
from reconciler.pipeline.references import routing_keys, service_names, template_refs
from reconciler.shard import split


@dataclass
class Checked:
    manifests: list[Manifest]  # everything in SOURCE (templates and notification config are looked up here)
    findings: list[Finding]  # this run's: a shard drops other shards' objects' findings
    bad: set[str]  # refs (Kind/namespace/name) of objects with an error finding: never applied
    rollouts: list[Manifest]  # the Rollouts this run plans (valid or not: the invalid are reported)
    applied: list[Manifest]  # the valid manifests this run applies (Services, ConfigMaps, a Gateway, an HPA, ...)


def check(loaded: Loaded, cluster, options: RunOptions) -> Checked:
    from reconciler.validation import validate
    from reconciler.validation.live import LiveLookup

    manifests = loaded.manifests
    # A referenced object missing from SOURCE is looked up in the cluster (one list per kind and namespace).
    findings = loaded.findings + validate(manifests, live=LiveLookup(cluster), period_seconds=options.period_seconds,
                                        policy=options.policy)
    if options.strict:
        from reconciler.validation import strict

        findings = strict(findings)
    bad = {f.object for f in findings if f.severity is Severity.ERROR and f.object}
    rollouts = [m for m in manifests if m.kind == "Rollout"]
    if options.only:
        rollouts = [m for m in rollouts if (m.namespace, m.name) in options.only]
    applied = [m for m in manifests if is_applied(m.kind, m.api_version, options.policy) and m.ref not in bad]
    if options.shard is not None:
        rollouts, mine = _in_shard(rollouts, [m for m in manifests if m.kind != "Rollout"], options.shard)
        mine_refs = {m.ref for m in mine} | {m.ref for m in rollouts}
        applied = [m for m in applied if m.ref in mine_refs]
        # Another shard reports its own objects' findings; findings of no object (a file that does
        # not parse) are reported by every shard, so none is missed.
        findings = [f for f in findings if not f.object or f.object in mine_refs]
    return Checked(manifests=manifests, findings=findings, bad=bad, rollouts=rollouts, applied=applied)


def _in_shard(rollouts: list, others: list, shard: tuple[int, int]) -> tuple[list, list]:
    """The Rollouts of shard I/N and the other manifests it owns (each owned by one shard)."""

    def key(m) -> tuple[str, str, str]:
        return (m.kind, m.namespace if namespaced(m.kind) else "", m.name)

    def references(m):
        ns = m.namespace
        yield from (("Service", ns, name) for name in service_names(m.obj))
        yield from ((kind, namespace or "", name) for kind, namespace, name in routing_keys(m.obj))
        yield from ((kind, "" if kind == "ClusterAnalysisTemplate" else ns, name) for kind, name in template_refs(m.obj))

    return split(rollouts, others, shard, rollout_key=lambda m: (m.namespace, m.name), object_key=key, references=references)
