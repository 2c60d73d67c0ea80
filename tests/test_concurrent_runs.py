"""Two `reconciler run` processes at once against one embedded cluster directory: a rollout step's
side effects are applied by one of them only (issue 10, section 4).

The trial count is modest by default; a campaign sets CONCURRENCY_TRIALS, e.g.

    CONCURRENCY_TRIALS=200 python -m pytest -q -s tests/test_concurrent_runs.py

and reads the printed counts."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from collections import Counter

import pytest

from reconciler.cluster.local import LocalCluster
from reconciler.errors import Conflict
from tests.concurrency import ROLLOUT, applied_transitions, duplicated, events, reconciler, start_together

TRIALS = int(os.environ.get("CONCURRENCY_TRIALS", "6"))
T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:10:00Z"


@pytest.fixture(scope="module")
def stable_cluster(tmp_path_factory):
    """A cluster where Rollout web runs image v1 (stable), and the manifests changed to v2."""
    base = tmp_path_factory.mktemp("stable")
    source = base / "src"
    source.mkdir()
    (source / "web.yaml").write_text(ROLLOUT.format(image="nginx:v1"))
    reconciler("run", str(source), "--cluster", f"local:{base / 'cluster'}", "--now", T0, cwd=base)
    (source / "web.yaml").write_text(ROLLOUT.format(image="nginx:v2"))
    return base


def test_two_runs_at_once_apply_a_step_once(stable_cluster, tmp_path):
    violations, lease_refusals, serialized, exit_codes, half_way = [], 0, 0, Counter(), []
    for trial in range(TRIALS):
        cluster = tmp_path / f"cluster-{trial}"
        shutil.copytree(stable_cluster / "cluster", cluster)
        before = len(events(cluster))
        argv = ["run", str(stable_cluster / "src"), "--cluster", f"local:{cluster}", "--now", T1, "-o", "json"]
        procs = start_together([argv, argv], tmp_path)
        outputs = [p.communicate(timeout=300) for p in procs]
        codes = [p.returncode for p in procs]
        exit_codes.update(codes)
        for (out, err), code in zip(outputs, codes):
            assert "Traceback" not in err, err
            lease_refusals += "holds the lease" in err
            if code not in (0, 2):
                half_way.append(_errors(out) or err.strip()[-300:])
        applied = applied_transitions([out for out, _ in outputs])
        emitted = [(e["reason"], e["message"]) for e in events(cluster)[before:]]
        serialized += len(applied) == 2
        if duplicated(applied) or duplicated(emitted):
            violations.append((trial, duplicated(applied), duplicated(emitted)))
    print(f"\nconcurrent trials: {TRIALS}; runs refused by the lease: {lease_refusals}; trials where both applied a step "
          f"(one after the other): {serialized}; exit codes: {dict(exit_codes)}; violations (a step applied twice): {len(violations)}")
    for error in half_way:
        print(f"  a run stopped half-way: {error}")
    assert not violations, violations
    assert not half_way  # the loser is refused by the lease (exit 2) before it reads or writes anything


def _errors(output: str) -> str:
    try:
        report = json.loads(output)
    except ValueError:
        return ""
    return "; ".join(r["error"] for r in report.get("rollouts") or [] if r.get("error"))


def _bump(directory: str, rounds: int, results) -> None:
    """Read-modify-write one counter `rounds` times with compare-and-swap, retrying on Conflict."""
    cluster = LocalCluster(directory)
    done = conflicts = 0
    while done < rounds:
        current = cluster.get("ConfigMap", "default", "counter")
        current["data"]["n"] = str(int(current["data"]["n"]) + 1)
        try:
            cluster.replace(current)
            done += 1
        except Conflict:
            conflicts += 1
    results.put(conflicts)


def test_compare_and_swap_loses_no_update_across_processes(tmp_path):
    """Processes incrementing one object through get + replace(resourceVersion): every increment
    survives (a non-atomic check-then-write lets two writers both pass the check)."""
    cluster = LocalCluster(tmp_path)
    cluster.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "counter", "namespace": "default"}, "data": {"n": "0"}})
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers, rounds = 4, 150
    procs = [context.Process(target=_bump, args=(str(tmp_path), rounds, results)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=300)
    conflicts = sum(results.get(timeout=5) for _ in procs)
    final = cluster.get("ConfigMap", "default", "counter")
    print(f"\n{workers} processes x {rounds} increments: final {final['data']['n']}, conflicts retried {conflicts}")
    assert int(final["data"]["n"]) == workers * rounds
    assert final["metadata"]["resourceVersion"] == str(workers * rounds + 1)


def _create(directory: str, results) -> None:
    try:
        LocalCluster(directory).create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "once", "namespace": "default"},
                                        "data": {"pid": str(os.getpid())}})
        results.put("created")
    except Conflict:
        results.put("conflict")


def test_only_one_of_many_concurrent_creates_wins(tmp_path):
    context = multiprocessing.get_context("fork")
    for trial in range(20):
        directory = tmp_path / str(trial)
        results = context.Queue()
        procs = [context.Process(target=_create, args=(str(directory), results)) for _ in range(4)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(timeout=60)
        outcomes = sorted(results.get(timeout=5) for _ in procs)
        assert outcomes == ["conflict", "conflict", "conflict", "created"], (trial, outcomes)
