"""Rules a schema cannot express, learnt from Argo Rollouts' own validation. One concern per file.

Each rule is `check(manifest, ctx) -> list[Finding]`. ROLLOUT_RULES look at Rollouts,
TEMPLATE_RULES at analysis templates (by kind), MANIFEST_RULES at every object in the source.
`ctx` answers "does this object exist?" from the repository first, then from the live cluster when
one is given, and carries `period_seconds` (how often the reconciler runs, when known).
"""

from collections.abc import Callable

from reconciler.findings import Finding
from reconciler.validation.rules import (
    analysis,
    applied_kinds,
    experiments,
    fields,
    integers,
    references,
    selector,
    strategy,
    traffic,
)

ROLLOUT_RULES = (strategy.check, selector.check, references.check, traffic.check, analysis.check, experiments.check, fields.check)
TEMPLATE_RULES = {**{kind: (analysis.check_template, fields.check) for kind in analysis.TEMPLATE_KINDS},
                  "Experiment": (experiments.check_experiment, fields.check)}
MANIFEST_RULES = (applied_kinds.check, integers.check)
# The rules that read `ctx`: other objects of the source or the cluster, --period, the source policy.
# They run on every validation; every other rule depends on its manifest alone, and the source cache
# (reconciler/manifests/source_cache.py) keeps its findings with the parsed file.
CONTEXTUAL = frozenset({applied_kinds.check, references.check, analysis.check, experiments.check_experiment})


def rule_id(rule: Callable[..., list[Finding]]) -> str:
    """`module.function`: how local_checks' results name a rule."""
    return f"{rule.__module__.rsplit('.', 1)[-1]}.{rule.__name__}"


RULE_IDS = {rule: rule_id(rule) for rule in {*ROLLOUT_RULES, *MANIFEST_RULES, *(r for rules in TEMPLATE_RULES.values() for r in rules)}}

__all__ = ["ROLLOUT_RULES", "TEMPLATE_RULES", "MANIFEST_RULES", "CONTEXTUAL", "RULE_IDS", "rule_id"]
