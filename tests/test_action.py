"""action.yml and .github/workflows/: they parse, are injection-safe, and call real commands and flags."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.test_deploy import cli_commands

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
WORKFLOWS = ROOT / ".github" / "workflows"

# `reconciler` where a shell command starts: line start, after ; | && $( { then do.
_INVOCATION = re.compile(r"(?:^\s*|[;|&]\s*|\$\(\s*|\{\s*|\b(?:then|do)\s+)reconciler\s+([a-z][a-z-]*)((?:\s+[^|;&>]*)?)")


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def triggers(workflow: dict) -> dict:
    return workflow.get("on") or workflow.get(True)  # YAML 1.1 reads a bare `on` key as true


def steps_of(doc: dict) -> list[dict]:
    if "runs" in doc:
        return doc["runs"]["steps"]
    return [step for job in doc["jobs"].values() for step in job["steps"]]


def scripts(doc: dict) -> list[str]:
    return [step["run"] for step in steps_of(doc) if "run" in step]


def invocations(script: str) -> list[tuple[list[str], list[str]]]:
    """([command words], [--flags]) of every `reconciler ...` call in a shell script."""
    found = []
    arrays: dict[str, list[str]] = {}  # bash arrays of flags: where=(--ref "$REF"), where+=(...)
    for line in script.splitlines():
        for name, body in re.findall(r"\b([a-z_]+)\+?=\(([^)]*)\)", line):
            arrays.setdefault(name, []).extend(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", body))
    for line in script.splitlines():
        if line.strip().startswith("#"):
            continue
        for match in _INVOCATION.finditer(line):
            words = [match.group(1)]
            rest = match.group(2) or ""
            for name in re.findall(r"\$\{([a-z_]+)\[@\]\}", rest):
                rest += " " + " ".join(arrays.get(name, []))
            if words[0] in ("get", "list"):
                sub = re.match(r"\s+([a-z]+)", rest)
                words.append(sub.group(1) if sub else "")
            flags = re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", rest)
            found.append((words, flags))
    return found


def command_params(words: list[str]) -> dict:
    import typer.main

    from reconciler.cli import app

    group = typer.main.get_command(app)
    command = group
    for word in words:
        assert word in command.commands, f"`reconciler {' '.join(words)}`: no such command"
        command = command.commands[word]
    params = {"--help"}
    for param in command.params:
        params.update(o for o in param.opts + param.secondary_opts)
    return params


ALL_FILES = [ACTION] + sorted(WORKFLOWS.glob("*.yml"))


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_reconciler_call_uses_real_commands_and_flags(path):
    calls = [call for script in scripts(load(path)) for call in invocations(script)]
    if path.name != "ci.yml":
        assert calls, f"{path.name} never calls reconciler"
    for words, flags in calls:
        params = command_params(words)
        for flag in flags:
            assert flag in params, f"{path.name}: `reconciler {' '.join(words)}` has no {flag}"


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_no_expression_is_interpolated_into_a_shell_script(path):
    # ${{ inputs.x }} inside `run:` is a script-injection hole; inputs go through `env:`.
    for script in scripts(load(path)):
        assert "${{ inputs." not in script and "${{ github.event" not in script


def test_the_env_vars_the_workflows_set_are_ones_the_cli_reads():
    known = {name for params in cli_commands().values() for name in params if name.startswith("RECONCILER_")}
    for path in ALL_FILES:
        doc = load(path)
        blocks = [doc.get("env") or {}] + [job.get("env") or {} for job in (doc.get("jobs") or {}).values()]
        blocks += [step.get("env") or {} for step in steps_of(doc)]
        for block in blocks:
            for name in block:
                if name.startswith("RECONCILER_"):
                    assert name in known, f"{path.name}: {name} is read by no command"


def test_action_inputs_outputs_and_summary():
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    assert {"command", "source", "ref", "path", "status", "kubeconfig"} <= set(action["inputs"])
    assert action["inputs"]["command"]["default"] in ("validate", "plan", "run")
    assert {"exit-code", "summary"} <= set(action["outputs"])
    [main] = [s for s in steps_of(action) if s.get("id") == "reconcile"]
    script = main["run"]
    assert "$GITHUB_STEP_SUMMARY" in script
    calls = {tuple(words): flags for words, flags in invocations(script)}
    assert "--format" in calls[("validate",)] and "github" in script.split("--format", 1)[1].split()[0]
    assert "--output" in calls[("plan",)] and re.search(r"plan .*--output markdown", script)
    assert ("run",) in calls
    # Every input the script reads is wired through env.
    for name, value in main["env"].items():
        if isinstance(value, str) and value.startswith("${{ inputs."):
            assert f"${name}" in script or f"${{{name}" in script
    for step in steps_of(action):
        for value in (step.get("env") or {}).values():
            match = re.match(r"\$\{\{ inputs\.([a-z-]+) \}\}", str(value))
            if match:
                assert match.group(1) in action["inputs"]


def test_the_kubeconfig_is_written_privately_and_never_echoed():
    action = load(ACTION)
    [step] = [s for s in steps_of(action) if "KUBECONFIG_CONTENT" in (s.get("env") or {})]
    assert "umask 077" in step["run"]
    assert "echo \"$KUBECONFIG_CONTENT\"" not in step["run"] and "set -x" not in step["run"]
    assert step["if"] == "inputs.kubeconfig != ''"


def test_ci_runs_lint_and_the_whole_test_suite():
    ci = load(WORKFLOWS / "ci.yml")
    assert {"push", "pull_request"} <= set(triggers(ci))
    text = "\n".join(scripts(ci))
    assert "python -m pytest" in text and "ruff check" in text
    assert "docker build -f deploy/Dockerfile" in text
    assert any(step.get("uses") == "./" for step in steps_of(ci)), "ci exercises the composite action"


def test_e2e_creates_a_kind_cluster_and_asserts_the_progression():
    e2e = load(WORKFLOWS / "e2e.yml")
    assert "workflow_dispatch" in triggers(e2e)
    uses = [step.get("uses", "") for step in steps_of(e2e)]
    assert any(u.startswith("helm/kind-action@") for u in uses)
    text = "\n".join(scripts(e2e))
    assert "argo-rollouts/manifests/crds" in text
    runs = [call for script in scripts(e2e) for call in invocations(script) if call[0] == ["run"]]
    assert len(runs) >= 2 and all("for i in" in s for s in scripts(e2e) if "reconciler run" in s), "runs repeatedly, in loops"
    assert "--now" in text and "Healthy" in text and "setWeight" in text
    # It runs with the ServiceAccount of deploy/ and its RBAC, not as cluster admin.
    assert "deploy/rbac.yaml" in text and "create token reconciler" in text
    fixture = re.search(r"fixtures/([a-z-]+)", text).group(1)
    assert (ROOT / "fixtures" / fixture).is_dir()


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_python_embedded_in_workflow_scripts_compiles(path):
    for script in scripts(load(path)):
        snippets = re.findall(r'python -c "([^"]*)"', script)
        snippets += re.findall(r"python - [^\n]*<<'PY'\n(.*?)\nPY\b", script, re.S)
        for code in snippets:
            compile(code, f"{path.name}: embedded python", "exec")


def test_e2e_python_asserts_the_progression_it_claims():
    """Run the e2e workflow's weight check on a good and a bad sequence."""
    import subprocess
    import sys

    [check] = [s for s in scripts(load(WORKFLOWS / "e2e.yml")) if "<<'PY'" in s]
    code = re.search(r"<<'PY'\n(.*?)\nPY\b", check, re.S).group(1)
    ok = subprocess.run([sys.executable, "-", " 0 20 20 80 80 100"], input=code, text=True, capture_output=True)
    assert ok.returncode == 0, ok.stderr
    backwards = subprocess.run([sys.executable, "-", " 20 80 20 100"], input=code, text=True, capture_output=True)
    assert backwards.returncode != 0 and "went backwards" in backwards.stderr
    skipped = subprocess.run([sys.executable, "-", " 20 100"], input=code, text=True, capture_output=True)
    assert skipped.returncode != 0 and "never observed weight 80" in skipped.stderr
