"""kubelet.replicaset_status counts the simulated pods without building them: it must say what
pods_for_replicaset's pods say, for every mix of start times, delays and crashes."""

from datetime import datetime, timedelta, timezone

import pytest

from reconciler.cluster import kubelet

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def rs(replicas, image, min_ready):
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-1", "namespace": "default", "generation": 3},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready, "template": {"spec": {"containers": [{"name": "c", "image": image}]}}}}


@pytest.mark.parametrize("min_ready", [0, 3])
@pytest.mark.parametrize("image", ["nginx:1", "nginx:slow", "nginx:bad"])
@pytest.mark.parametrize("replicas", [0, 1, 3, 5])
@pytest.mark.parametrize("later", [0, 4, 6, 8, 10, 11, 13, 14, 16, 100])
def test_status_matches_the_pods(image, replicas, later, min_ready):
    config = {"readyAfterSeconds": {"nginx:slow": 10}, "crash": ["nginx:bad"]}
    grown = kubelet.record_pod_starts(None, rs(2, image, min_ready), NOW)
    grown = kubelet.record_pod_starts(grown, rs(replicas, image, min_ready), NOW + timedelta(seconds=5))
    at = NOW + timedelta(seconds=later)
    pods = kubelet.pods_for_replicaset(grown, config, at)
    running = [p for p in pods if p["status"]["reason"] == "Running"]
    available = [p for p in running if kubelet.pod_available(grown, kubelet.parse_iso(p["status"]["startTime"]), config, at)]
    status = kubelet.replicaset_status(grown, config, at)
    assert status == {"replicas": len(pods), "readyReplicas": len(running), "availableReplicas": len(available),
                      "fullyLabeledReplicas": len(pods), "observedGeneration": 3}
    assert kubelet.simulate_replicaset(grown, config, at)["status"] == status
    assert "status" not in grown  # simulate_replicaset leaves its argument alone
