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
