"""Analysis fields: dryRun and measurementRetention (analysis/metric_rules.py) and
analysisRunMetadata (analysis/lifecycle.py run_metadata). Facts transcribed from Argo:
utils/analysis helpers GetDryRunMetrics / GetMeasurementRetentionMetrics (a rule's metricName is a
regular expression searched in the metric name; a rule naming no metric is an error),
analysis/analysis_test.go TestTrimMeasurementHistory, and rollout/analysis.go
newAnalysisRunFromRollout (labels: the engine's, then analysisRunMetadata.labels, then the
selector's matchLabels; annotations: analysisRunMetadata.annotations)."""

from __future__ import annotations

import json

import pytest

from reconciler.analysis import metric_rules
from reconciler.status.annotations import STATE_ANNOTATION
from tests.backends import LocalBackend
from tests.fields_cli import CliRollout

NAMES = ["success-rate", "latency", "error-rate"]

# (rules' metricName, metrics named)
DRY_RUN = [
    (["latency"], ["latency"]),
    (["rate"], ["error-rate", "success-rate"]),  # unanchored search, as Go's MatchString
    ([".*"], sorted(NAMES)),
    (["*"], sorted(NAMES)),  # this tool's "every metric" (not a Go pattern)
    (["^success", "^lat"], ["latency", "success-rate"]),
]


@pytest.mark.parametrize("patterns,named", DRY_RUN)
def test_dry_run_rules_name_metrics_by_regex(patterns, named):
    assert metric_rules.dry_run_metrics([{"metricName": p} for p in patterns], NAMES) == named


def test_a_rule_naming_no_metric_is_an_error():
    with pytest.raises(metric_rules.RuleError, match=r"^dryRun\[1\]: Rule didn't match any metric name\(s\)$"):
        metric_rules.dry_run_metrics([{"metricName": "latency"}, {"metricName": "^nope$"}], NAMES)
    with pytest.raises(metric_rules.RuleError, match=r"^measurementRetention\[0\]"):
        metric_rules.retention_limits([{"metricName": "nope", "limit": 2}], NAMES)


# TestTrimMeasurementHistory: (history limit, retention rules, measurements of metric1 / metric2, kept)
TRIM = [
    (2, [], (["1"], ["2", "3"]), (["1"], ["2", "3"])),
    (1, [], (["1"], ["2", "3"]), (["1"], ["3"])),
    (1, [{"metricName": "*", "limit": 2}], (["1"], ["2", "3"]), (["1"], ["2", "3"])),
    (1, [{"metricName": "metric2", "limit": 2}], (["1"], ["2", "3"]), (["1"], ["2", "3"])),
]


@pytest.mark.parametrize("default,rules,history,kept", TRIM, ids=[f"TestTrimMeasurementHistory-{i}" for i in range(len(TRIM))])
def test_trim_measurement_history(default, rules, history, kept):
    # In TestTrimMeasurementHistory the "*" rule is handed in for metric2 only (the map is built by hand).
    limits = metric_rules.retention_limits(rules, ["metric2"]) if rules else {}
    got = []
    for name, values in zip(("metric1", "metric2"), history):
        values = list(values)
        metric_rules.keep(values, limits.get(name) or default)
        got.append(values)
    assert tuple(got) == kept


def job(exit_code: int) -> dict:
    return {"job": {"spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [
        {"name": "check", "image": "alpine:3", "command": ["sh", "-c"], "args": [f"exit {exit_code}"]}]}}}}}


def template(metrics: list[dict]) -> dict:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate", "metadata": {"name": "checks", "namespace": "default"},
            "spec": {"metrics": metrics}}


def _state(app, t) -> dict:
    for cm in app.objects("ConfigMap", t):
        raw = ((cm.get("metadata") or {}).get("annotations") or {}).get(STATE_ANNOTATION)
        if raw:
            return json.loads(raw)
    raise AssertionError("no recorded state")


def test_dry_run_metric_fails_without_failing_the_rollout_and_the_run_carries_its_metadata(tmp_path):
    analysis = {"templates": [{"templateName": "checks"}], "dryRun": [{"metricName": "ba"}],
                "analysisRunMetadata": {"labels": {"team": "payments"}, "annotations": {"owner": "alice"}}}
    app = CliRollout(tmp_path, LocalBackend(tmp_path / "cluster"), replicas=2,
                     canary={"steps": [{"setWeight": 50}, {"analysis": analysis}]},
                     extra=[template([{"name": "good", "provider": job(0)}, {"name": "bad", "provider": job(1)}])])
    app.run(0)
    app.set_image("app:2")
    for t in range(1, 12):
        app.run(t)
    view = app.view(11)
    assert view["status"] == "Healthy", view["message"]
    [run] = view["analysisRuns"]
    assert run["status"] == "Successful"
    bad = next(m for m in run["metrics"] if m["name"] == "bad")
    assert bad["phase"] == "Failed" and bad["dryRun"] is True
    assert run["labels"]["team"] == "payments" and run["labels"]["app"] == "app"  # the selector's labels too
    assert run["labels"]["rollout-type"] == "Step"
    assert run["annotations"] == {"owner": "alice"}


def test_without_dry_run_the_same_failure_aborts(tmp_path):
    analysis = {"templates": [{"templateName": "checks"}]}
    app = CliRollout(tmp_path, LocalBackend(tmp_path / "cluster"), replicas=2,
                     canary={"steps": [{"setWeight": 50}, {"analysis": analysis}]},
                     extra=[template([{"name": "good", "provider": job(0)}, {"name": "bad", "provider": job(1)}])])
    app.run(0)
    app.set_image("app:2")
    for t in range(1, 8):
        app.run(t)
    assert app.view(7)["status"] == "Degraded"


def test_measurement_retention_keeps_the_last_n_measurements(tmp_path):
    analysis = {"templates": [{"templateName": "checks"}], "measurementRetention": [{"metricName": "good", "limit": 2}]}
    app = CliRollout(tmp_path, LocalBackend(tmp_path / "cluster"), replicas=2,
                     canary={"steps": [{"setWeight": 50}, {"analysis": analysis}]},
                     extra=[template([{"name": "good", "count": 4, "interval": "1s", "provider": job(0)},
                                      {"name": "other", "count": 4, "interval": "1s", "provider": job(0)}])])
    app.run(0)
    app.set_image("app:2")
    for t in range(1, 30):
        app.run(t)
    assert app.view(29)["status"] == "Healthy"
    [run] = _state(app, 29)["analysis"].values()
    metrics = {m["name"]: m for m in run["metrics"]}
    assert metrics["good"]["count"] == 4 and len(metrics["good"]["measurements"]) == 2
    assert metrics["other"]["count"] == 4 and len(metrics["other"]["measurements"]) == 4
