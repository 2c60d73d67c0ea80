from datetime import datetime, timedelta, timezone

import pytest

from reconciler.cluster import kubelet
from reconciler.cluster.local import LocalCluster
from reconciler.errors import ClusterError, Conflict
from reconciler.status.annotations import AnnotationsStatusStore

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def rs(name="web-abc", replicas=2, image="nginx:1"):
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "default", "labels": {"rollouts-pod-template-hash": "abc"}},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "c", "image": image}]}}},
    }


def test_layout_and_optimistic_concurrency(tmp_path):
    cluster = LocalCluster(tmp_path, now=NOW)
    stored = cluster.create(rs())
    assert (tmp_path / "default" / "ReplicaSet" / "web-abc.yaml").is_file()
    with pytest.raises(Conflict):
        cluster.create(rs())
    stored["spec"]["replicas"] = 3
    cluster.replace(stored)
    stored["spec"]["replicas"] = 4  # stale resourceVersion
    with pytest.raises(Conflict):
        cluster.replace(stored)
    assert cluster.get("ReplicaSet", "default", "web-abc")["spec"]["replicas"] == 3


def test_simulated_kubelet_ready_after_and_crash(tmp_path):
    config = {"readyAfterSeconds": {"nginx:slow*": 10}, "crash": ["nginx:bad"]}
    cluster = LocalCluster(tmp_path, now=NOW, kubelet_config=config)
    assert cluster.create(rs("a-1", image="nginx:slow"))["status"]["availableReplicas"] == 0
    later = LocalCluster(tmp_path, now=NOW + timedelta(seconds=11), kubelet_config=config)
    assert later.get("ReplicaSet", "default", "a-1")["status"]["availableReplicas"] == 2
    cluster.create(rs("b-1", image="nginx:bad"))
    pods = later.list("Pod", "default")
    bad = [p for p in pods if p["metadata"]["name"].startswith("b-1-")]
    assert [p["status"]["reason"] for p in bad] == ["CrashLoopBackOff"] * 2
    assert later.get("ReplicaSet", "default", "b-1")["status"]["availableReplicas"] == 0


def test_pod_names_are_stable_and_scale_down_removes_newest():
    first = kubelet.record_pod_starts(None, rs(replicas=2), NOW)
    grown = kubelet.record_pod_starts(first, rs(replicas=3), NOW + timedelta(seconds=5))
    names = [p["metadata"]["name"] for p in kubelet.pods_for_replicaset(grown, {}, NOW + timedelta(seconds=6))]
    again = [p["metadata"]["name"] for p in kubelet.pods_for_replicaset(grown, {}, NOW + timedelta(seconds=60))]
    assert names == again and len(set(names)) == 3 and all(n.startswith("web-abc-") and len(n) == len("web-abc-") + 5 for n in names)
    shrunk = kubelet.record_pod_starts(grown, rs(replicas=2), NOW + timedelta(seconds=7))
    assert [p["metadata"]["name"] for p in kubelet.pods_for_replicaset(shrunk, {}, NOW)] == names[:2]


def test_lease_excludes_a_second_holder(tmp_path):
    cluster = LocalCluster(tmp_path, now=NOW)
    with cluster.lease("reconciler", "default", "run-a", duration_seconds=60, now=NOW):
        with pytest.raises(ClusterError):
            with cluster.lease("reconciler", "default", "run-b", duration_seconds=60, now=NOW):
                pass
    with cluster.lease("reconciler", "default", "run-b", duration_seconds=60, now=NOW):
        pass


def test_annotations_store_two_writers_cannot_both_advance(tmp_path):
    first = AnnotationsStatusStore(LocalCluster(tmp_path, now=NOW))
    second = AnnotationsStatusStore(LocalCluster(tmp_path, now=NOW))
    first.load()
    first.save({("default", "web"): {"revision": 1, "step_index": 0}}, message="first")
    a, b = first.load(), second.load()
    assert a == b == {("default", "web"): {"revision": 1, "step_index": 0}}
    first.save({("default", "web"): {"revision": 1, "step_index": 1}}, message="a advances")
    with pytest.raises(Conflict):
        second.save({("default", "web"): {"revision": 1, "step_index": 1}}, message="b advances too")
    assert second.load()[("default", "web")]["step_index"] == 1
    # a fresh store that never loaded cannot create over an existing state either
    third = AnnotationsStatusStore(LocalCluster(tmp_path, now=NOW))
    with pytest.raises(Conflict):
        third.save({("default", "web"): {"revision": 9}}, message="blind write")
