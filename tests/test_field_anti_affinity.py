"""antiAffinity (engine/anti_affinity.py): the new revision's pods avoid the nodes of the stable
revision's pods. Facts transcribed from Argo utils/replicaset/replicaset_test.go
(TestGenerateReplicaSetAffinity, TestIfInjectedAntiAffinityRuleNeedsUpdate)."""

from __future__ import annotations

from reconciler.engine import anti_affinity as aa
from tests.backends import LocalBackend, backend  # noqa: F401  (the fixture)
from tests.fields_cli import CliRollout

REQUIRED = {"canary": {"antiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}}}
PREFERRED = {"canary": {"antiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": {"weight": 40}}}}
OWN = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": {"matchExpressions": [{"key": "xxxx"}]}, "topologyKey": "zone"}]}}


def test_no_injection_without_a_stable_or_for_the_stable_itself():
    # TestGenerateReplicaSetAffinity: no stable RS -> the template's affinity unchanged; stable == this RS -> unchanged.
    assert aa.generate(None, REQUIRED, "new", "", "ns") is None
    assert aa.generate(None, REQUIRED, "stable", "stable", "ns") is None
    assert aa.generate(OWN, {"canary": {}}, "new", "stable", "ns") == OWN


def test_required_rule_against_the_stable_pods():
    # TestGenerateReplicaSetAffinity: required -> one PodAffinityTerm on the stable hash, hostname topology.
    got = aa.generate(None, REQUIRED, "new", "stable", "ns")
    assert got == {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchExpressions": [{"key": "rollouts-pod-template-hash", "operator": "In", "values": ["stable"]}]},
         "namespaces": ["ns"], "topologyKey": "kubernetes.io/hostname"}]}}


def test_preferred_rule_keeps_the_weight_and_the_templates_own_affinity():
    # TestGenerateReplicaSetAffinity: preferred -> a weighted term; the template's podAffinity is kept;
    # RemoveInjectedAntiAffinityRule gives the template's own affinity back.
    got = aa.generate(OWN, PREFERRED, "new", "stable", "ns")
    [term] = got["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["weight"] == 40 and term["podAffinityTerm"]["labelSelector"]["matchExpressions"][0]["values"] == ["stable"]
    assert got["podAffinity"] == OWN["podAffinity"]
    assert aa.remove_injected(got) == OWN


def test_needs_update_when_the_stable_moved():
    # TestIfInjectedAntiAffinityRuleNeedsUpdate: no injected rule -> False; rule naming another hash -> True.
    assert not aa.needs_update(None, "new", "test")
    stale = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchExpressions": [{"key": "rollouts-pod-template-hash", "values": ["not-test"]}]}}]}}
    assert aa.needs_update(stale, "new", "test")
    assert not aa.needs_update(aa.generate(None, REQUIRED, "new", "test", "ns"), "new", "test")


def _affinity(rs):
    return (rs["spec"]["template"].get("spec") or {}).get("affinity")


def test_new_revision_avoids_the_stable_nodes(tmp_path, backend):  # noqa: F811
    app = CliRollout(tmp_path, backend, canary={"steps": [{"setWeight": 50}, {"pause": {}}], **PREFERRED["canary"]})
    app.run(0)
    assert _affinity(app.replicasets(0)[1]) is None  # the first revision has no stable to avoid
    stable_hash = app.replicasets(0)[1]["metadata"]["labels"]["rollouts-pod-template-hash"]
    app.set_image("app:2")
    app.run(1)
    affinity = _affinity(app.replicasets(1)[2])
    [term] = affinity["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["weight"] == 40
    assert term["podAffinityTerm"]["labelSelector"]["matchExpressions"][0]["values"] == [stable_hash]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"


def test_required_rule_is_repointed_when_the_stable_moves(tmp_path):
    app = CliRollout(tmp_path, LocalBackend(tmp_path / "cluster"), canary={"steps": [{"setWeight": 50}, {"pause": {}}], **REQUIRED["canary"]})
    app.run(0)
    app.set_image("app:2")
    app.run(1)
    app.gate("promote", "--full")
    for t in (2, 3, 4, 5):
        app.run(t)
    assert app.view(5)["status"] == "Healthy"
    rev2_hash = app.replicasets(5)[2]["metadata"]["labels"]["rollouts-pod-template-hash"]
    app.set_image("app:3")
    app.run(6)
    [term] = _affinity(app.replicasets(6)[3])["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["labelSelector"]["matchExpressions"][0]["values"] == [rev2_hash]
    app.gate("promote", "--full")
    for t in (7, 8, 9, 10):
        app.run(t)
    assert app.view(10)["status"] == "Healthy"
    rev3_hash = app.replicasets(10)[3]["metadata"]["labels"]["rollouts-pod-template-hash"]
    # Back to app:2: its old ReplicaSet (rule naming revision 1's hash) is reused as revision 4 and
    # its rule is pointed at the stable revision 3.
    app.set_image("app:2")
    app.run(11)
    reused = app.replicasets(11)[4]
    assert reused["metadata"]["labels"]["rollouts-pod-template-hash"] == rev2_hash
    [term] = _affinity(reused)["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["labelSelector"]["matchExpressions"][0]["values"] == [rev3_hash]
    from reconciler.commands.undo import template_from_replicaset

    assert "affinity" not in template_from_replicaset(reused)["spec"]  # undo restores the manifest's own
