"""After apply: the run's notifications (reconciler/notifications). Two hooks into the pipeline:
`prepare` before planning (the plan queues what it triggers on the recorded state) and `send`
after the writes (deliver what is due, or list it for `plan` / `run --no-notify`)."""

from __future__ import annotations

from pathlib import Path

from reconciler.pipeline.observe import Rollouts, World
from reconciler.pipeline.options import RunOptions
from reconciler.pipeline.validation import Checked


def prepare(cluster, root: Path, checked: Checked, seen: World, options: RunOptions):
    """The notifier and its findings (config problems), or (None, []) when nothing subscribes."""
    from reconciler.notifications import Notifier

    notifier = Notifier.prepare(checked.manifests, cluster, root, namespace=options.lease_namespace, source_label=options.source_label,
                                states=seen.states, rollouts=checked.rollouts)
    return (notifier, list(notifier.findings)) if notifier is not None else (None, [])


def send(notifier, plans: dict, found: Rollouts, store, cluster, now, options: RunOptions, keep_lease) -> list:
    """Deliver what is due (`run`), or list it (`plan`, `run --no-notify`)."""
    by_key = {key: the_plan for key, (_, the_plan) in plans.items()}
    if options.dry_run or not options.notify:
        return notifier.preview(by_key, now, held=not options.dry_run)
    return notifier.deliver(by_key, found.desired, store, cluster, now, max_age_seconds=options.notify_max_age, keep_lease=keep_lease)
