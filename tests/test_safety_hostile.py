"""Issue 10 §3, bad input is contained: every case of tests/hostile/cases.yaml (at least 100) is
run through the CLI (`python -m reconciler`, a subprocess) as `validate` and as `run`, beside a
valid Rollout `neighbour` in the same SOURCE. For each case:

- no traceback, on stdout or stderr, from either command;
- `validate` exits 1 (0 where the case says a warning is the finding) and names the file, and the
  field path where there is one;
- `run` writes nothing outside the cluster directory (not beside it, not into the source, not at an
  absolute path a name spells), applies nothing of the bad object, and still advances `neighbour`.

`python -m pytest tests/test_safety_hostile.py -q` counts the escapes as its failures.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CORPUS = yaml.safe_load((ROOT / "tests" / "hostile" / "cases.yaml").read_text(encoding="utf-8"))
CASES = CORPUS["cases"]
NOW = "2026-01-01T00:00:00Z"

NEIGHBOUR = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: neighbour
spec:
  replicas: 2
  selector:
    matchLabels: {app: neighbour}
  template:
    metadata:
      labels: {app: neighbour}
    spec:
      containers:
      - name: c
        image: nginx:1.25
  strategy:
    canary:
      steps:
      - setWeight: 50
      - pause: {}
"""

_SPECIALS = {
    "@digits5000": "7" * 5000,
    "@deep": "[" * 5000 + "]" * 5000 + "\n",
    "@manydocs": "---\n" * 50000,
}


def _render(case: dict) -> dict[str, bytes]:
    """The case's files (name -> bytes)."""
    out: dict[str, bytes] = {}
    if "rollout" in case:
        values = dict(CORPUS["defaults"])
        for key, raw in case["rollout"].items():
            text = str(raw)
            for marker, replacement in _SPECIALS.items():
                text = text.replace(marker, replacement)
            values[key] = text
        out["bad.yaml"] = CORPUS["template"].format(**values).encode("utf-8")
    for name, text in (case.get("files") or {}).items():
        if text == "@latin1":
            out[name] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n".encode("latin-1")
        elif text == "@utf16":
            out[name] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n".encode("utf-16")
        elif text == "@deeplist":  # Lists in Lists as deep as the loader reads, an invalid name at the bottom
            inner = "{apiVersion: v1, kind: ConfigMap, metadata: {name: Deep}}"
            for _ in range(320):
                inner = "{apiVersion: v1, kind: List, items: [" + inner + "]}"
            out[name] = (inner + "\n").encode("utf-8")
        elif text == "@huge":
            out[name] = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: huge}\ndata:\n" + b"  k: " + b"x" * (5 * 1024 * 1024) + b"\n"
        else:
            for marker, replacement in _SPECIALS.items():
                text = text.replace(marker, replacement)
            out[name] = text.encode("utf-8")
    return out


VALID_BAD = NEIGHBOUR.replace("neighbour", "bad")


