"""README.md is the user's front door: its commands must run as written and its outputs be real.

- The two fresh-machine commands: the test command is the one .ci/run calls; the first one's
  reconciler part runs and prints what the README shows.
- The quick tour (every ```console block under "## Quick tour") is replayed as one shell session
  in a temporary directory and must print exactly what the README shows.
- Every `reconciler ...` call in a code block names a real command and real flags; every
  RECONCILER_* variable it names is read by the code; every command's flags and env vars appear in
  the reference; the GitHub Action examples use only inputs action.yml declares; links resolve.

`python tests/test_readme.py` prints the tour as it runs now, to paste into the README.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TEST_COMMAND = "python3 -m venv .venv && . .venv/bin/activate && pip install -q -e '.[test]' && python -m pytest -q"
INSTALL_PREFIX = ("python3 -m venv .venv", ". .venv/bin/activate")
TOUR_DIRS = ("/tmp/shop-cluster", "/tmp/shop")  # longest first: one is a prefix of the other
_AGE = re.compile(r"(?<=\s)\d+[smhd](?:\d+[smh])?(?=\s|$)")
_SHA = re.compile(r"\b[0-9a-f]{12}\b")
_POD = re.compile(r"(-[0-9a-f]{9,10})-[a-z0-9]{5}\b")  # a pod's suffix comes from its start time


def text() -> str:
    return README.read_text(encoding="utf-8")


def section(title: str) -> str:
    """The README from the `## title` heading to the next `## ` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text(), re.S | re.M)
    assert match, f"README has no section '## {title}'"
    return match.group(1)


def blocks(markdown: str, *languages: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block, optionally only those languages."""
    found = re.findall(r"^```([a-z]*)\n(.*?)^```$", markdown, re.S | re.M)
    return [(lang, body) for lang, body in found if not languages or lang in languages]


def fresh_machine_commands() -> tuple[str, str]:
    commands = [body.strip() for _, body in blocks(section("Try it"), "sh")]
    assert len(commands) >= 2, "## Try it starts with the two fresh-machine commands"
    return commands[0], commands[1]


def tool_env(tmp_path: Path) -> dict:
    """The environment a user has after `. .venv/bin/activate`: this interpreter's `reconciler`
    first on PATH, no RECONCILER_* from the developer, a Git identity for the tour's commits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(
        HOME=str(tmp_path),
        GIT_AUTHOR_NAME="Pat Person",
        GIT_AUTHOR_EMAIL="pat@example.com",
        GIT_COMMITTER_NAME="Pat Person",
        GIT_COMMITTER_EMAIL="pat@example.com",
        GIT_CONFIG_NOSYSTEM="1",
        NO_COLOR="1",
    )
    return env


def normalise(output: str) -> list[str]:
    """Lines with trailing spaces dropped; commit ids (they depend on the clock) made neutral."""
    return [_SHA.sub("<sha>", line.rstrip()) for line in output.strip("\n").splitlines()]


# -- the quick tour, replayed -----------------------------------------------------------------------


def tour_transcript() -> list[tuple[str, str]]:
    """[(command, expected output)] of the tour, in order."""
    steps: list[tuple[str, list[str]]] = []
    for _, body in blocks(section("Quick tour"), "console"):
        for line in body.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                assert steps, f"tour output before any command: {line!r}"
                steps[-1][1].append(line)
    return [(command, "\n".join(out)) for command, out in steps]


def replay(commands: list[str], workdir: Path) -> list[str]:
    """Run the commands as one bash session from the repository root (as the README says), with
    the tour's /tmp paths moved into workdir; return each command's stdout."""
    marker = "=====8<===== README step"
    script = ["set -u"]
    for command in commands:
        for path in TOUR_DIRS:
            command = command.replace(path, str(workdir / Path(path).name))
        script.append(f"echo '{marker}'")
        script.append(command)
    result = subprocess.run(
        ["bash", "-c", "\n".join(script)], cwd=ROOT, env=tool_env(workdir), capture_output=True, text=True, timeout=600
    )
    outputs = result.stdout.split(marker + "\n")[1:]
    assert len(outputs) == len(commands), f"the tour stopped early:\n{result.stdout}\n{result.stderr}"
    return [out.replace(str(workdir) + "/", "/tmp/") for out in outputs]


@pytest.mark.slow
def test_the_quick_tour_prints_what_the_readme_shows(tmp_path):
    transcript = tour_transcript()
    assert len(transcript) >= 15, "the tour walks validate, plan, run, get, promote, abort, retry, undo"
    shown = " ".join(command for command, _ in transcript)
    for word in ("validate", "plan", "run", "get rollout", "promote", "abort", "retry", "undo", "list rollouts"):
        assert f"reconciler {word}" in shown
    actual = replay([command for command, _ in transcript], tmp_path)
    for (command, expected), got in zip(transcript, actual):
        assert normalise(got) == normalise(expected), f"README tour: `{command}` prints\n{got}"


# -- the two fresh-machine commands -----------------------------------------------------------------


def test_the_test_command_is_the_one_ci_runs():
    _, tests = fresh_machine_commands()
    assert tests == TEST_COMMAND
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m venv .venv\n. .venv/bin/activate\n" in ci
    assert "\npip install -q -e '.[test]' && python -m pytest -q\n" in ci


