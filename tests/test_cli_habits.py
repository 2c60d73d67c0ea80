"""Habits of `kubectl argo rollouts` users (issue 18): --version and `version`, checked -o choices,
shell completion, an example in every --help, paths printed as given, empty sources said so."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from reconciler.cli import app

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
runner = CliRunner()


def cli(*args, cwd=ROOT, env=None, script=False):
    """The real executable path (`python -m reconciler`, or the console script), so errors go
    through main()'s handler."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    full_env.update(env or {})
    command = [str(Path(sys.executable).parent / "reconciler")] if script else [sys.executable, "-m", "reconciler"]
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=full_env)


def plain(output: str) -> str:
    """Click's message without rich's box (rich help is on when a terminal or the env asks)."""
    import re

    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", output).split())


def package_version() -> str:
    import re

    return re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)


# -- 1. --version and `version` ---------------------------------------------------------------------


def test_dash_dash_version_prints_the_package_version():
    done = cli("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"reconciler {package_version()}\n"


def test_version_json_names_the_schemas_and_crds_validated_against():
    result = runner.invoke(app, ["version", "-o", "json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["version"] == package_version()
    kinds = {schema["kind"]: schema for schema in info["schemas"]}
    assert {"Rollout", "AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun", "Experiment", "VirtualService", "DestinationRule"} <= set(kinds)
    assert kinds["Rollout"]["apiVersions"] == ["argoproj.io/v1alpha1"]
    assert kinds["Rollout"]["crd"] == "rollouts.argoproj.io" and kinds["Rollout"]["commit"]
    assert "networking.istio.io/v1beta1" in kinds["VirtualService"]["apiVersions"]
    # the same facts the validation reads: the schema file's own provenance
    schema = json.loads((ROOT / "reconciler" / "schemas" / "rollout.json").read_text())
    assert kinds["Rollout"]["commit"] == schema["x-provenance"]["commit"]


def test_version_text_and_yaml():
    text = runner.invoke(app, ["version"])
    assert text.exit_code == 0 and text.output.startswith(f"reconciler {package_version()}\n")
    assert "Rollout: argoproj.io/v1alpha1" in text.output
    as_yaml = yaml.safe_load(runner.invoke(app, ["version", "-o", "yaml"]).output)
    assert as_yaml["version"] == package_version()


def test_help_cold_start_imports_no_heavy_module():
    """--help must stay cheap: neither the engine, kubernetes, git, requests nor jsonschema load."""
    code = (
        "import sys, runpy\n"
        "sys.argv = ['reconciler', '--help']\n"
        "try:\n    runpy.run_module('reconciler', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('kubernetes', 'git', 'requests', 'jsonschema', 'ruamel.yaml', 'yaml', 'reconciler.engine.plan', 'reconciler.pipeline') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert "HEAVY []" in done.stdout, done.stdout + done.stderr


# -- 5. every -o is a checked choice; completion -------------------------------------------------------


@pytest.mark.parametrize(
    "args, choices",
    [
        (["get", "rollout", "web"], ["text", "json", "yaml"]),
        (["list", "rollouts"], ["text", "json", "yaml"]),
        (["plan", "fixtures/canary-nginx"], ["text", "json", "yaml", "markdown"]),
        (["run", "fixtures/canary-nginx"], ["text", "json", "yaml"]),
        (["validate", "fixtures/canary-nginx"], ["text", "json", "yaml", "github"]),
        (["version"], ["text", "json", "yaml"]),
    ],
)
def test_a_wrong_output_is_exit_2_listing_the_choices(args, choices, tmp_path):
    result = runner.invoke(app, [*args, "-o", "bogus"])
    assert result.exit_code == 2
    message = plain(result.output)
    assert "'bogus' is not one of" in message
    for choice in choices:
        assert f"'{choice}'" in message
    assert not (tmp_path / ".reconciler").exists()


def test_every_output_option_is_a_choice():
    """No command takes a free-form -o: each lists its formats (a new command must too)."""
    import typer.main

    def walk(command, prefix=""):
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, f"{prefix}{name} ")
        if not getattr(command, "commands", None):
            yield prefix.strip(), command

    checked = []
    for name, command in walk(typer.main.get_command(app)):
        if not any("--output" in param.opts for param in command.params):
            continue
        arguments = ["x" for param in command.params if getattr(param, "param_type_name", "") == "argument"]
        result = runner.invoke(app, [*name.split(), *arguments, "-o", "bogus"])
        assert result.exit_code == 2 and "'bogus' is not one of 'text'" in plain(result.output), f"`{name} -o` is not a checked choice"
        checked.append(name)
    assert len(checked) >= 6


def test_validate_keeps_format_as_an_alias_of_output():
    done = runner.invoke(app, ["validate", "fixtures/canary-nginx", "--format", "json"])
    assert done.exit_code == 0 and json.loads(done.output)["valid"] is True
    assert runner.invoke(app, ["validate", "fixtures/canary-nginx", "-f", "xml"]).exit_code == 2


def test_shell_completion_completes_commands_and_installs(tmp_path):
    env = {"_RECONCILER_COMPLETE": "complete_bash", "COMP_WORDS": "reconciler ver", "COMP_CWORD": "1", "HOME": str(tmp_path)}
    done = cli(env=env, script=True)
    assert done.returncode == 0 and "version" in done.stdout.split()
    shown = cli("--show-completion", "bash", env={"HOME": str(tmp_path)}, script=True)
    assert shown.returncode == 0 and "_RECONCILER_COMPLETE=complete_bash" in shown.stdout
    installed = cli("--install-completion", "bash", env={"HOME": str(tmp_path), "SHELL": "/bin/bash"}, script=True)
    assert installed.returncode == 0, installed.stderr
    assert "completion installed" in installed.stdout
    assert (tmp_path / ".bashrc").exists()


# -- 9. an example in every --help ---------------------------------------------------------------------


def test_every_command_help_has_an_example():
    import typer.main

    root = typer.main.get_command(app)
    names = []
    for name, command in root.commands.items():
        subs = getattr(command, "commands", None)
        names += [[name, sub] for sub in subs] if subs else [[name]]
    assert ["version"] in names and ["get", "rollout"] in names
    for words in names:
        result = runner.invoke(app, [*words, "--help"])
        assert result.exit_code == 0
        assert "Examples:" in result.output, f"`reconciler {' '.join(words)} --help` shows no example"
        assert f"reconciler {' '.join(words)}" in result.output.split("Examples:")[1]


# -- 6. paths as given; empty sources ---------------------------------------------------------------------


def test_validate_a_single_file_names_it_once(tmp_path):
    folder = tmp_path / "deploy"
    shutil.copytree(FIXTURES / "invalid" / "bad-pause-duration", folder)
    done = cli("validate", "deploy/rollout.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == "deploy/rollout.yaml"
    assert "deploy/rollout.yaml/rollout.yaml" not in done.stdout
    assert "  deploy/rollout.yaml:49:17  error" in done.stdout
    inside = cli("validate", "rollout.yaml", "-o", "github", cwd=folder)
    assert inside.stdout.startswith("::error file=rollout.yaml,line=49,")
    absolute = cli("validate", str(folder / "rollout.yaml"), "-o", "json", cwd=ROOT)
    assert json.loads(absolute.stdout)["findings"][0]["file"] == f"{folder}/rollout.yaml"


def test_run_names_files_as_given(tmp_path):
    shutil.copytree(FIXTURES / "invalid" / "bad-pause-duration", tmp_path / "deploy")
    done = cli("run", "deploy", "--cluster", "local:cluster", "--now", "2026-01-01T00:00:00Z", cwd=tmp_path)
    assert done.returncode == 1
    assert "\ndeploy/rollout.yaml:49:17: error: spec.strategy.canary.steps[1].pause.duration" in done.stdout
    assert "default/demo: invalid (1 error(s) above): nothing applied" in done.stdout


@pytest.mark.parametrize("command", ["run", "plan"])
def test_an_empty_folder_is_said_so(command, tmp_path):
    (tmp_path / "empty").mkdir()
    done = cli(command, "empty", "--cluster", "local:cluster", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "no manifests in empty: nothing to do" in done.stdout
    strict = cli(command, "empty", "--cluster", "local:cluster", "--require-rollouts", cwd=tmp_path)
    assert strict.returncode == 1
    assert "no Rollout in empty and --require-rollouts is set" in strict.stderr


def test_a_folder_without_rollouts_says_what_it_applied(tmp_path):
    folder = tmp_path / "svc"
    folder.mkdir()
    (folder / "s.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports: [{port: 80}]\n")
    done = cli("run", "svc", "--cluster", "local:cluster", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["applied Service default/web (created)", "no Rollout in svc (1 other object(s)): no rollout to move"]
    again = cli("run", "svc", "--cluster", "local:cluster", cwd=tmp_path)
    assert again.stdout.splitlines() == ["no Rollout in svc (1 other object(s)): no rollout to move"]
    assert cli("run", "svc", "--cluster", "local:cluster", "--require-rollouts", cwd=tmp_path).returncode == 1


# -- 8. messages agree with results ------------------------------------------------------------------------


def test_run_says_applied_only_for_writes_and_plan_says_its_view_is_a_prediction(tmp_path):
    shutil.copytree(FIXTURES / "canary-nginx", tmp_path / "src")
    first = cli("run", "src", "--cluster", "local:cluster", "--now", "2026-01-01T00:00:00Z", cwd=tmp_path)
    assert first.stdout.splitlines() == [
        "applied ConfigMap default/rollout-test-canary-nginx-conf (created)",
        "default/rollout-test-canary-nginx: Healthy, step 4/4, weight 100; applied 1 change(s)",
    ]
    again = cli("run", "src", "--cluster", "local:cluster", "--now", "2026-01-01T00:00:30Z", cwd=tmp_path)
    assert again.stdout.splitlines() == ["default/rollout-test-canary-nginx: Healthy, step 4/4, weight 100; nothing to apply"]
    manifest = tmp_path / "src" / "nginx.yaml"
    manifest.write_text(manifest.read_text().replace("nginx:1.14.1", "nginx:1.14.2"))
    plan = cli("plan", "src", "--cluster", "local:cluster", "--now", "2026-01-01T00:01:00Z", cwd=tmp_path)
    assert plan.stdout.splitlines()[0].startswith("Rollout default/rollout-test-canary-nginx (Canary), after this run: ◌ Progressing, step 0/4")
    assert "applied" not in plan.stdout
    markdown = cli("plan", "src", "--cluster", "local:cluster", "--now", "2026-01-01T00:01:00Z", "-o", "markdown", cwd=tmp_path)
    assert "**After this run:**" in markdown.stdout and "**Now:**" not in markdown.stdout
    # the plan wrote nothing: the live rollout is still revision 1, Healthy
    view = json.loads(cli("get", "rollout", "rollout-test-canary-nginx", "--cluster", "local:cluster", "-o", "json", cwd=tmp_path).stdout)
    assert (view["revision"], view["status"]) == (1, "Healthy")
