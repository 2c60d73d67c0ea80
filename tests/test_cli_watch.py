"""`status NAME` and `get rollout --watch` / `list rollouts --watch` (issue 18): the plugin's status
line and exit codes, and a watch that redraws in place under a pseudo-terminal, prints one block
per change through a pipe, ends on Ctrl-C with 0 and on --timeout.

The watched rollout changes because the test runs `reconciler run` while the watch is open: the
same thing a CronJob tick does. The waits below are hang guards, not timed assertions."""

from __future__ import annotations

import os
import pty
import queue
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NAME = "rollout-test-canary-nginx"
GUARD = 120  # seconds before a wait gives up (the test then fails; it never asserts a duration)


def env(tmp_path: Path) -> dict:
    out = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    out.update(RECONCILER_CLUSTER=f"local:{tmp_path / 'cluster'}", RECONCILER_LOG_LEVEL="warning", NO_COLOR="1", TERM="xterm")
    return out


def cli(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=tmp_path, env=env(tmp_path), capture_output=True, text=True, timeout=GUARD)


@pytest.fixture
def paused(tmp_path):
    """The tour's canary, updated to nginx 1.14.2 and paused at step 1 (CanaryPauseStep)."""
    shutil.copytree(ROOT / "fixtures" / "canary-nginx", tmp_path / "src")
    assert cli(tmp_path, "run", "src", "--now", "2026-01-01T00:00:00Z").returncode == 0
    manifest = tmp_path / "src" / "nginx.yaml"
    manifest.write_text(manifest.read_text().replace("nginx:1.14.1", "nginx:1.14.2"))
    assert cli(tmp_path, "run", "src", "--now", "2026-01-01T00:01:00Z").returncode == 0
    done = cli(tmp_path, "run", "src", "--now", "2026-01-01T00:01:30Z")
    assert "Paused (CanaryPauseStep)" in done.stdout, done.stdout + done.stderr
    return tmp_path


# -- status ---------------------------------------------------------------------------------------


def test_status_once_prints_the_plugins_line(paused):
    done = cli(paused, "status", NAME, "--no-watch")
    assert (done.returncode, done.stdout) == (0, "Paused - CanaryPauseStep\n")
    assert cli(paused, "status", NAME, "--watch=false").stdout == "Paused - CanaryPauseStep\n"


def test_status_watch_times_out_with_2(paused):
    done = cli(paused, "status", NAME, "--timeout", "1s")
    assert done.returncode == 2
    assert done.stdout == "Paused - CanaryPauseStep\n"
    assert "was not Healthy or Degraded before the timeout (1s)" in done.stderr


def test_status_of_an_aborted_rollout_is_degraded_exit_1(paused):
    assert cli(paused, "abort", NAME).returncode == 0
    assert cli(paused, "run", "src", "--now", "2026-01-01T00:02:00Z").returncode == 1
    watched = cli(paused, "status", NAME, "--timeout", "5m")
    assert watched.returncode == 1
    assert watched.stdout == "Degraded - RolloutAborted: Rollout aborted update to revision 2\n"
    assert "error: the rollout is Degraded: RolloutAborted" in watched.stderr
    once = cli(paused, "status", NAME, "--no-watch")
    assert (once.returncode, once.stdout) == (1, "Degraded\n")


def test_status_errors_exit_2(paused):
    missing = cli(paused, "status", "nope", "--no-watch")
    assert missing.returncode == 2 and "rollout 'nope' not found in namespace 'default'" in missing.stderr
    assert cli(paused, "status", NAME, "--timeout", "soon").returncode == 2


class Reader:
    """Collects a process's output on a thread, so the test can wait for text with a guard."""

    def __init__(self, read):
        self.chunks: queue.Queue = queue.Queue()
        self.text = ""
        thread = threading.Thread(target=self._pump, args=(read,), daemon=True)
        thread.start()

    def _pump(self, read):
        while True:
            try:
                data = read()
            except OSError:  # the pty closes with EIO when the child exits
                data = ""
            self.chunks.put(data)
            if not data:
                return

    def wait_for(self, predicate) -> str:
        deadline = time.monotonic() + GUARD
        while not predicate(self.text):
            try:
                data = self.chunks.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"gave up waiting; output so far:\n{self.text}") from None
            if not data:
                if predicate(self.text):
                    break
                raise AssertionError(f"the process ended first; output:\n{self.text}")
            self.text += data
        return self.text


