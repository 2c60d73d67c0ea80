"""Template lookup, args (value / podTemplateHashValue / fieldRef / secretKeyRef), `{{args.x}}`, run names."""

from __future__ import annotations

import pytest

from reconciler.analysis.templates import AnalysisResolveError, placeholders, resolve_analysis, run_name, substitute

ROLLOUT = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
    "metadata": {"name": "mock-server", "namespace": "shop", "labels": {"app": "mock-server", "team": "pay"}},
    "spec": {"replicas": 5},
}

SUCCESS_RATE = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
    "metadata": {"name": "success-rate", "namespace": "shop"},
    "spec": {
        "args": [{"name": "service-name"}, {"name": "prometheus-port", "value": "9090"}, {"name": "hash"}],
        "metrics": [{
            "name": "success-rate", "successCondition": "result[0] >= 0.95", "interval": "30s",
            "provider": {"prometheus": {
                "address": "http://prometheus.example.com:{{args.prometheus-port}}",
                "query": 'sum(irate(istio_requests_total{destination_service=~"{{args.service-name}}",hash="{{ args.hash }}"}[5m]))',
            }},
        }],
    },
}

CLUSTER_JOB = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "ClusterAnalysisTemplate",
    "metadata": {"name": "smoke"},
    "spec": {"metrics": [{"name": "smoke", "provider": {"job": {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "curl", "args": ["curl -f http://{{args.service-name}}/health"]}]}}}}}}],
        "args": [{"name": "service-name"}]},
}


def lookup(kind, namespace, name):
    table = {("AnalysisTemplate", "shop", "success-rate"): SUCCESS_RATE, ("ClusterAnalysisTemplate", None, "smoke"): CLUSTER_JOB}
    return table.get((kind, namespace, name))


def resolve(analysis, rollout=ROLLOUT):
    return resolve_analysis(analysis, rollout=rollout, lookup=lookup, stable_hash="6579c6cc98", latest_hash="7c6fcfb847")


def test_values_hashes_and_defaults_are_substituted():
    resolved = resolve({
        "templates": [{"templateName": "success-rate"}],
        "args": [{"name": "service-name", "value": "mock-server-canary"}, {"name": "hash", "valueFrom": {"podTemplateHashValue": "Latest"}}],
    })
    prometheus = resolved.metrics[0]["provider"]["prometheus"]
    assert prometheus["address"] == "http://prometheus.example.com:9090"
    assert 'destination_service=~"mock-server-canary",hash="7c6fcfb847"' in prometheus["query"]
    assert resolved.args == {"service-name": "mock-server-canary", "prometheus-port": "9090", "hash": "7c6fcfb847"}
    assert resolved.templates == ["success-rate"]


def test_stable_hash_and_field_ref():
    resolved = resolve({
        "templates": [{"templateName": "success-rate"}],
        "args": [{"name": "service-name", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                 {"name": "hash", "valueFrom": {"podTemplateHashValue": "Stable"}},
                 {"name": "prometheus-port", "valueFrom": {"fieldRef": {"fieldPath": "spec.replicas"}}}],
    })
    assert resolved.args == {"service-name": "mock-server", "hash": "6579c6cc98", "prometheus-port": "5"}


def test_missing_arg_is_an_error_with_a_hint():
    with pytest.raises(AnalysisResolveError, match=r"args.service-name was not resolved") as err:
        resolve({"templates": [{"templateName": "success-rate"}], "args": [{"name": "hash", "value": "x"}]})
    assert "name: service-name" in err.value.hint


def test_cluster_template_and_metrics_from_several_templates():
    resolved = resolve({
        "templates": [{"templateName": "success-rate"}, {"templateName": "smoke", "clusterScope": True}],
        "args": [{"name": "service-name", "value": "svc"}, {"name": "hash", "value": "h"}],
    })
    assert [m["name"] for m in resolved.metrics] == ["success-rate", "smoke"]
    assert resolved.metrics[1]["provider"]["job"]["spec"]["template"]["spec"]["containers"][0]["args"] == ["curl -f http://svc/health"]


def test_missing_template_names_the_kind_and_namespace():
    with pytest.raises(AnalysisResolveError, match="AnalysisTemplate 'nope' not found in namespace 'shop'"):
        resolve({"templates": [{"templateName": "nope"}]})


def test_secret_args_stay_placeholders():
    template = {"metadata": {"name": "t"}, "spec": {
        "args": [{"name": "token", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
        "metrics": [{"name": "m", "provider": {"web": {"url": "http://x", "headers": [{"key": "Authorization", "value": "Bearer {{args.token}}"}]}}}],
    }}
    resolved = resolve_analysis({"templates": [{"templateName": "t"}]}, rollout=ROLLOUT, lookup=lambda *a: template, stable_hash="a", latest_hash="b")
    assert resolved.secret_args == {"token": {"name": "s", "key": "k"}}
    assert resolved.metrics[0]["provider"]["web"]["headers"][0]["value"] == "Bearer {{args.token}}"


def test_unknown_placeholder_is_an_error():
    with pytest.raises(AnalysisResolveError, match=r"\{\{args.nope\}\} names an arg"):
        substitute({"q": "{{args.nope}}"}, {})
    assert placeholders({"a": ["{{args.x}} {{ args.y }}"], "b": 1}) == {"x", "y"}


def test_duplicate_metric_names_across_templates():
    with pytest.raises(AnalysisResolveError, match="two metrics have the same name"):
        resolve({"templates": [{"templateName": "success-rate"}, {"templateName": "success-rate"}],
                 "args": [{"name": "service-name", "value": "s"}, {"name": "hash", "value": "h"}]})


def test_dry_run_from_the_rollout_and_wildcard():
    args = [{"name": "service-name", "value": "s"}, {"name": "hash", "value": "h"}]
    resolved = resolve({"templates": [{"templateName": "success-rate"}], "args": args, "dryRun": [{"metricName": "*"}]})
    assert resolved.dry_run == ["success-rate"]
    with pytest.raises(AnalysisResolveError, match=r"dryRun\[0\]: Rule didn't match any metric name"):
        resolve({"templates": [{"templateName": "success-rate"}], "args": args, "dryRun": [{"metricName": "latency"}]})


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(kind="step", step_index=2), "mock-server-7c6fcfb847-2-2"),  # seed 002
        (dict(kind="step", step_index=2, attempt=1), "mock-server-7c6fcfb847-2-2.1"),  # seed 002's retry
        (dict(kind="background"), "mock-server-7c6fcfb847-2"),
        (dict(kind="pre"), "mock-server-7c6fcfb847-2-pre"),
        (dict(kind="post"), "mock-server-7c6fcfb847-2-post"),  # seed 001's "-2-post"
    ],
)
def test_run_names_follow_argo(kwargs, name):
    assert run_name("mock-server", "7c6fcfb847", 2, **kwargs) == name
