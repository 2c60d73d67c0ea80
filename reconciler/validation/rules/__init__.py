"""Rules a schema cannot express, learnt from Argo Rollouts' own validation. One concern per file.

Each rule is `check(manifest, ctx) -> list[Finding]`. ROLLOUT_RULES only look at Rollouts; `ctx`
answers "does this object exist?" from the repository first, then from the live cluster when one
is given. MANIFEST_RULES look at every object in the source.
"""

from reconciler.validation.rules import applied_kinds, references, selector, strategy

ROLLOUT_RULES = (strategy.check, selector.check, references.check)
MANIFEST_RULES = (applied_kinds.check,)

__all__ = ["ROLLOUT_RULES", "MANIFEST_RULES"]
