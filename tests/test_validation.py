"""Schemas and rules against the seed fixtures and one invalid repository per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.durations import parse_duration
from reconciler.manifests.loader import load_directory
from reconciler.validation import errors_by_object, validate

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
VALID = ["canary-nginx", "bluegreen-nginx", "bluegreen-analysis", "mock-server-canary", "mock-server-canary-table1", "mock-server-bluegreen", "istio-canary", "prometheus-analysis", "istio-virtualservice", "istio-destinationrule", "istio-experiment"]
# Valid fixtures whose only findings are warnings: (rule, file:line:col) each.
WITH_WARNINGS = {"app-repo": [("secret-in-source", "secret.yaml:2:1")]}

# case -> (rule, file:line:col, field path)
INVALID = {
    "bluegreen-missing-active-service": ("required", "rollout.yaml:44:5", "spec.strategy.blueGreen"),
    "missing-service-reference": ("reference", "rollout.yaml:34:7", "spec.strategy.blueGreen.activeService"),
    "unknown-field-near-miss": ("unknown-field", "rollout.yaml:47:7", "spec.strategy.blueGreen.autoPromotionEnable"),
    "two-strategies": ("one-strategy", "rollout.yaml:66:5", "spec.strategy.blueGreen"),
    "no-strategy": ("one-strategy", "rollout.yaml:21:3", "spec.strategy"),
    "bad-pause-duration": ("pause-duration", "rollout.yaml:49:17", "spec.strategy.canary.steps[1].pause.duration"),
    "setweight-out-of-range": ("set-weight", "rollout.yaml:48:9", "spec.strategy.canary.steps[0].setWeight"),
    "step-two-actions": ("step-one-action", "rollout.yaml:49:9", "spec.strategy.canary.steps[0].pause"),
    "selector-mismatch": ("selector", "rollout.yaml:32:7", "spec.selector.matchLabels.app"),
    "duplicate-key": ("duplicate-key", "rollout.yaml:30:3", "spec.replicas"),
    "missing-analysis-template": ("reference", "rollout.yaml:49:11", "spec.strategy.blueGreen.postPromotionAnalysis.templates[0].templateName"),
    "wrong-type-replicas": ("type", "rollout.yaml:29:3", "spec.replicas"),
    "missing-virtualservice": ("reference", "rollout.yaml:53:13", "spec.strategy.canary.trafficRouting.istio.virtualService.name"),
    "canary-service-equals-stable": ("canary-services", "rollout.yaml:45:7", "spec.strategy.canary.stableService"),
    "yaml-syntax-error": ("yaml-syntax", "rollout.yaml:30:11", ""),
    "non-utf8": ("encoding", "nginx.yaml:1:4", ""),
    "symlink-escape": ("symlink-escape", "outside.yaml:1:1", ""),
    "analysis-missing-arg": ("analysis-args", "rollout.yaml:48:9", "spec.strategy.canary.steps[1].analysis"),
    "analysis-indefinite-step": ("analysis-indefinite", "rollout.yaml:50:13", "spec.strategy.canary.steps[1].analysis.templates[0].templateName"),
    "experiment-bad-spec-ref": ("experiment-spec-ref", "rollout.yaml:17:13", "spec.strategy.canary.steps[0].experiment.templates[0].specRef"),
    "experiment-duplicate-template": ("experiment-templates", "rollout.yaml:18:13", "spec.strategy.canary.steps[0].experiment.templates[1].name"),
    "experiment-missing-analysis-template": ("reference", "rollout.yaml:22:13", "spec.strategy.canary.steps[0].experiment.analyses[0].templateName"),
    "experiment-no-templates": ("experiment-templates", "rollout.yaml:15:11", "spec.strategy.canary.steps[0].experiment.templates"),
    "experiment-weight-without-routing": ("experiment-weight", "rollout.yaml:20:13", "spec.strategy.canary.steps[0].experiment.templates[1].weight"),
}

# A mistake in an AnalysisTemplate: its own finding, and one on each Rollout that names it (skipped too).
TEMPLATE_REF = ("analysis-template", "rollout.yaml:50:13", "spec.strategy.canary.steps[1].analysis.templates[0].templateName")
INVALID_TEMPLATE = {
    "analysis-bad-expression": [("analysis-expression", "analysis-template.yaml:12:5", "spec.metrics[0].successCondition"), TEMPLATE_REF],
    "analysis-unsupported-provider": [("analysis-provider", "analysis-template.yaml:15:7", "spec.metrics[0].provider.newRelic"), TEMPLATE_REF],
}


def _check(directory: Path, live=None):
    loaded = load_directory(directory)
    return loaded, loaded.findings + validate(loaded.manifests, live=live)


@pytest.mark.parametrize("name", VALID)
def test_seed_fixtures_are_valid(name):
    loaded, findings = _check(FIXTURES / name)
    assert loaded.manifests and findings == []


@pytest.mark.parametrize("name", sorted(WITH_WARNINGS))
def test_fixtures_with_warnings_only(name):
    loaded, findings = _check(FIXTURES / name)
    assert loaded.manifests and [(f.rule, f.location()) for f in findings] == WITH_WARNINGS[name]
    assert not any(f.is_error for f in findings)


@pytest.mark.parametrize("case", sorted(INVALID))
def test_each_mistake_gives_exactly_one_located_error(case):
    rule, location, path = INVALID[case]
    _, findings = _check(FIXTURES / "invalid" / case)
    assert [(f.rule, f.location(), f.path) for f in findings] == [(rule, location, path)], findings
    assert findings[0].is_error and findings[0].hint


@pytest.mark.parametrize("case", sorted(INVALID_TEMPLATE))
def test_a_template_mistake_is_located_and_skips_the_rollouts_naming_it(case):
    _, findings = _check(FIXTURES / "invalid" / case)
    findings = sorted(findings, key=lambda f: (f.file, f.line))
    assert [(f.rule, f.location(), f.path) for f in findings] == INVALID_TEMPLATE[case], findings
    assert all(f.is_error and f.hint for f in findings)
    template, rollout = findings
    assert errors_by_object(findings) == {"AnalysisTemplate/default/success-rate", "Rollout/default/demo"}
    assert rollout.message == (f"AnalysisTemplate success-rate is invalid (1 error at {template.location()} {template.path}), "
                               "so this Rollout is skipped: nothing of it is applied")


def test_every_invalid_fixture_is_covered():
    cases = {p.name for p in (FIXTURES / "invalid").iterdir() if p.is_dir()}
    assert cases - set(INVALID) - set(INVALID_TEMPLATE) == {"warning-non-kubernetes-document"}


def test_every_valid_fixture_is_checked_and_stays_free_of_errors_at_a_cron_period():
    found = {p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name not in ("invalid", "corpus")}  # corpus: tests/test_corpus.py
    assert found == set(VALID) | set(WITH_WARNINGS)
    for name in found:
        loaded = load_directory(FIXTURES / name)
        assert not [f for f in validate(loaded.manifests, period_seconds=300) if f.is_error], name


def test_did_you_mean_and_finding_object():
    _, (finding,) = _check(FIXTURES / "invalid" / "unknown-field-near-miss")
    assert "did you mean `autoPromotionEnabled`?" in finding.hint
    assert finding.object == "Rollout/default/demo"
    assert errors_by_object([finding]) == {"Rollout/default/demo"}


def test_unknown_field_in_pod_template_and_metadata(tmp_path):
    text = (FIXTURES / "mock-server-canary" / "mock-server-canary-success.yaml").read_text()
    text = text.replace("        image: ghcr", "        imagee: ghcr", 1).replace("  name: mock-server\nspec:\n  replicas", "  name: mock-server\n  lables: {a: b}\nspec:\n  replicas", 1)
    (tmp_path / "r.yaml").write_text(text)
    _, findings = _check(tmp_path)
    got = {(f.rule, f.path, f.hint.split("?")[0]) for f in findings}
    assert ("unknown-field", "spec.template.spec.containers[0].imagee", "did you mean `image`") in got
    assert ("unknown-field", "metadata.lables", "did you mean `labels`") in got


def test_int_or_string_and_quantities(tmp_path):
    text = (FIXTURES / "istio-canary" / "deployments.yaml").read_text()
    rollout = (FIXTURES / "mock-server-canary" / "mock-server-canary-success.yaml").read_text()
    rollout = rollout.replace("        ports:\n", "        resources: {requests: {cpu: 5m, memory: 32Mi}, limits: {cpu: 1}}\n        ports:\n", 1)
    rollout = rollout.replace("      - pause: {duration: 30s}", "      - pause: {duration: 30}", 1)
    (tmp_path / "r.yaml").write_text(rollout)
    _, findings = _check(tmp_path)
    assert findings == []
    (tmp_path / "r.yaml").write_text(rollout.replace("cpu: 5m", "cpu: five"))
    _, findings = _check(tmp_path)
    assert [(f.rule, f.path) for f in findings] == [("format", "spec.template.spec.containers[0].resources.requests.cpu")]
    assert text  # the Deployment kind has no schema: not checked strictly


def test_live_lookup_satisfies_references():
    directory = FIXTURES / "invalid" / "missing-service-reference"
    live = {("Service", "default", "demo-active"): {"kind": "Service"}}
    _, findings = _check(directory, live=live)
    assert findings == []
    _, findings = _check(directory, live=lambda kind, ns, name: None)
    assert [f.rule for f in findings] == ["reference"] and "nor in the cluster" in findings[0].message


def test_istio_route_must_exist(tmp_path):
    text = (FIXTURES / "prometheus-analysis" / "mock-server-canary-istio-virtualservice-analysis.yaml").read_text()
    (tmp_path / "r.yaml").write_text(text.replace("            - primary", "            - primery", 1))
    _, findings = _check(tmp_path)
    assert [(f.rule, f.path) for f in findings] == [("istio-route", "spec.strategy.canary.trafficRouting.istio.virtualService.routes[0]")]
    assert "did you mean `primary`?" in findings[0].hint


def test_workload_ref_target_must_exist(tmp_path):
    (tmp_path / "rollout.yaml").write_text((FIXTURES / "istio-canary" / "rollout.yaml").read_text())
    for name in ("services.yaml", "virtualsvc.yaml"):
        (tmp_path / name).write_text((FIXTURES / "istio-canary" / name).read_text())
    _, findings = _check(tmp_path)
    assert [(f.rule, f.path) for f in findings] == [("reference", "spec.workloadRef.name")]


def test_api_version_must_be_served(tmp_path):
    text = (FIXTURES / "canary-nginx" / "nginx.yaml").read_text().replace("argoproj.io/v1alpha1", "argoproj.io/v1")
    (tmp_path / "n.yaml").write_text(text)
    _, findings = _check(tmp_path)
    assert [f.rule for f in findings] == ["api-version"]


@pytest.mark.parametrize(
    "value,seconds",
    [(60, 60), ("60", 60), ("30s", 30), ("1m", 60), ("1h", 3600), ("1h30m", 5400), ("500ms", 0.5), ("1x", None), ("", None), ("s", None), (True, None), (0, 0),
     # Go's time.ParseDuration: both micro signs, signs, fractions; no days, no spaces between parts.
     ("1µs", 1e-6), ("1μs", 1e-6), ("-5s", -5), ("+1.5h", 5400), (".5s", 0.5), ("2d", None), ("1h 30m", None), ("1h30", None)],
)
def test_durations(value, seconds):
    assert parse_duration(value) == seconds


def test_zero_pause_is_an_error(tmp_path):
    text = (FIXTURES / "canary-nginx" / "nginx.yaml").read_text().replace("pause: {duration: 60}", "pause: {duration: 0s}", 1)
    (tmp_path / "n.yaml").write_text(text)
    _, findings = _check(tmp_path)
    assert [(f.rule, f.path) for f in findings] == [("pause-duration", "spec.strategy.canary.steps[1].pause.duration")]


def test_fuzzed_rollouts_never_crash():
    from hypothesis import example, given, settings
    from hypothesis import strategies as st

    from reconciler.manifests.model import Manifest

    scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 200), st.text(max_size=5))
    values = st.recursive(scalars, lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.sampled_from(["canary", "blueGreen", "steps", "setWeight", "pause", "duration", "activeService", "selector", "matchLabels", "template", "workloadRef", "name"]), c, max_size=4)), max_leaves=12)

    @settings(max_examples=150, deadline=None)
    @given(values)
    @example({"template": 1, "selector": {"matchLabels": True}})  # once crashed the selector rule
    @example({"template": {"spec": 1, "metadata": {"labels": 2}}, "workloadRef": {"name": "x"}, "selector": {"matchLabels": {"a": "b"}}})
    def run(spec):
        obj = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "r"}, "spec": spec}
        validate([Manifest(obj=obj, file="f.yaml", line=1)])

    run()


def _mutations():
    """Hypothesis strategy: (path choice, new value) edits of a valid Rollout, valid ones included."""
    from hypothesis import strategies as st

    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(-3, 300), st.integers(2**31, 2**64), st.floats(allow_nan=False),
        st.sampled_from(["500m", "1", "1.5", "128Mi", "2Gi", "1e3", "five", "1Mi\n", "", "30s", "http", "TCP"]),
        st.text(max_size=6),
    )
    values = st.recursive(
        scalars,
        lambda c: st.one_of(
            st.lists(c, max_size=3),
            st.dictionaries(st.sampled_from(["name", "port", "cpu", "memory", "setWeight", "pause", "duration", "replicaz", "image"]), c, max_size=3),
        ),
        max_leaves=6,
    )
    return st.tuples(st.integers(0, 10_000), values, st.booleans())


def _leaf_paths(obj, path=()):
    yield path
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _leaf_paths(value, (*path, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield from _leaf_paths(value, (*path, index))


def test_fast_schema_path_never_accepts_what_jsonschema_rejects():
    """The Rust fast path decides "valid" alone, so it must never be more lenient than jsonschema."""
    import copy

    from hypothesis import given, settings

    from reconciler.validation.schema import _surely_valid, _validator

    loaded = load_directory(FIXTURES / "mock-server-canary")
    base = next(m.obj for m in loaded.manifests if m.kind == "Rollout")
    paths = [p for p in _leaf_paths(base) if len(p) > 1]
    slow = _validator("Rollout")
    assert _surely_valid("Rollout", base) and not list(slow.iter_errors(base))

    @settings(max_examples=400, deadline=None)
    @given(_mutations())
    def run(edit):
        choice, value, add_key = edit
        obj = copy.deepcopy(base)
        *parents, last = paths[choice % len(paths)]
        target = obj
        for part in parents:
            target = target[part]
        if add_key and isinstance(target, dict):
            target[f"{last}x"] = value  # an unknown field next to a known one
        else:
            target[last] = value
        if _surely_valid("Rollout", obj):
            assert not list(slow.iter_errors(obj)), (paths[choice % len(paths)], value)

    run()


def test_int_or_string_and_strictness_agree_on_both_paths():
    from reconciler.validation.schema import _surely_valid, _validator

    loaded = load_directory(FIXTURES / "mock-server-canary")
    base = next(m.obj for m in loaded.manifests if m.kind == "Rollout")
    import copy

    for port, valid in ((8080, True), ("http", True), (80.5, False), (True, False), (None, False)):
        obj = copy.deepcopy(base)
        obj["spec"]["strategy"]["canary"]["maxSurge"] = port
        assert _surely_valid("Rollout", obj) is valid
        assert (not list(_validator("Rollout").iter_errors(obj))) is valid
    obj = copy.deepcopy(base)
    obj["spec"]["replicaz"] = 1
    assert not _surely_valid("Rollout", obj)
    obj = copy.deepcopy(base)
    obj["spec"][7] = 1  # a non-string key cannot be read by the fast path: jsonschema decides
    assert not _surely_valid("Rollout", obj)


# -- analysis on the validation path ------------------------------------------------------------------------

def _copy(tmp_path, fixture):
    import shutil

    shutil.copytree(FIXTURES / fixture, tmp_path, dirs_exist_ok=True)
    return tmp_path


def test_template_findings_never_repeat_what_the_schema_says(tmp_path):
    (tmp_path / "t.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: t}\nspec:\n  metrics:\n"
        "  - name: misspelt\n    provider:\n      prometheuss: {address: x, query: y}\n"
        "  - name: no-url\n    provider:\n      web: {}\n"
        "  - name: no-pod\n    provider:\n      job: {spec: {}}\n"
    )
    _, findings = _check(tmp_path)
    assert sorted((f.rule, f.path) for f in findings) == [
        ("required", "spec.metrics[1].provider.web"),
        ("required", "spec.metrics[2].provider.job.spec"),
        ("unknown-field", "spec.metrics[0].provider.prometheuss"),
    ], findings


def test_any_error_on_a_template_skips_every_rollout_naming_it(tmp_path):
    _copy(tmp_path, "bluegreen-analysis")
    # ClusterAnalysisTemplate through clusterScope, as a pre-promotion analysis; a schema error this time.
    rollout = (tmp_path / "rollout-bg-test-analysis.yml").read_text()
    (tmp_path / "rollout-bg-test-analysis.yml").write_text(rollout.replace(
        "      postPromotionAnalysis:\n", "      prePromotionAnalysis:\n        templates:\n        - {templateName: shared, clusterScope: true}\n"
        "      postPromotionAnalysis:\n"))
    (tmp_path / "shared.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: ClusterAnalysisTemplate\nmetadata: {name: shared}\nspec:\n  metrics:\n"
        "  - name: m\n    intervall: 30s\n    provider:\n      web: {url: 'http://x'}\n"
    )
    _, findings = _check(tmp_path)
    by_object = {(f.object, f.rule, f.path) for f in findings}
    assert by_object == {
        ("ClusterAnalysisTemplate/default/shared", "unknown-field", "spec.metrics[0].intervall"),
        ("Rollout/default/rollout-bg-test-analysis", "analysis-template", "spec.strategy.blueGreen.prePromotionAnalysis.templates[0].templateName"),
    }
    [skip] = [f for f in findings if f.rule == "analysis-template"]
    assert skip.message.startswith("ClusterAnalysisTemplate shared is invalid (1 error at shared.yaml:7:5 spec.metrics[0].intervall)")
    assert (skip.file, skip.line, skip.col) == ("rollout-bg-test-analysis.yml", 26, 12)
    # The other Rollout of the repository names a valid template: untouched.
    assert "Rollout/default/rollout-bg-analysis" not in errors_by_object(findings)


def test_the_run_period_reaches_the_analysis_timing_rules(tmp_path):
    _copy(tmp_path, "prometheus-analysis")
    loaded = load_directory(tmp_path)
    assert validate(loaded.manifests) == []
    [warning] = validate(loaded.manifests, period_seconds=300)
    assert (warning.rule, warning.severity.value, warning.path) == ("analysis-duration", "warning", "spec.strategy.canary.steps[2].analysis.templates[0].templateName")
    assert warning.message == "metric 'success-rate' of success-rate wants a measurement every 30s, but the reconciler runs every 5m"
    name = next(tmp_path.glob("*.yaml"))
    name.write_text(name.read_text().replace("  replicas: 5\n", "  replicas: 5\n  progressDeadlineSeconds: 300\n", 1))
    loaded = load_directory(tmp_path)
    assert sorted(f.message for f in validate(loaded.manifests, period_seconds=300)) == [
        "metric 'success-rate' of success-rate needs at least 10m (3 measurements, 5m apart), longer than progressDeadlineSeconds (300s)",
        "metric 'success-rate' of success-rate wants a measurement every 30s, but the reconciler runs every 5m",
    ]


def test_a_live_template_is_checked_against_the_rollouts_args(tmp_path):
    (tmp_path / "r.yaml").write_text((FIXTURES / "invalid" / "analysis-missing-arg" / "rollout.yaml").read_text())
    template = load_directory(FIXTURES / "invalid" / "analysis-missing-arg").manifests
    template = next(m.obj for m in template if m.kind == "AnalysisTemplate")
    _, findings = _check(tmp_path, live={("AnalysisTemplate", "default", "success-rate"): template})
    assert [(f.rule, f.path) for f in findings] == [("analysis-args", "spec.strategy.canary.steps[1].analysis")]
