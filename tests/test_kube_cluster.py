"""KubeCluster (reconciler/cluster/kube.py) driving the official client over HTTP against the emulator."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone

import pytest

from reconciler import POD_TEMPLATE_HASH_LABEL
from reconciler.cluster.kube import KubeCluster
from reconciler.cluster.kube_grants import API_CALLS, CLUSTER_WIDE_LISTS, rbac_rules
from reconciler.errors import ClusterError, Conflict, Forbidden
from tests.kube_emulator import KubeEmulator, write_kubeconfig

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def api():
    with KubeEmulator(now=T0) as emulator:
        yield emulator


@pytest.fixture
def kubeconfig(api, tmp_path):
    return api.write_kubeconfig(tmp_path / "kubeconfig")


def make_cluster(kubeconfig, **kwargs) -> KubeCluster:
    kwargs.setdefault("sleep", lambda seconds: None)
    return KubeCluster(kubeconfig=str(kubeconfig), **kwargs)


@pytest.fixture
def kube(kubeconfig):
    cluster = make_cluster(kubeconfig)
    yield cluster
    cluster.close()


def rollout(name="demo", **spec):
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": name}}, **spec},
    }


def analysisrun(name="demo-1", **spec):
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "demo"}},
        "spec": {"metrics": [{"name": "ok", "provider": {"job": {}}}], **spec},
    }


def replicaset(name="demo-abc", replicas=2, image="nginx:1.14.2", labels=None):
    labels = {"app": "demo", POD_TEMPLATE_HASH_LABEL: "abc", **(labels or {})}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "web", "image": image}]}},
        },
    }


# -- the Cluster protocol ----------------------------------------------------------------------------


def fetch(kube, kind: str, name: str) -> dict | None:
    """One object, read the way a run reads (a list per namespace: `get` is granted only where the code uses it)."""
    return next((obj for obj in kube.list(kind, "default") if obj["metadata"]["name"] == name), None)


def test_get_only_where_the_code_reads_one_object(kube, api):
    """`get` is declared (and granted) for the notifications ConfigMap and the Lease only; a get of
    another kind is refused before it is sent, as the apiserver would refuse it."""
    kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argo-rollouts-notification-configmap", "namespace": "default"}, "data": {}})
    assert kube.get("ConfigMap", "default", "argo-rollouts-notification-configmap")["data"] == {}
    kube.create(analysisrun())
    with pytest.raises(Forbidden, match="does not get analysisruns"):
        kube.get("AnalysisRun", "default", "demo-1")


def test_create_get_list_replace_delete_round_trip(kube, api):
    created = kube.create(analysisrun())
    assert created["metadata"]["resourceVersion"]
    assert created["metadata"]["uid"]
    assert fetch(kube, "AnalysisRun", "demo-1")["spec"]["metrics"][0]["name"] == "ok"
    assert fetch(kube, "AnalysisRun", "missing") is None

    created["spec"]["terminate"] = True
    replaced = kube.replace(created)
    assert replaced["spec"]["terminate"] is True
    assert int(replaced["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])

    [listed] = kube.list("AnalysisRun", "default")
    assert listed["kind"] == "AnalysisRun" and listed["metadata"]["name"] == "demo-1"
    kube.delete("AnalysisRun", "default", "demo-1", resource_version=replaced["metadata"]["resourceVersion"])
    assert kube.list("AnalysisRun", "default") == []
    kube.delete("AnalysisRun", "default", "demo-1")  # a missing object is not an error
    assert (kube.reads, kube.writes) == (4, 4)


def test_list_items_of_built_in_kinds_get_their_kind_back(kube, api):
    api.seed({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}}})
    [service] = kube.list("Service", "default")
    assert (service["apiVersion"], service["kind"]) == ("v1", "Service")


def test_list_is_one_request_narrowed_by_the_label_selector(kube, api):
    for name, app in (("a", "demo"), ("b", "demo"), ("c", "other")):
        api.seed(replicaset(name=f"rs-{name}", labels={"app": app}))
    before = len(api.requests)
    names = [o["metadata"]["name"] for o in kube.list("ReplicaSet", "default", selector={"app": "demo"})]
    assert names == ["rs-a", "rs-b"]
    [request] = api.requests[before:]
    assert request.query["labelSelector"] == ["app=demo"]
    assert kube.reads == 1


def test_list_across_namespaces_and_cluster_scoped_kinds(kube, api):
    api.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    api.seed({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "team"}})
    api.seed({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "y"}})
    assert sorted(o["metadata"]["name"] for o in kube.list("ConfigMap")) == ["x", "y"]
    with pytest.raises(ClusterError, match="across all namespaces"):
        kube.list("ReplicaSet")  # not a declared cluster-wide list: the RBAC would refuse it
    api.seed({"apiVersion": "argoproj.io/v1alpha1", "kind": "ClusterAnalysisTemplate", "metadata": {"name": "rate"}, "spec": {"metrics": []}})
    [template] = kube.list("ClusterAnalysisTemplate", "ignored-namespace")
    assert "namespace" not in template["metadata"]


def test_status_is_left_to_the_cluster_for_kinds_we_do_not_control(kube, api):
    created = kube.create(analysisrun())
    created["status"] = {"phase": "Successful"}
    before = len(api.requests)
    kube.replace(created)
    assert len(api.requests) == before + 1  # AnalysisRun has no status subresource: one PUT did it
    assert api.objects("AnalysisRun", "default")[0]["status"] == {"phase": "Successful"}


def test_stale_resource_version_is_a_conflict(kube):
    first = kube.create(analysisrun())
    kube.replace(dict(first, spec={**first["spec"], "terminate": True}))
    with pytest.raises(Conflict):
        kube.replace(dict(first, spec={**first["spec"], "terminate": False}))
    with pytest.raises(Conflict):
        kube.delete("AnalysisRun", "default", "demo-1", resource_version=first["metadata"]["resourceVersion"])
    with pytest.raises(Conflict):
        kube.create(analysisrun())
    assert fetch(kube, "AnalysisRun", "demo-1")["spec"]["terminate"] is True


def test_replace_of_a_deleted_object_is_a_conflict(kube):
    stored = kube.create(analysisrun())
    kube.delete("AnalysisRun", "default", "demo-1")
    with pytest.raises(Conflict):
        kube.replace(stored)


def test_status_of_a_kind_we_control_goes_through_the_status_subresource(kube, api, monkeypatch):
    # No kind's status is written today (the engine keeps state in ConfigMaps); the path is ready
    # for when one is, e.g. a Rollout's status as Argo's controller writes it.
    monkeypatch.setitem(API_CALLS, "Rollout", ("get", "list", "create", "update"))
    monkeypatch.setitem(API_CALLS, ("Rollout", "status"), ("update",))
    stored = kube.create(dict(rollout(), status={"phase": "Progressing", "currentStepIndex": 0}))
    assert stored["status"] == {"phase": "Progressing", "currentStepIndex": 0}
    stored["status"] = {"phase": "Paused", "currentStepIndex": 1}
    replaced = kube.replace(stored)
    assert replaced["status"]["currentStepIndex"] == 1
    assert [r.path for r in api.calls("update")] == [
        "/apis/argoproj.io/v1alpha1/namespaces/default/rollouts/demo/status",  # create: status set separately
        "/apis/argoproj.io/v1alpha1/namespaces/default/rollouts/demo",
        "/apis/argoproj.io/v1alpha1/namespaces/default/rollouts/demo/status",
    ]
    assert api.objects("Rollout", "default")[0]["status"]["phase"] == "Paused"
    # Unchanged status: no second round-trip.
    before = len(api.calls("update"))
    kube.replace(replaced)
    assert len(api.calls("update")) == before + 1


def test_replicaset_status_and_pods_come_from_the_simulated_controller(kube, api):
    api.kubelet_config = {"readyAfterSeconds": {"nginx:*": 30}}
    created = kube.create(replicaset(replicas=2))
    assert created["status"]["availableReplicas"] == 0
    pods = kube.list("Pod", "default", selector={POD_TEMPLATE_HASH_LABEL: "abc"})
    assert len(pods) == 2 and all(p["kind"] == "Pod" for p in pods)
    api.set_now(T0 + timedelta(seconds=31))
    [rs] = kube.list("ReplicaSet", "default")
    assert rs["status"]["availableReplicas"] == 2
    # The reconciler scales; the controller's status is kept, not overwritten by what we send.
    rs["spec"]["replicas"] = 3
    rs["status"] = {"replicas": 99}
    scaled = kube.replace(rs)
    assert scaled["status"]["replicas"] == 3
    assert scaled["status"]["availableReplicas"] == 2


# -- faults ---------------------------------------------------------------------------------------------


def test_5xx_and_429_are_retried_with_bounded_backoff(kubeconfig, api):
    delays = []
    kube = make_cluster(kubeconfig, sleep=delays.append, backoff_seconds=0.1)
    api.fail(method="GET", path="/rollouts", status=500)
    api.fail(method="GET", path="/rollouts", status=429, retry_after=2)
    assert kube.list("Rollout", "default") == []
    assert len(delays) == 2
    assert delays[1] >= 1.0  # Retry-After honoured (with jitter down to half)
    assert kube.reads == 1


def test_persistent_5xx_gives_up_with_a_cluster_error(kubeconfig, api):
    kube = make_cluster(kubeconfig, max_attempts=3)
    fault = api.fail(method="POST", path="/analysisruns", status=503, times=10)
    with pytest.raises(ClusterError) as err:
        kube.create(analysisrun())
    assert fault.hits == 3
    assert "503" in err.value.message and "after 3 attempts" in err.value.message


def test_injected_409_on_update_is_a_conflict(kube, api):
    stored = kube.create(analysisrun())
    api.fail(method="PUT", path="/analysisruns/demo-1$", status=409)
    with pytest.raises(Conflict):
        kube.replace(stored)


def test_a_hanging_read_times_out_and_is_retried(kubeconfig, api):
    kube = make_cluster(kubeconfig, read_timeout=0.3)
    api.fail(method="GET", path="/rollouts", hang=1.0)
    # The first read hangs past the 0.3 s read timeout: a client that gives up and asks again sends
    # a second GET (one that waited would send one). No wall-clock assertion: these machines are noisy.
    assert kube.list("Rollout", "default") == []
    assert [r.method for r in api.requests if r.path.endswith("/rollouts")] == ["GET", "GET"]


def test_a_hanging_write_fails_with_a_cluster_error_not_a_retry(kubeconfig, api):
    kube = make_cluster(kubeconfig, read_timeout=0.3)
    fault = api.fail(method="POST", path="/analysisruns", hang=1.0, times=5)
    with pytest.raises(ClusterError) as err:
        kube.create(analysisrun())
    assert fault.hits == 1
    assert "did not answer" in err.value.message


def test_expired_credentials_say_so_without_printing_the_token(api, tmp_path):
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig", token="s3cr3t-expired-token")
    with pytest.raises(ClusterError) as err:
        make_cluster(kubeconfig).list("Rollout", "default")
    text = f"{err.value.message} {err.value.hint}"
    assert "401" in text and "credentials" in text
    assert "s3cr3t" not in text


def test_missing_rbac_permission_names_the_verb_and_resource(tmp_path):
    rules = [(g, r, v) for _, g, r, verbs in rbac_rules() for v in verbs if not (r == "replicasets" and v == "create")]
    with KubeEmulator(rbac=rules) as api:
        kube = make_cluster(api.write_kubeconfig(tmp_path / "kubeconfig"))
        assert kube.list("ReplicaSet", "default") == []
        with pytest.raises(ClusterError) as err:
            kube.create(replicaset())
    assert "cannot create replicasets (apiGroup apps) in namespace 'default'" in err.value.message
    assert "403" in err.value.message
    assert "deploy/rbac.yaml" in err.value.hint


def test_a_role_alone_does_not_allow_listing_across_namespaces(tmp_path):
    with KubeEmulator(rbac=[("", "configmaps", "list", "namespace")]) as api:
        kube = make_cluster(api.write_kubeconfig(tmp_path / "kubeconfig"))
        assert kube.list("ConfigMap", "default") == []
        with pytest.raises(ClusterError, match="cannot list configmaps .* in all namespaces"):
            kube.list("ConfigMap")


def test_unreachable_cluster_is_a_cluster_error_naming_the_address(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The port is closed now: nothing listens there.
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server=f"http://127.0.0.1:{port}", token="emulator-token")
    with pytest.raises(ClusterError) as err:
        KubeCluster(kubeconfig=str(kubeconfig)).list("Rollout", "default")
    assert f"127.0.0.1:{port}" in err.value.message
    assert "emulator-token" not in err.value.message + err.value.hint


def test_missing_kubeconfig_and_unknown_context(tmp_path, monkeypatch, kubeconfig):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "nope"))
    with pytest.raises(ClusterError) as err:
        KubeCluster()
    assert "no kubeconfig found" in err.value.message
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    with pytest.raises(ClusterError) as err:
        KubeCluster(context="prod")
    assert "prod" in err.value.hint


def test_context_selects_the_cluster(api, tmp_path, monkeypatch):
    path = api.write_kubeconfig(tmp_path / "kubeconfig", context="staging")
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert KubeCluster(context="staging").host == api.url


def test_crds_not_installed_is_a_cluster_error_with_a_hint(tmp_path):
    with KubeEmulator(served_groups=["apps", "batch", "coordination.k8s.io"]) as api:
        kube = make_cluster(api.write_kubeconfig(tmp_path / "kubeconfig"))
        with pytest.raises(ClusterError) as err:
            kube.list("Rollout", "default")
    assert "Argo Rollouts CRDs" in err.value.hint


def test_a_call_outside_the_declared_table_is_refused_before_the_api_is_asked(kube, api):
    before = len(api.requests)
    with pytest.raises(ClusterError) as err:
        kube.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "p"}})
    assert "does not create secrets" in err.value.message and "API_CALLS" in err.value.hint
    assert len(api.requests) == before


def test_creating_in_a_missing_namespace_says_so(kube):
    obj = analysisrun()
    obj["metadata"]["namespace"] = "nowhere"
    with pytest.raises(ClusterError) as err:
        kube.create(obj)
    assert "kubectl create namespace nowhere" in err.value.hint


# -- events and leases ---------------------------------------------------------------------------------


def test_emit_event_creates_a_core_v1_event(kube, api):
    api.seed(rollout())
    stored = fetch(kube, "Rollout", "demo")
    kube.emit_event(stored, "RolloutPaused", "Rollout is paused (CanaryPauseStep)", now=T0)
    kube.emit_event(stored, "RolloutAborted", "Rollout aborted", type="Warning", now=T0)
    events = api.objects("Event", "default")
    assert [(e["reason"], e["type"]) for e in events] == [("RolloutPaused", "Normal"), ("RolloutAborted", "Warning")]
    involved = events[0]["involvedObject"]
    assert (involved["kind"], involved["name"], involved["uid"]) == ("Rollout", "demo", stored["metadata"]["uid"])
    assert events[0]["firstTimestamp"] == "2026-01-01T00:00:00Z"


def test_a_lost_event_does_not_fail_the_run(kube, api):
    api.fail(method="POST", path="/events", status=500, times=10)
    kube.emit_event(rollout(), "RolloutUpdated", "updated", now=T0)  # logged, not raised


def test_lease_excludes_a_second_live_holder_and_is_released(kubeconfig, api):
    first, second = make_cluster(kubeconfig), make_cluster(kubeconfig)
    with first.lease("reconciler", "default", "run-a", duration_seconds=60, now=T0) as held:
        assert held.obj["spec"]["holderIdentity"] == "run-a"
        with pytest.raises(ClusterError, match="another run holds the lease default/reconciler"):
            with second.lease("reconciler", "default", "run-b", duration_seconds=60, now=T0 + timedelta(seconds=30)):
                pass
    [lease] = api.objects("Lease", "default")
    assert "holderIdentity" not in lease["spec"]
    with second.lease("reconciler", "default", "run-b", duration_seconds=60, now=T0 + timedelta(seconds=31)) as held:
        assert held.obj["spec"]["holderIdentity"] == "run-b"


def test_an_expired_lease_of_a_crashed_holder_is_taken_over(kube, api):
    api.seed({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "reconciler", "namespace": "default"},
              "spec": {"holderIdentity": "crashed", "leaseDurationSeconds": 60, "renewTime": "2026-01-01T00:00:00.000000Z"}})
    with pytest.raises(ClusterError):
        with kube.lease("reconciler", "default", "me", duration_seconds=60, now=T0 + timedelta(seconds=59)):
            pass
    with kube.lease("reconciler", "default", "me", duration_seconds=60, now=T0 + timedelta(seconds=61)) as held:
        assert held.obj["spec"]["holderIdentity"] == "me"
        assert held.obj["spec"]["leaseTransitions"] == 1


def test_two_runs_racing_for_a_lease_cannot_both_win(kube, api):
    # The other run creates the lease between our read and our create: our create gets 409.
    api.fail(method="POST", path="/leases", status=409)
    with pytest.raises(ClusterError, match="another run holds the lease"):
        with kube.lease("reconciler", "default", "me", duration_seconds=60, now=T0):
            pass


# -- the declared calls ----------------------------------------------------------------------------------


def test_declared_calls_use_only_known_verbs_and_kinds():
    rules = rbac_rules()
    assert rules and all(set(verbs) <= {"get", "list", "create", "update", "delete", "patch"} for _, _, _, verbs in rules)
    assert ("LeaseRole", "coordination.k8s.io", "leases", ("create", "get", "update")) in rules  # bound in the Lease's namespace only
    # The state ConfigMaps are listed per namespace: no namespaced kind needs a ClusterRole.
    assert [r for r in rules if r[0] == "ClusterRole"] == [("ClusterRole", "argoproj.io", "clusteranalysistemplates", ("create", "list", "patch"))]
    assert all("*" not in (g + r + "".join(v)) for _, g, r, v in rules)
    assert len(rules) == len(API_CALLS)
    assert {"ConfigMap"} == CLUSTER_WIDE_LISTS  # `list rollouts -A` only, with the person's own credentials


def test_in_cluster_configuration_when_there_is_no_kubeconfig(tmp_path, monkeypatch):
    from kubernetes.config import incluster_config

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (tmp_path / "token").write_text("in-cluster-s3cr3t")
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(tmp_path / "ca.crt"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(port))
    cluster = KubeCluster(probe=False)
    assert cluster.host == f"https://127.0.0.1:{port}"  # the pod's service account, not a kubeconfig
    with pytest.raises(ClusterError) as err:
        cluster.probe()
    assert "in-cluster-s3cr3t" not in err.value.message + err.value.hint
    with pytest.raises(ClusterError, match="running in-cluster"):
        KubeCluster(context="prod", probe=False)


def test_objects_are_written_in_their_own_api_version(kube, api):
    vs = {"apiVersion": "networking.istio.io/v1alpha3", "kind": "VirtualService", "metadata": {"name": "web", "namespace": "default"},
          "spec": {"hosts": ["web"], "http": [{"route": [{"destination": {"host": "web"}, "weight": 100}]}]}}
    created = kube.create(vs)
    assert created["apiVersion"] == "networking.istio.io/v1alpha3"
    assert api.calls("create")[-1].path == "/apis/networking.istio.io/v1alpha3/namespaces/default/virtualservices"
    [listed] = kube.list("VirtualService", "default")  # read in the version of reconciler/kinds.py
    assert listed["apiVersion"] == "networking.istio.io/v1beta1"
    listed["spec"]["http"][0]["route"][0]["weight"] = 80
    assert kube.replace(listed)["spec"]["http"][0]["route"][0]["weight"] == 80