class Workspace:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.src = tmp / "src"
        self.cluster = tmp / "cluster"
        self.src.mkdir()
        (self.src / "good.yaml").write_text(NEIGHBOUR, encoding="utf-8")
        self.unreadable: Path | None = None
        self.sockets: list[socket.socket] = []

    def setup(self, case: dict) -> None:
        for name, data in _render(case).items():
            (self.src / name).write_bytes(data)
        special = case.get("setup")
        bad = self.src / "bad.yaml"
        if special == "fifo":
            os.mkfifo(bad)
        elif special == "directory":
            bad.mkdir()
        elif special == "unreadable":
            bad.write_text(VALID_BAD, encoding="utf-8")
            self.unreadable = bad
        elif special == "unreadable-directory":
            (self.src / "sub").mkdir()
            (self.src / "sub" / "bad.yaml").write_text(VALID_BAD, encoding="utf-8")
            self.unreadable = self.src / "sub"
        elif special == "symlink-outside":
            (self.tmp / "secret.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stolen}\n", encoding="utf-8")
            bad.symlink_to(self.tmp / "secret.yaml")
        elif special == "symlink-loop":
            bad.symlink_to(self.src / "loop.yaml")
            (self.src / "loop.yaml").symlink_to(bad)
        elif special == "symlink-dangling":
            bad.symlink_to(self.src / "missing.yaml")
        elif special == "device":  # a socket file: neither a file nor a directory
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(str(bad))
            self.sockets.append(sock)
        elif special in ("duplicate-files", "duplicate-default-ns"):
            bad.write_text(VALID_BAD, encoding="utf-8")
            copy = VALID_BAD.replace("image: nginx:1.25", "image: nginx:1.26")
            if special == "duplicate-default-ns":
                copy = copy.replace("  name: bad\n", "  name: bad\n  namespace: default\n")
            (self.src / "bad-copy.yaml").write_text(copy, encoding="utf-8")
        elif special == "duplicate-docs":
            bad.write_text(VALID_BAD + "---\n" + VALID_BAD.replace("nginx:1.25", "nginx:1.26"), encoding="utf-8")
        elif special and special.startswith("live-"):
            bad.write_text(VALID_BAD, encoding="utf-8")
            live = self.cluster / "default" / "ReplicaSet"
            live.mkdir(parents=True)
            garbage = {"live-not-utf8": b"kind: ReplicaSet\nmetadata: {name: caf\xe9}\n", "live-not-yaml": b"kind: ReplicaSet\nmetadata: {name: [\n",
                       "live-list": b"- 1\n- 2\n"}[special]
            (live / "bad-5d8f7c9b4.yaml").write_bytes(garbage)
        elif special:
            raise AssertionError(f"unknown setup {special}")

    def files_outside_cluster(self) -> set[str]:
        found = set()
        for dirpath, dirnames, filenames in os.walk(self.tmp):
            here = Path(dirpath)
            if here == self.cluster:
                dirnames[:] = []
                continue
            for name in dirnames + filenames:
                path = here / name
                if path != self.cluster:
                    found.add(str(path.relative_to(self.tmp)))
        return found

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        launcher = ["-m", "reconciler"] if self.unreadable is None else ["-m", "tests.hostile.unreadable", str(self.unreadable)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
        env["PYTHONPATH"] = str(ROOT)
        return subprocess.run([sys.executable, *launcher, *args], capture_output=True, text=True, env=env, timeout=120,
                              cwd=str(self.tmp), errors="replace")

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def _absolute_targets() -> list[Path]:
    return [p for p in Path("/tmp").glob("reconciler-hostile-*")]


def check_case(case: dict, tmp: Path) -> list[str]:
    """What escaped for this case (empty: contained)."""
    problems: list[str] = []
    ws = Workspace(tmp)
    try:
        ws.setup(case)
        before = ws.files_outside_cluster()
        absolute_before = _absolute_targets()
        expected = case.get("exit", 1)

        proc = ws.cli("validate", str(ws.src))
        shown = proc.stdout + proc.stderr
        if "Traceback" in shown:
            problems.append("validate printed a traceback: " + shown.strip().splitlines()[-1][:200])
        if proc.returncode != case.get("validate_exit", expected):
            problems.append(f"validate exited {proc.returncode}, expected {case.get('validate_exit', expected)}: {shown.strip()[-300:]}")
        for text in case.get("expect") or []:
            if text not in shown:
                problems.append(f"validate does not mention {text!r}")

        proc = ws.cli("run", str(ws.src), "--cluster", f"local:{ws.cluster}", "--now", NOW, "-o", "json")
        if "Traceback" in proc.stdout + proc.stderr:
            problems.append("run printed a traceback: " + (proc.stdout + proc.stderr).strip().splitlines()[-1][:200])
        if case.get("infra"):  # the cluster itself cannot be read: exit 2, one line naming the file
            if proc.returncode != 2 or "bad-5d8f7c9b4.yaml" not in proc.stderr or len(proc.stderr.strip().splitlines()) > 2:
                problems.append(f"run exited {proc.returncode} without naming the cluster file in one line: {proc.stderr.strip()[-300:]}")
            report = {}
        elif proc.returncode not in (0, 1):
            problems.append(f"run exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-300:]}")
            report = None
        else:
            try:
                report = json.loads(proc.stdout)
            except ValueError:
                report = None
                problems.append("run printed no report")
        if report:
            views = {(r["namespace"], r["name"]): r for r in report.get("rollouts", [])}
            neighbour = views.get(("default", "neighbour"))
            if not neighbour or (neighbour.get("view") or {}).get("status") != "Healthy" or neighbour.get("error"):
                problems.append(f"the neighbour did not advance: {neighbour}")
        live = sorted(p.name for p in (ws.cluster / "default" / "ReplicaSet").glob("neighbour-*.yaml"))
        if not live and not case.get("infra"):
            problems.append("the neighbour has no ReplicaSet in the cluster")
        if not case.get("applied", False):
            applied = [str(p.relative_to(ws.cluster)) for p in ws.cluster.rglob("*") if p.is_file() and p.name.startswith(("bad", "..", "svc", "cm", "at"))
                       and "ConfigMap" not in p.parts[-2:-1]]
            if applied:
                problems.append(f"the bad object was applied: {applied}")
        after = ws.files_outside_cluster()
        if after - before:
            problems.append(f"written outside the cluster directory: {sorted(after - before)}")
        new_absolute = set(_absolute_targets()) - set(absolute_before)
        if new_absolute:
            problems.append(f"written at an absolute path: {sorted(map(str, new_absolute))}")
            for path in new_absolute:  # leave /tmp as it was
                shutil.rmtree(path, ignore_errors=True)
    finally:
        ws.close()
    return problems


def test_the_corpus_has_at_least_100_cases():
    assert len(CASES) >= 100
    assert len({c["id"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_hostile_input_is_contained(case, tmp_path):
    assert check_case(case, tmp_path) == []


# -- the last lines of defence -------------------------------------------------------------------

def test_the_local_cluster_refuses_any_path_outside_its_directory(tmp_path):
    from reconciler.cluster.local import LocalCluster
    from reconciler.errors import Refused

    cluster = LocalCluster(tmp_path / "cluster")
    (tmp_path / "cluster").mkdir()
    (tmp_path / "cluster" / "link").symlink_to(tmp_path)  # a namespace directory that is a symlink out
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}}
    for namespace, name in (("../../outside", "x"), ("..", "x"), ("/tmp", "x"), ("link", "x"), ("default", "../x"),
                            ("default", "/etc/x"), ("_cluster", "x"), ("a/b", "x")):
        with pytest.raises(Refused):
            cluster.create({**config_map, "metadata": {"name": name, "namespace": namespace}})
        if namespace != "default":
            with pytest.raises(Refused):
                cluster.list("ConfigMap", namespace)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == []


_BOOM = ("import sys; import reconciler.commands.validate as v\n"
         "def boom(*a, **k): raise RuntimeError('boom: https://user:hunter2@example.invalid/x')\n"
         "v.run_validate = boom\n"
         "sys.argv = ['reconciler'] + sys.argv[1:]\n"
         "from reconciler.cli import main; main()\n")


@pytest.mark.parametrize("debug", ["", "flag", "env"])
def test_an_unexpected_error_is_one_line_and_exit_2_unless_debug_is_asked(tmp_path, debug):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env["PYTHONPATH"] = str(ROOT)
    if debug == "env":
        env["RECONCILER_DEBUG"] = "1"
    args = (["--debug"] if debug == "flag" else []) + ["validate", str(tmp_path)]
    proc = subprocess.run([sys.executable, "-c", _BOOM, *args], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == (2 if not debug else 1)
    if debug:
        assert "Traceback" in proc.stderr and "RuntimeError" in proc.stderr
    else:
        assert "Traceback" not in proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert lines[0].startswith("error: unexpected RuntimeError: boom") and "hunter2" not in proc.stderr
        assert len(lines) == 2 and "--debug" in lines[1]
