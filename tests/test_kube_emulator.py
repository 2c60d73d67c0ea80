"""The emulator speaks the real protocol: the official client's typed and dynamic APIs work against it."""

from __future__ import annotations

import json

import pytest
from kubernetes import client, config, dynamic
from kubernetes.client.rest import ApiException

from tests.kube_emulator import KubeEmulator
from tests.kube_emulator.store import PatchError, json_patch, merge_patch, parse_selector


@pytest.fixture
def api():
    with KubeEmulator() as emulator:
        yield emulator


@pytest.fixture
def api_client(api, tmp_path):
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(api.write_kubeconfig(tmp_path / "kubeconfig")), client_configuration=cfg)
    with client.ApiClient(cfg) as api_client:
        yield api_client


def rs_body(name, labels):
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}},
        },
    }


def test_discovery_drives_the_dynamic_client(api_client):
    dyn = dynamic.DynamicClient(api_client)
    rollouts = dyn.resources.get(api_version="argoproj.io/v1alpha1", kind="Rollout")
    assert rollouts.namespaced and rollouts.name == "rollouts"
    created = rollouts.create(body={"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "r"},
                                    "spec": {"replicas": 1}}, namespace="default")
    assert created.metadata.resourceVersion
    patched = rollouts.patch(name="r", namespace="default", body={"spec": {"replicas": 3}}, content_type="application/merge-patch+json")
    assert patched.spec.replicas == 3
    status = dyn.resources.get(api_version="argoproj.io/v1alpha1", kind="Rollout").status
    assert status.name == "rollouts/status"


def test_typed_client_create_list_with_set_based_selectors(api_client):
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_replica_set("default", rs_body("a", {"app": "x", "tier": "web"}))
    apps.create_namespaced_replica_set("default", rs_body("b", {"app": "y"}))
    names = lambda sel: [rs.metadata.name for rs in apps.list_namespaced_replica_set("default", label_selector=sel).items]  # noqa: E731
    assert names("app in (x,z)") == ["a"]
    assert names("app notin (x)") == ["b"]
    assert names("tier") == ["a"]
    assert names("!tier,app!=z") == ["b"]
    [rs] = apps.list_namespaced_replica_set("default", label_selector="app=x").items
    assert rs.status.replicas == 1  # the simulated controller's view


def test_strategic_json_and_apply_patches(api, api_client):
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_replica_set("default", rs_body("a", {"app": "x"}))
    apps.patch_namespaced_replica_set("a", "default", {"spec": {"replicas": 4}})  # strategic merge by default
    apps.patch_namespaced_replica_set("a", "default", [{"op": "replace", "path": "/spec/replicas", "value": 5}])
    assert apps.read_namespaced_replica_set("a", "default").spec.replicas == 5
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_replica_set("a", "default", [{"op": "test", "path": "/spec/replicas", "value": 1}])
    assert err.value.status == 422
    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object("argoproj.io", "v1alpha1", "default", "rollouts",
                                           {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "r"}, "spec": {}})
    # Server-side apply creates or merges; requires a field manager.
    body = "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: s}\nspec: {replicas: 2}\n"
    response = api_client.call_api(
        "PATCH", api.url + "/apis/argoproj.io/v1alpha1/namespaces/default/rollouts/s?fieldManager=reconciler",
        header_params={"Content-Type": "application/apply-patch+yaml", "Authorization": f"Bearer {api.token}"}, body=body,
    )
    assert response.status == 201
    assert api.objects("Rollout", "default")[1]["spec"] == {"replicas": 2}


def test_strategic_merge_on_a_custom_resource_is_415_as_on_a_real_server(api, api_client):
    api.seed({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "r"}, "spec": {}})
    response = api_client.call_api(
        "PATCH", api.url + "/apis/argoproj.io/v1alpha1/namespaces/default/rollouts/r",
        header_params={"Content-Type": "application/strategic-merge-patch+json", "Authorization": f"Bearer {api.token}"},
        body={"spec": {"paused": True}},
    )
    assert response.status == 415


