"""Benchmark: `plan` over 1,000 rollouts on the embedded cluster (target <= 2 s), and the number of
cluster reads per kind per namespace (target: one list per kind per namespace, not per rollout).

    python bench/plan_bench.py [--rollouts 1000] [--namespaces 4]

Baseline printed in the same run: the same plan over 10 rollouts, so the per-rollout cost and
the read count can be compared (reads must not grow with the number of rollouts).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROLLOUT = """apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: app-{i}
  namespace: {ns}
spec:
  replicas: 5
  selector:
    matchLabels: {{app: app-{i}}}
  template:
    metadata:
      labels: {{app: app-{i}}}
    spec:
      containers:
      - name: app
        image: example/app:{tag}
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {{duration: 60}}
      - setWeight: 80
---
"""


def build(repo: Path, count: int, namespaces: int, tag: str) -> None:
    repo.mkdir(parents=True, exist_ok=True)
    per_file = 50
    for start in range(0, count, per_file):
        text = "".join(ROLLOUT.format(i=i, ns=f"ns-{i % namespaces}", tag=tag) for i in range(start, min(count, start + per_file)))
        (repo / f"rollouts-{start // per_file:03d}.yaml").write_text(text)


def measure(count: int, namespaces: int) -> tuple[float, float, dict]:
    from reconciler.cluster.local import LocalCluster
    from reconciler.runner import run_once
    from reconciler.status.annotations import AnnotationsStatusStore

    work = Path(tempfile.mkdtemp(prefix="plan-bench-"))
    try:
        repo, cluster_dir = work / "repo", work / "cluster"
        build(repo, count, namespaces, "1")
        now = datetime(2026, 1, 1, tzinfo=timezone.utc)
        cluster = LocalCluster(cluster_dir, now=now)
        started = time.perf_counter()
        run_once(repo, cluster, AnnotationsStatusStore(cluster), now, dry_run=False)
        run_seconds = time.perf_counter() - started
        build(repo, count, namespaces, "2")  # a new revision everywhere: plan has work to show
        cluster = LocalCluster(cluster_dir, now=now)
        started = time.perf_counter()
        report = run_once(repo, cluster, AnnotationsStatusStore(cluster), now, dry_run=True)
        plan_seconds = time.perf_counter() - started
        assert len(report.results) == count and all(r.plan and r.plan.actions for r in report.results)
        return plan_seconds, run_seconds, dict(cluster.reads_by)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rollouts", type=int, default=1000)
    parser.add_argument("--namespaces", type=int, default=4)
    args = parser.parse_args()
    base_plan, base_run, base_reads = measure(10, args.namespaces)
    plan_s, run_s, reads = measure(args.rollouts, args.namespaces)
    print(f"baseline  10 rollouts: plan {base_plan:.3f}s, first run {base_run:.3f}s, reads {sum(base_reads.values())}")
    print(f"{args.rollouts:>5} rollouts: plan {plan_s:.3f}s (target <= 2.0s), first run {run_s:.3f}s, reads {sum(reads.values())}")
    print(f"per rollout: plan {1000 * plan_s / args.rollouts:.2f} ms (baseline {1000 * base_plan / 10:.2f} ms)")
    print("cluster reads per kind per namespace during plan:")
    for (kind, namespace), n in sorted(reads.items(), key=lambda item: (str(item[0][1]), item[0][0])):
        print(f"  {namespace or '(all)':10} {kind:12} {n}")
    worst = max(reads.values())
    print(f"max reads of one kind in one namespace: {worst} (target: 1)")


if __name__ == "__main__":
    main()