def test_the_first_command_installs_then_runs_a_fixture_and_shows_it(tmp_path):
    first, _ = fresh_machine_commands()
    parts = first.split(" && ")
    assert tuple(parts[:2]) == INSTALL_PREFIX and parts[2] == "pip install -q ."
    tool = parts[3:]
    assert tool[0].startswith("reconciler run fixtures/") and tool[-1].startswith("reconciler get rollout ")
    dirs = set(re.findall(r"--cluster local:(\S+)", first))
    assert len(dirs) == 1, "run and get rollout look at the same embedded cluster"
    command = " && ".join(tool).replace(dirs.pop(), str(tmp_path / "cluster"))
    result = subprocess.run(["bash", "-c", command], cwd=ROOT, env=tool_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # Shown after the command: its output on a fresh cluster (AGE depends on the clock).
    shown = [body for lang, body in blocks(section("Try it"), "text")][0]
    clock_free = lambda out: [_POD.sub(r"\1-<pod>", _AGE.sub("<age>", " ".join(line.split()))) for line in normalise(out)]  # noqa: E731
    assert clock_free(result.stdout) == clock_free(shown)


# -- every command, flag and variable is real, and documented ---------------------------------------


def _cli():
    import typer.main

    from reconciler.cli import app

    return typer.main.get_command(app)


def all_commands() -> dict[str, object]:
    """{'run': click command, 'get rollout': ..., ...} with groups expanded."""
    out = {}
    for name, command in _cli().commands.items():
        sub = getattr(command, "commands", None)
        if sub:
            out.update({f"{name} {s}": c for s, c in sub.items()})
        else:
            out[name] = command
    return out


def test_every_reconciler_call_in_a_code_block_is_a_real_command_with_real_flags():
    from tests.test_action import command_params, invocations

    shell = [re.sub(r"^\$ ", "", body, flags=re.M) for _, body in blocks(text(), "sh", "console")]
    calls = [call for body in shell for call in invocations(body)]
    assert len(calls) >= 15
    for words, flags in calls:
        params = command_params(words)
        for flag in flags:
            assert flag in params, f"README: `reconciler {' '.join(words)}` has no {flag}"


def test_the_reference_names_every_command_flag_and_env_var():
    reference = section("Reference")
    for name, command in all_commands().items():
        assert f"`{name}" in reference, f"the reference does not describe `reconciler {name}`"
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help":
                    assert opt in reference, f"the reference does not mention {opt} of `reconciler {name}`"
            if param.envvar:
                assert param.envvar in reference, f"the reference does not mention {param.envvar}"


def test_every_env_var_the_readme_names_is_read_by_the_code():
    code = "\n".join(p.read_text() for p in (ROOT / "reconciler").rglob("*.py"))
    for name in sorted(set(re.findall(r"\bRECONCILER_[A-Z_]+\b", text()))):
        assert f'"{name}"' in code, f"README names {name}, which nothing reads"


def test_the_git_gates_are_the_annotations_the_planner_reads():
    from reconciler.engine.plan import GATE_ANNOTATIONS

    gates = section("Status between runs, gates and undo")
    for key in GATE_ANNOTATIONS.values():
        assert key in gates


def test_the_github_action_examples_use_the_actions_inputs():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    workflows = [yaml.safe_load(body) for _, body in blocks(section("Deployment"), "yaml") if "jobs:" in body]
    assert len(workflows) == 2, "two example workflows: plan on pull requests, run on a schedule"
    used = []
    for workflow in workflows:
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                if "/reconciler@" in step.get("uses", ""):
                    used.append(step["with"])
                    assert set(step["with"]) <= set(action["inputs"]), f"unknown inputs {set(step['with']) - set(action['inputs'])}"
                    assert step["with"]["command"] in ("validate", "plan", "run")
    assert {w["command"] for w in used} == {"plan", "run"}


def test_the_cronjob_settings_shown_are_the_ones_deployed():
    cronjob = yaml.safe_load((ROOT / "deploy" / "cronjob.yaml").read_text())
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"] for e in container["env"]}
    deployment = section("Deployment")
    assert cronjob["spec"]["schedule"] in deployment
    for name in env:
        if name.startswith("RECONCILER_"):
            assert name in deployment, f"the CronJob sets {name}; the README's deployment section should say so"
    for path in re.findall(r"\bdeploy/[\w./-]+", deployment):
        assert (ROOT / path.rstrip(".")).exists(), path


def test_links_and_paths_resolve():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text()):
        if "://" not in target:
            assert (ROOT / target).exists(), f"README links to {target}, which does not exist"
    for path in re.findall(r"`((?:docs|fixtures|bench|deploy|reconciler|tests)/[\w./-]*[\w/])`", text()):
        assert (ROOT / path).exists(), f"README names {path}, which does not exist"
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert f"(docs/{doc.name})" in text(), f"README does not link docs/{doc.name}"


if __name__ == "__main__":  # print the tour as it runs now
    import tempfile

    transcript = tour_transcript()
    with tempfile.TemporaryDirectory() as tmp:
        outputs = replay([c for c, _ in transcript], Path(tmp))
    for (command, _), out in zip(transcript, outputs):
        print(f"$ {command}")
        print(out, end="" if out.endswith("\n") or not out else "\n")
