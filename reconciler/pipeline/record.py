"""Stage 6, record: the rollouts' next states, compare-and-swap, *before* their actions are applied.
The record doubles as the lock: a run that lost the race re-plans; a crash between record and
apply is repaired by the next run re-applying the recorded step.

    save(store, plans, options, keep_lease) -> Recorded
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from reconciler.errors import Conflict
from reconciler.pipeline.options import RunOptions

log = logging.getLogger("reconciler")

MAX_SAVE_ATTEMPTS = 4


@dataclass
class Recorded:
    changed: dict = field(default_factory=dict)  # (namespace, name) -> state, the ones whose progress moved
    saved: int = 0  # states written
    conflict: bool = False  # another writer changed a state since it was loaded: re-load, re-plan, retry


def attempts(store) -> int:
    """How often a save that met a conflict is retried (--push-attempts; the commit store backs off between)."""
    return getattr(store, "save_attempts", MAX_SAVE_ATTEMPTS)


def save(store, plans: dict, options: RunOptions, keep_lease) -> Recorded:
    changed = {key: p.state.to_dict(copy=False) for key, (previous, p) in plans.items() if not p.state.progress_equal(previous)}
    if options.dry_run or not changed or store is None:
        return Recorded(changed=changed)
    keep_lease()
    label = options.source_label
    try:
        store.save(changed, message=f"reconciler run{(' of ' + label) if label else ''}: " + ", ".join(f"{ns}/{n}" for ns, n in sorted(changed)))
    except Conflict as err:
        log.warning(f"state changed while planning ({err}); re-loading and re-planning", extra={"action": "retry", "reason": "conflict"})
        return Recorded(changed=changed, conflict=True)
    return Recorded(changed=changed, saved=len(changed))
