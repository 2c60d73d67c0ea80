"""`reconciler validate`: output formats and exit codes, on local fixtures and a Git URL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.gitserver import bare_repo_factory  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "reconciler", "validate", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_valid_fixture_exits_0():
    done = run("fixtures/canary-nginx")
    assert done.returncode == 0, done.stderr
    assert "valid: 0 error(s)" in done.stdout


def test_text_output_is_grouped_and_located():
    done = run("fixtures/invalid/unknown-field-near-miss")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == "fixtures/invalid/unknown-field-near-miss/rollout.yaml"
    assert "fixtures/invalid/unknown-field-near-miss/rollout.yaml:47:7  error  spec.strategy.blueGreen.autoPromotionEnable" in lines[1]
    assert "hint: did you mean `autoPromotionEnabled`?" in lines[2]


def test_json_output():
    done = run("fixtures/invalid/setweight-out-of-range", "--format", "json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["valid"] is False and report["errors"] == 1
    (finding,) = report["findings"]
    assert finding["rule"] == "set-weight" and finding["line"] == 48 and finding["severity"] == "error"


def test_github_output():
    done = run("fixtures/invalid/step-two-actions", "--format", "github")
    assert done.returncode == 1
    assert done.stdout.startswith("::error file=fixtures/invalid/step-two-actions/rollout.yaml,line=49,col=9,title=step-one-action%3A ")


def test_warnings_alone_exit_0():
    done = run("fixtures/invalid/warning-non-kubernetes-document")
    assert done.returncode == 0 and "warning" in done.stdout


def test_usage_and_source_errors_exit_2():
    assert run("fixtures/canary-nginx", "--format", "xml").returncode == 2
    done = run("fixtures/nope")
    assert done.returncode == 2 and "error:" in done.stderr and "hint:" in done.stderr


def test_git_url_with_ref_and_path(bare_repo_factory):
    repo = bare_repo_factory(fixture="invalid/unknown-field-near-miss", subdir="deploy")
    done = run(repo.url, "--path", "deploy", "--ref", "main", "--format", "github")
    assert done.returncode == 1, done.stderr
    assert "file=deploy/rollout.yaml,line=47" in done.stdout
    done = run(repo.url, "--ref", "missing-branch")
    assert done.returncode == 2 and "not found" in done.stderr


# -- analysis findings and --period ------------------------------------------------------------------------------

def test_analysis_findings_in_text_name_the_template_and_the_skipped_rollout():
    done = run("fixtures/invalid/analysis-bad-expression")
    assert done.returncode == 1, done.stderr
    base = "fixtures/invalid/analysis-bad-expression"
    lines = done.stdout.splitlines()
    assert lines[0] == f"{base}/analysis-template.yaml"
    assert lines[1].startswith(f"  {base}/analysis-template.yaml:12:5  error  spec.metrics[0].successCondition: "
                               "successCondition 'result >== 0.95' cannot be evaluated: unexpected character '=' at column 10")
    assert lines[2].startswith("      hint: supported: comparisons")
    rollout = lines.index(f"{base}/rollout.yaml")
    assert lines[rollout + 1].startswith(f"  {base}/rollout.yaml:50:13  error  spec.strategy.canary.steps[1].analysis.templates[0].templateName: "
                                         "AnalysisTemplate success-rate is invalid")
    assert "so this Rollout is skipped" in lines[rollout + 1] and lines[rollout + 1].endswith("[Rollout/default/demo]")
    assert lines[-1] == "invalid: 2 error(s), 0 warning(s) in 4 object(s) from 2 file(s)"


def test_analysis_findings_in_json():
    done = run("fixtures/invalid/analysis-missing-arg", "--format", "json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["valid"] is False and (report["errors"], report["warnings"]) == (1, 0)
    (finding,) = report["findings"]
    assert finding["rule"] == "analysis-args" and finding["severity"] == "error"
    assert (finding["file"], finding["line"], finding["col"]) == ("fixtures/invalid/analysis-missing-arg/rollout.yaml", 48, 9)
    assert finding["path"] == "spec.strategy.canary.steps[1].analysis" and finding["object"] == "Rollout/default/demo"
    assert finding["message"] == "analysis arg 'service-name' (declared by success-rate) has no value"


def test_analysis_findings_as_github_annotations():
    done = run("fixtures/invalid/analysis-indefinite-step", "--format", "github")
    assert done.returncode == 1
    first, summary = done.stdout.splitlines()
    assert first.startswith("::error file=fixtures/invalid/analysis-indefinite-step/rollout.yaml,line=50,col=13,"
                            "title=analysis-indefinite%3A spec.strategy.canary.steps[1].analysis.templates[0].templateName::"
                            "AnalysisTemplate success-rate has metric 'success-rate' which runs indefinitely")
    assert " -- add count: to the metric" in first
    assert summary.startswith("invalid: 1 error(s)")


def test_period_warns_without_failing_and_is_read_from_the_environment():
    import os

    assert run("fixtures/prometheus-analysis").stdout.endswith("valid: 0 error(s), 0 warning(s) in 5 object(s) from 1 file(s)\n")
    done = run("fixtures/prometheus-analysis", "--period", "5m", "--format", "github")
    assert done.returncode == 0, done.stderr
    warning, summary = done.stdout.splitlines()
    assert warning.startswith("::warning file=fixtures/prometheus-analysis/mock-server-canary-istio-virtualservice-analysis.yaml,line=17,col=13,"
                              "title=analysis-duration%3A ")
    assert "wants a measurement every 30s, but the reconciler runs every 5m -- measurements will be 5m apart" in warning
    assert summary == "valid: 0 error(s), 1 warning(s) in 5 object(s) from 1 file(s)"
    env = dict(os.environ, RECONCILER_PERIOD="300")
    by_env = subprocess.run([sys.executable, "-m", "reconciler", "validate", "fixtures/prometheus-analysis", "--format", "json"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert by_env.returncode == 0 and json.loads(by_env.stdout)["warnings"] == 1


def test_a_bad_period_is_a_usage_error():
    for value in ("5x", "0", "-1m"):
        done = run("fixtures/prometheus-analysis", "--period", value)
        assert done.returncode == 2, (value, done.stdout)
        assert f"--period '{value}' is not a positive duration" in done.stderr and "hint: " in done.stderr


def test_plan_and_run_take_the_period_too(tmp_path):
    for command in ("plan", "run"):
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", command, "fixtures/prometheus-analysis", "--cluster", f"local:{tmp_path / command}",
             "--now", "2026-01-01T00:00:00Z", "--period", "5m", "-o", "json"],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        [rollout] = json.loads(done.stdout)["rollouts"]
        assert [(f["rule"], f["severity"]) for f in rollout["findings"]] == [("analysis-duration", "warning")]
        assert rollout["plan"] is not None  # a warning never stops the rollout