def ctrl_c_as_at_a_terminal() -> None:
    """In the child: SIGINT back to its default. A test runner started in the background by a
    non-interactive shell (`cmd &`) inherits SIGINT ignored, and so would the CLI under test; a
    person's terminal never does."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn_pipe(tmp_path, *args):
    process = subprocess.Popen([sys.executable, "-m", "reconciler", *args], cwd=tmp_path, env=env(tmp_path),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
                               preexec_fn=ctrl_c_as_at_a_terminal)
    return process, Reader(process.stdout.readline)


def test_status_watch_ends_0_when_a_run_makes_it_healthy(paused):
    process, out = spawn_pipe(paused, "status", NAME, "--timeout", "10m")
    try:
        out.wait_for(lambda text: "Paused - CanaryPauseStep\n" in text)
        assert cli(paused, "promote", NAME, "--full").returncode == 0
        for minute in range(2, 8):
            cli(paused, "run", "src", "--now", f"2026-01-01T00:0{minute}:00Z")
            if "Healthy" in cli(paused, "status", NAME, "--no-watch").stdout:
                break
        out.wait_for(lambda text: text.endswith("Healthy\n"))
        assert process.wait(timeout=GUARD) == 0
    finally:
        process.kill()
    lines = out.text.splitlines()
    assert lines[0] == "Paused - CanaryPauseStep" and lines[-1] == "Healthy"
    assert len(lines) == len(set(lines)), "a line is printed only when it changes"


def test_status_ctrl_c_is_exit_2(paused):
    process, out = spawn_pipe(paused, "status", NAME)
    out.wait_for(lambda text: "Paused" in text)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=GUARD) == 2
    assert "stopped by Ctrl-C" in process.stderr.read()


# -- get rollout --watch ---------------------------------------------------------------------------------


def test_get_watch_through_a_pipe_prints_one_block_per_change_and_ctrl_c_exits_0(paused):
    process, out = spawn_pipe(paused, "get", "rollout", NAME, "--watch", "--now", "2026-01-01T00:01:30Z")
    try:
        out.wait_for(lambda text: "Status:          ॥ Paused" in text and "└──" in text)
        assert cli(paused, "promote", NAME).returncode == 0
        assert cli(paused, "run", "src", "--now", "2026-01-01T00:02:00Z").returncode == 0
        out.wait_for(lambda text: "  Step:          2/4" in text and text.count("Name:") == 2 and text.rstrip().endswith("ready:2/2"))
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=GUARD) == 0
    finally:
        process.kill()
    assert "\x1b[" not in out.text, "no cursor control through a pipe"
    first, second = out.text.split("\n\nName:")
    assert "  Step:          1/4" in first and "  Step:          2/4" in second


def test_get_watch_under_a_pseudo_terminal_redraws_in_place(paused):
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "reconciler", "get", "rollout", NAME, "-w", "--now", "2026-01-01T00:01:30Z"],
                               cwd=paused, env=env(paused), stdin=follower, stdout=follower, stderr=subprocess.PIPE, close_fds=True,
                               preexec_fn=ctrl_c_as_at_a_terminal)
    os.close(follower)

    def read() -> str:
        ready, _, _ = select.select([leader], [], [], GUARD)
        return os.read(leader, 65536).decode("utf-8", "replace") if ready else ""

    out = Reader(read)
    try:
        out.wait_for(lambda text: "Status:          ॥ Paused" in text)
        assert cli(paused, "promote", NAME).returncode == 0
        assert cli(paused, "run", "src", "--now", "2026-01-01T00:02:00Z").returncode == 0
        out.wait_for(lambda text: "  Step:          2/4" in text)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=GUARD) == 0
    finally:
        process.kill()
        os.close(leader)
    screens = out.text.split("\x1b[H\x1b[2J")
    assert screens[0] == "" and len(screens) >= 3, "each new state replaces the screen"
    assert "1/4" in screens[1] and "2/4" in screens[-1] and "1/4" not in screens[-1]


def test_get_watch_timeout_ends_with_0_and_errors_exit_2(paused):
    done = cli(paused, "get", "rollout", NAME, "-w", "--timeout", "1s", "--now", "2026-01-01T00:01:30Z")
    assert done.returncode == 0 and done.stdout.count("Name:") == 1
    missing = cli(paused, "get", "rollout", "nope", "-w", "--timeout", "1s")
    assert missing.returncode == 2 and "not found" in missing.stderr
    assert cli(paused, "get", "rollout", NAME, "-w", "--timeout", "later").returncode == 2


def test_list_watch_json_prints_one_document_per_change(paused):
    import json

    process, out = spawn_pipe(paused, "list", "rollouts", "--watch", "-o", "json", "--now", "2026-01-01T00:01:30Z")
    try:
        out.wait_for(lambda text: text.count("\n") >= 1)
        assert cli(paused, "promote", NAME).returncode == 0
        assert cli(paused, "run", "src", "--now", "2026-01-01T00:02:00Z").returncode == 0
        out.wait_for(lambda text: any(json.loads(line)[0]["step"] == 2 for line in text.splitlines()))
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=GUARD) == 0
    finally:
        process.kill()
    states = [json.loads(line) for line in out.text.splitlines()]
    assert states[0][0]["step"] == 1 and states[-1][0]["step"] == 2