def test_status_subresource_separates_status_from_spec(api_client):
    custom = client.CustomObjectsApi(api_client)
    body = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "r"}, "spec": {"replicas": 1},
            "status": {"phase": "ignored on create"}}
    created = custom.create_namespaced_custom_object("argoproj.io", "v1alpha1", "default", "rollouts", body)
    assert "status" not in created
    created["status"] = {"phase": "Healthy"}
    with_status = custom.replace_namespaced_custom_object_status("argoproj.io", "v1alpha1", "default", "rollouts", "r", created)
    assert with_status["status"] == {"phase": "Healthy"}
    with_status["spec"]["replicas"] = 2
    with_status["status"] = {"phase": "tampered"}
    replaced = custom.replace_namespaced_custom_object("argoproj.io", "v1alpha1", "default", "rollouts", "r", with_status)
    assert replaced["status"] == {"phase": "Healthy"} and replaced["spec"]["replicas"] == 2
    assert replaced["metadata"]["generation"] == 2
    with pytest.raises(ApiException) as err:
        custom.replace_namespaced_custom_object("argoproj.io", "v1alpha1", "default", "rollouts", "r", with_status)
    assert err.value.status == 409


def test_events_leases_generate_name_and_missing_namespaces(api_client):
    core = client.CoreV1Api(api_client)
    event = core.create_namespaced_event("default", {"metadata": {"generateName": "r."}, "involvedObject": {"kind": "Rollout", "name": "r"},
                                                     "reason": "RolloutPaused", "message": "paused"})
    assert event.metadata.name.startswith("r.") and len(event.metadata.name) > 2
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("nowhere", {"metadata": {"name": "c"}})
    assert err.value.status == 404
    leases = client.CoordinationV1Api(api_client)
    lease = leases.create_namespaced_lease("default", {"metadata": {"name": "l"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 5}})
    assert lease.spec.holder_identity == "a"


def test_faults_and_authentication(api, api_client, tmp_path):
    core = client.CoreV1Api(api_client)
    api.fail(method="GET", path="/services", status=500)
    with pytest.raises(ApiException) as err:
        core.list_namespaced_service("default")
    assert err.value.status == 500
    assert core.list_namespaced_service("default").items == []
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(api.write_kubeconfig(tmp_path / "bad", token="wrong")), client_configuration=cfg)
    with client.ApiClient(cfg) as bad:
        with pytest.raises(ApiException) as err:
            client.CoreV1Api(bad).list_namespaced_service("default")
    assert err.value.status == 401


def test_rbac_rules_answer_403_with_the_real_message_shape(tmp_path):
    with KubeEmulator(rbac=[("apps", "replicasets", "list")]) as api:
        cfg = client.Configuration()
        config.load_kube_config(config_file=str(api.write_kubeconfig(tmp_path / "k")), client_configuration=cfg)
        with client.ApiClient(cfg) as api_client:
            apps = client.AppsV1Api(api_client)
            assert apps.list_namespaced_replica_set("default").items == []
            with pytest.raises(ApiException) as err:
                apps.delete_namespaced_replica_set("a", "default")
    assert err.value.status == 403
    assert 'cannot delete resource "replicasets" in API group "apps" in the namespace "default"' in json.loads(err.value.body)["message"]


def test_patch_helpers():
    assert merge_patch({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"b": None, "d": 3}, "l": [2]}) == {"a": {"c": 2, "d": 3}, "l": [2]}
    doc = {"a": [1, 2], "b": {"c": 1}}
    assert json_patch(doc, [{"op": "add", "path": "/a/-", "value": 3}, {"op": "move", "from": "/b/c", "path": "/d"},
                            {"op": "copy", "from": "/d", "path": "/e"}, {"op": "remove", "path": "/a/0"}]) == {"a": [2, 3], "b": {}, "d": 1, "e": 1}
    assert doc == {"a": [1, 2], "b": {"c": 1}}
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "replace", "path": "/missing", "value": 1}])
    match = parse_selector("a=1,b in (x, y),!c")
    assert match({"a": "1", "b": "y"}) and not match({"a": "1", "b": "y", "c": ""}) and not match({"a": "2", "b": "x"})


def test_an_owner_reference_without_uid_is_invalid_as_on_a_real_server(api_client):
    # the dynamic client sends the body as it is (the typed models would refuse it client-side)
    replicasets = dynamic.DynamicClient(api_client).resources.get(api_version="apps/v1", kind="ReplicaSet")
    body = rs_body("owned", {"app": "owned"})
    body["metadata"]["ownerReferences"] = [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "web"}]
    with pytest.raises(ApiException) as raised:
        replicasets.create(body=body, namespace="default")
    assert raised.value.status == 422 and "ownerReferences[0].uid" in json.loads(raised.value.body)["message"]
    body["metadata"]["ownerReferences"][0]["uid"] = "6f1c1f4e-0000-4e55-9a57-0b9d3a1f2c11"
    assert replicasets.create(body=body, namespace="default").metadata.ownerReferences[0].name == "web"
