"""One run, top to bottom (shared/DESIGN.md):

    source ──► manifests ──► validation ──► observe ──► plan ──► record ──► apply

1. source      reconciler/source/ (opened by the CLI, commands/engine.py: `--status commit` records
               into the same checkout); the pipeline starts from its root directory.
2. manifests   pipeline/manifests.py    YAML documents with their file and line
3. validation  pipeline/validation.py   findings; which objects this run acts on (--only, --shard)
4. observe     pipeline/observe.py      one list per kind and namespace, recorded states,
                                        desired Rollouts, templates, due measurements
5. plan        pipeline/plan.py         plain manifests changed since last applied; engine/plan.py per rollout
6. record      pipeline/record.py       next states, compare-and-swap, before any of their actions
7. apply       pipeline/apply.py        the writes; views rebuilt from what the cluster returned
8. prune       pipeline/prune.py        with --prune: delete what this SOURCE applied earlier and no longer holds
   notify      pipeline/notify.py       after apply: deliver what is due

Each stage takes and returns plain values (pipeline/report.py: RunReport); a stage imports only
earlier ones and never calls back upstream. The plain manifests from Git go through plan and apply
first, so the Rollouts are observed and planned against the Services applied moments before.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
from datetime import datetime
from pathlib import Path

from reconciler.cluster.lease import LEASE_NAME, LEASE_SECONDS, LeaseKeeper, run_clock
from reconciler.pipeline import apply, manifests, notify, observe, plan, prune, record, validation
from reconciler.pipeline.options import RunOptions
from reconciler.pipeline.report import RolloutResult, RunReport
from reconciler.shard import lease_name

__all__ = ["run", "RunOptions", "RunReport", "RolloutResult"]


def run(root: Path, cluster, store, now: datetime, options: RunOptions) -> RunReport:
    """One pass over every Rollout under `root`, planned for `now`. A run that writes takes the
    Lease before it reads anything; a dry run (`plan`) takes none and writes nothing."""
    if not options.owner:
        options = dataclasses.replace(options, owner=prune.owner_of(root))
    with _lease(cluster, now, options) as held:
        keeper = LeaseKeeper(cluster, held, options.clock or run_clock(now))
        report = RunReport(dry_run=options.dry_run)
        reads_before = getattr(cluster, "reads", 0)
        loaded = manifests.load(root, options.source_cache)
        checked = validation.check(loaded, cluster, options)
        world = observe.world(cluster, checked, store)
        report.objects = len(loaded.manifests)
        rollout_refs = {m.ref for m in checked.rollouts}
        report.findings = [f for f in world.findings if f.object not in rollout_refs]
        scanned = prune.scan(cluster, checked, world, options)  # read now: every read before the first write
        manifest_actions = plan.manifest_actions(checked.applied, world, options.owner)
        report.manifest_actions = [action for _, action in manifest_actions]
        applied = apply.manifests(cluster, manifest_actions, world, keeper, options)
        report.findings += applied.findings
        report.timed_out = applied.timed_out
        rollouts = observe.rollouts(cluster, checked, world, now, dry_run=options.dry_run, deadline=options.deadline, measure=not report.timed_out)
        if not report.timed_out and not options.dry_run and options.deadline.expired():
            report.timed_out = f"{options.deadline.describe()} reached before recording: nothing recorded for any rollout"
        if report.timed_out:  # stop before recording: no rollout moves, nothing is half-done
            rollouts.hold("not planned: the run stopped at its --timeout before recording; the next run picks it up")
        notifier, notifier_findings = notify.prepare(cluster, root, checked, world, options)
        report.findings += notifier_findings
        plans, saved = _plan_and_record(cluster, store, now, options, world, rollouts, notifier, keeper.keep)
        stopped = apply.plans(cluster, plans, rollouts, world, keeper, now, options)
        report.timed_out = report.timed_out or stopped
        if not report.timed_out and (options.shard is None or options.shard[0] == 0):  # standalone Experiments (shard 0 runs them)
            from reconciler.pipeline.experiments import run_experiments

            ran, recorded_experiments = run_experiments(loaded.manifests, world.findings, world.bad, cluster, store, now, dry_run=options.dry_run,
                                                        states=world.states, loaded=set(world.state_namespaces), deadline=options.deadline,
                                                        keep_lease=keeper.keep)
            rollouts.results.update(((r.namespace, r.name), r) for r in ran if (r.namespace, r.name) not in rollouts.results)
            saved += recorded_experiments
        report.prune = prune.decide(checked, world, scanned, options, timed_out=report.timed_out)
        prune.delete(cluster, report.prune, keeper, options)
        prune.record(cluster, checked, world, scanned, report.prune, options, applied=len(report.manifest_actions) - applied.refused)
        if notifier is not None and not report.timed_out:  # past --timeout they stay pending for the next run
            report.notifications = notify.send(notifier, plans, rollouts, store, cluster, now, options, keeper.keep)
    report.results = [rollouts.results[key] for key in sorted(rollouts.results)]
    report.reads = getattr(cluster, "reads", 0) - reads_before
    # Object writes this run (the run's own Lease bookkeeping is not counted).
    planned_writes = sum(len(r.plan.actions) + len(r.plan.events) for r in report.results if r.plan)
    report.writes = 0 if options.dry_run else len(report.manifest_actions) - applied.refused + planned_writes + saved + len(report.prune.pruned)
    return report


def _lease(cluster, now: datetime, options: RunOptions):
    if options.dry_run:
        return contextlib.nullcontext(None)
    holder = f"{socket.gethostname()}-{os.getpid()}"
    return cluster.lease(lease_name(LEASE_NAME, options.shard), options.lease_namespace, holder, duration_seconds=LEASE_SECONDS, now=now)


def _plan_and_record(cluster, store, now: datetime, options: RunOptions, world: observe.World, rollouts: observe.Rollouts, notifier,
                     keep_lease) -> tuple[dict, int]:
    """Plan every rollout and record the states that moved. On a conflict (another writer recorded
    first) re-load the states, re-plan the rollouts whose state was replaced, and try again, a
    bounded number of times; then the ones still not recorded say so and are not applied."""
    plans: dict = {}
    attempts = record.attempts(store)
    recorded = record.Recorded()
    for _ in range(attempts):
        lives = {key: observe.live(cluster, world, rollouts, key, now, store) for key in rollouts.desired if key not in plans}
        plans.update(plan.rollouts(rollouts, lives, now, notifier))
        recorded = record.save(store, plans, options, keep_lease)
        if not recorded.conflict:
            return plans, recorded.saved
        for key in observe.reload_states(store, world, rollouts):
            plans.pop(key, None)
    for key in recorded.changed:
        rollouts.results[key].error = f"could not record the state after {attempts} attempts: another writer keeps changing it"
        plans.pop(key, None)
    return plans, 0
