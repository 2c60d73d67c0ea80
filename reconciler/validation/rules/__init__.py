"""Rules a schema cannot express, learnt from Argo Rollouts' own validation. One concern per file.

Each rule is `check(manifest, ctx) -> list[Finding]` and only looks at Rollouts; `ctx` answers
"does this object exist?" from the repository first, then from the live cluster when one is given.
"""

from reconciler.validation.rules import references, selector, strategy

ROLLOUT_RULES = (strategy.check, selector.check, references.check)

__all__ = ["ROLLOUT_RULES"]
