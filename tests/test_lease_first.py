"""A run takes its Lease before it reads anything (live objects, recorded states); a plan takes none.
Reading first would let a run plan from a state another run is changing (issue 10, section 4)."""

from __future__ import annotations

from datetime import datetime, timezone

from reconciler.cluster.local import LocalCluster
from reconciler.runner import run_once
from reconciler.status.annotations import AnnotationsStatusStore
from tests.conftest import FIXTURES
from tests.test_lease import emulator, kube_run  # noqa: F401  (the fixture)

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Recorder:
    """Wraps an object and notes every call made on it, in order, into a shared list."""

    def __init__(self, inner, name: str, calls: list[str]):
        self._inner, self._name, self._calls = inner, name, calls

    def __getattr__(self, attr):
        value = getattr(self._inner, attr)
        if not callable(value):
            return value

        def call(*args, **kwargs):
            self._calls.append(f"{self._name}.{attr}")
            return value(*args, **kwargs)

        return call


def _run(tmp_path, *, dry_run: bool) -> list[str]:
    calls: list[str] = []
    cluster = LocalCluster(tmp_path / "cluster", now=NOW)
    store = Recorder(AnnotationsStatusStore(cluster), "store", calls)
    report = run_once(FIXTURES / "canary-nginx", Recorder(cluster, "cluster", calls), store, NOW, dry_run=dry_run)
    assert report.exit_code == 0
    return calls


def test_a_run_takes_the_lease_before_any_read(tmp_path):
    calls = _run(tmp_path, dry_run=False)
    assert calls[0] == "cluster.lease", calls[:5]
    assert "store.load" in calls and "cluster.list" in calls


def test_a_plan_takes_no_lease_and_still_reads(tmp_path):
    calls = _run(tmp_path, dry_run=True)
    assert "cluster.lease" not in calls
    assert "store.load" in calls and "cluster.list" in calls


def test_against_kube_the_lease_request_comes_before_every_read(emulator, tmp_path):  # noqa: F811
    proc = kube_run(emulator, tmp_path)
    assert proc.returncode == 0, proc.stderr
    first_lease = next(i for i, r in enumerate(emulator.requests) if "/leases" in r.path)
    reads_before = [f"{r.method} {r.path}" for r in emulator.requests[:first_lease] if r.method == "GET" and "/leases" not in r.path
                    and "/namespaces/" in r.path]
    assert reads_before == []
    assert any(r.method == "GET" and "/replicasets" in r.path for r in emulator.requests[first_lease:])
