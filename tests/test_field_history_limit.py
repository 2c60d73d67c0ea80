"""revisionHistoryLimit through the CLI (engine/history.py; the table of Argo's
TestReconcileRevisionHistoryLimit is in tests/test_argo_sync.py): old ReplicaSets beyond the limit
are deleted from the cluster, oldest first, once they have no pods; the current and stable ones
are never counted."""

from __future__ import annotations

from tests.backends import LocalBackend, backend  # noqa: F401  (the fixture)
from tests.fields_cli import CliRollout


def _healthy(app, start, runs=6):
    t = start
    for t in range(start, start + runs):
        app.run(t)
    assert app.view(t)["status"] == "Healthy"
    return t + 1


def test_old_replicasets_beyond_the_limit_are_deleted(tmp_path, backend):  # noqa: F811
    app = CliRollout(tmp_path, backend, replicas=2, canary={"steps": []}, spec={"revisionHistoryLimit": 1})
    t = _healthy(app, 0)
    for image in ("app:2", "app:3", "app:4"):
        app.set_image(image)
        t = _healthy(app, t)
    # revision 4 is current and stable; one old ReplicaSet (revision 3, the newest old one) is kept
    assert app.pods(t) == {3: 0, 4: 2}


def test_default_keeps_ten_old_replicasets(tmp_path):
    app = CliRollout(tmp_path, LocalBackend(tmp_path / "cluster"), replicas=1, canary={"steps": []})
    t = _healthy(app, 0)
    for n in range(2, 14):
        app.set_image(f"app:{n}")
        t = _healthy(app, t, runs=3)
    revisions = sorted(app.replicasets(t))
    assert revisions == list(range(3, 14))  # 10 old + the current; revisions 1 and 2 deleted, oldest first
