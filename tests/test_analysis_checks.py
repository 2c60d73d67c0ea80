"""Validation findings for analysis: expressions, providers, args, indefinite metrics, durations."""

from __future__ import annotations

import pytest

from reconciler.analysis.checks import check_manifests, metric_duration
from reconciler.findings import Severity
from reconciler.manifests.loader import load_directory
from reconciler.validation import Context

TEMPLATE = """\
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: success-rate
spec:
  args:
  - name: service-name
  - name: threshold
    value: "0.95"
  metrics:
  - name: success-rate
    interval: 30s
    count: 3
    successCondition: result >= {{{{args.threshold}}}}
    failureLimit: 2
    provider:
      prometheus:
        address: http://prometheus:9090
        query: sum(rate(x{{service="{{{{args.service-name}}}}"}}[1m]))
{extra}
"""

ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: mock-server
spec:
  replicas: 5
{deadline}  selector:
    matchLabels: {{app: mock-server}}
  template:
    metadata: {{labels: {{app: mock-server}}}}
    spec:
      containers: [{{name: c, image: "nginx:1"}}]
  strategy:
    canary:
      steps:
      - setWeight: 20
      - analysis:
          templates:
          - templateName: success-rate
{args}
"""


def findings(tmp_path, template_extra="", args="", deadline="", period=None):
    (tmp_path / "template.yaml").write_text(TEMPLATE.format(extra=template_extra))
    (tmp_path / "rollout.yaml").write_text(ROLLOUT.format(args=args, deadline=deadline))
    loaded = load_directory(tmp_path)
    assert not loaded.findings
    return check_manifests(loaded.manifests, Context(loaded.manifests), period_seconds=period)


GOOD_ARGS = "          args:\n          - name: service-name\n            value: mock-server-canary\n"


def test_a_good_repository_has_no_findings(tmp_path):
    assert findings(tmp_path, args=GOOD_ARGS) == []


def test_missing_arg_points_at_the_rollouts_analysis(tmp_path):
    [finding] = findings(tmp_path)
    assert finding.rule == "analysis-args" and finding.severity is Severity.ERROR
    assert finding.message == "analysis arg 'service-name' (declared by success-rate) has no value"
    assert finding.file == "rollout.yaml" and finding.path == "spec.strategy.canary.steps[1].analysis"
    assert "name: service-name" in finding.hint


def test_unknown_rollout_arg_is_a_warning_with_did_you_mean(tmp_path):
    args = GOOD_ARGS + "          - name: treshold\n            value: '0.9'\n"
    [finding] = findings(tmp_path, args=args)
    assert finding.severity is Severity.WARNING and "did you mean `threshold`" in finding.hint
    assert finding.path == "spec.strategy.canary.steps[1].analysis.args[1].name"


@pytest.mark.parametrize(
    "condition, problem",
    [
        ("result[0] >== 0.95", "unexpected"),
        ("result.foo(1)", "unexpected|unknown"),
        ("sum_of(result) > 1", "unknown function sum_of"),
        ("rate > 0.9", "unknown name 'rate'"),
    ],
)
def test_unsupported_expressions_are_findings_at_their_line(tmp_path, condition, problem):
    extra = f"  - name: other\n    successCondition: \"{condition}\"\n    provider:\n      web: {{url: 'http://x'}}\n"
    [finding] = [f for f in findings(tmp_path, template_extra=extra, args=GOOD_ARGS) if f.rule == "analysis-expression"]
    import re

    assert re.search(problem, finding.message), finding.message
    assert finding.file == "template.yaml" and finding.line == 21
    assert finding.path == "spec.metrics[1].successCondition"


def test_unsupported_provider_and_missing_fields(tmp_path):
    extra = (
        "  - name: dd\n    provider:\n      datadog: {query: x}\n"
        "  - name: web\n    provider:\n      web: {jsonPath: '{$.a['}\n"
        "  - name: job\n    provider:\n      job: {spec: {}}\n"
    )
    problems = {(f.path, f.message.split(":")[0]) for f in findings(tmp_path, template_extra=extra, args=GOOD_ARGS)}
    assert ("spec.metrics[1].provider.datadog", "metric provider 'datadog' is not supported by the reconciler") in problems
    assert ("spec.metrics[2].provider.web.url", "web provider needs url") in problems
    assert any(path == "spec.metrics[2].provider.web.jsonPath" for path, _ in problems)
    assert ("spec.metrics[3].provider.job.spec", "job provider needs spec.template.spec (the Job's pod)") in problems


def test_undeclared_placeholder_and_count_without_interval(tmp_path):
    extra = "  - name: w\n    count: 3\n    provider:\n      web: {url: 'http://{{args.host}}/x'}\n"
    messages = [f.message for f in findings(tmp_path, template_extra=extra, args=GOOD_ARGS)]
    assert "{{args.host}} is used but not declared in spec.args" in messages
    assert "count 3 without an interval" in messages


def test_indefinite_metric_in_a_step_is_an_error(tmp_path):
    extra = "  - name: forever\n    interval: 1m\n    provider:\n      web: {url: 'http://x'}\n"
    [finding] = [f for f in findings(tmp_path, template_extra=extra, args=GOOD_ARGS) if f.rule == "analysis-indefinite"]
    assert "runs indefinitely" in finding.message and finding.severity is Severity.ERROR


def test_analysis_longer_than_the_progress_deadline_warns(tmp_path):
    [finding] = findings(tmp_path, args=GOOD_ARGS, deadline="  progressDeadlineSeconds: 45\n")
    assert finding.rule == "analysis-duration" and finding.severity is Severity.WARNING
    assert finding.message == "metric 'success-rate' of success-rate needs at least 1m (3 measurements, 30s apart), longer than progressDeadlineSeconds (45s)"


def test_a_long_cron_period_stretches_the_analysis(tmp_path):
    problems = findings(tmp_path, args=GOOD_ARGS, period=300)
    messages = sorted(f.message for f in problems)
    # 3 measurements 5m apart take 10m: exactly the default progressDeadlineSeconds (600), so no second warning
    assert messages == ["metric 'success-rate' of success-rate wants a measurement every 30s, but the reconciler runs every 5m"]
    assert "takes about 10m" in problems[0].hint


@pytest.mark.parametrize(
    "metric, period, seconds",
    [
        ({}, None, 0),
        ({"count": 3, "interval": "30s"}, None, 60),
        ({"count": 3, "interval": "30s"}, 300, 600),
        ({"count": 3, "interval": "30s", "initialDelay": "1m"}, 300, 900),
        ({"count": 3, "interval": "90s"}, 60, 240),  # each next run at or after 90s is 120s later
        ({"count": 3, "interval": "2m"}, 60, 240),
        ({"interval": "30s"}, None, None),
        ({"count": "{{args.n}}", "interval": "30s"}, None, None),
    ],
)
def test_metric_duration(metric, period, seconds):
    assert metric_duration(metric, period) == seconds


BACKGROUND = """\
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: error-rate
spec:
  metrics:
  - name: error-rate
    interval: 1m
    successCondition: result < 0.05
    provider:
      web: {url: 'http://x'}
"""


def test_a_background_metric_measured_until_terminated_warns_about_a_longer_period(tmp_path):
    (tmp_path / "template.yaml").write_text(TEMPLATE.format(extra="") + "---\n" + BACKGROUND)
    rollout = ROLLOUT.format(args=GOOD_ARGS, deadline="").replace(
        "    canary:\n", "    canary:\n      analysis:\n        templates:\n        - templateName: error-rate\n", 1)
    (tmp_path / "rollout.yaml").write_text(rollout)
    loaded = load_directory(tmp_path)

    def about_error_rate(period):
        return [f for f in check_manifests(loaded.manifests, Context(loaded.manifests), period_seconds=period) if "'error-rate'" in f.message]

    assert about_error_rate(60) == []
    [finding] = about_error_rate(300)
    assert finding.path == "spec.strategy.canary.analysis.templates[0].templateName"
    assert finding.message == "metric 'error-rate' of error-rate wants a measurement every 1m, but the reconciler runs every 5m"
    assert finding.hint == "measurements will be 5m apart for as long as the analysis runs"
