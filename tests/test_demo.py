"""`reconciler demo`: seed 000's canary walked through every step with a simulated clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.commands.demo import MANIFEST, run_demo

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "canary-nginx" / "nginx.yaml"


def test_embedded_manifest_is_the_fixture():
    assert FIXTURE.read_text() == MANIFEST


def _engine_ready() -> bool:
    try:
        import reconciler.engine.plan  # noqa: F401
        from reconciler.runner import run_once  # noqa: F401
    except ImportError:
        return False
    import inspect

    import reconciler.runner

    return "NotImplementedError" not in inspect.getsource(reconciler.runner.run_once)


@pytest.mark.slow
def test_demo_walks_every_step_of_seed_000(tmp_path):
    if not _engine_ready():
        pytest.skip("the step engine (engineer B) has not landed yet")
    printed: list[str] = []
    outcome = run_demo(printed.append, keep=str(tmp_path / "demo"))
    text = "\n".join(printed)
    assert outcome.finished, text[-3000:]
    views = outcome.views
    # revision 1 becomes Healthy, then revision 2 goes through steps 0..4 and becomes stable
    assert views[0]["revision"] == 1
    seen = [(v.get("revision"), v.get("status"), v.get("step"), v.get("setWeight")) for v in views]
    canary = [s for s in seen if s[0] == 2]
    assert (2, "Paused", 1, 20) in canary and (2, "Paused", 3, 80) in canary, seen
    assert canary[-1][1] == "Healthy" and canary[-1][2] == 4, seen
    # at most one step per invocation
    steps = [s[2] for s in canary if s[2] is not None]
    assert all(b - a <= 1 for a, b in zip(steps, steps[1:])), steps
    assert "Status:          ॥ Paused" in text and "Message:         CanaryPauseStep" in text
    assert "nginx:1.14.2 (stable)" in text
    # the tree is the one `get rollout` prints, pods included
    assert "Pod         ✔ Running" in text and "ready:2/2" in text
    # the demo kept its state as status commits in its own repository
    assert (tmp_path / "demo" / "repo" / ".reconciler" / "status" / "default" / "rollout-test-canary-nginx.yaml").exists()


def test_demo_refuses_a_non_empty_keep_dir(tmp_path):
    from reconciler.errors import UsageError

    (tmp_path / "x").write_text("")
    with pytest.raises(UsageError, match="not empty"):
        run_demo(lambda _: None, keep=str(tmp_path))


def test_demo_command_exits_zero():
    if not _engine_ready():
        pytest.skip("the step engine (engineer B) has not landed yet")
    from typer.testing import CliRunner

    from reconciler.cli import app

    result = CliRunner().invoke(app, ["demo", "--step-seconds", "60"])
    assert result.exit_code == 0, result.output[-2000:]
    assert "# done after" in result.output


def _headers(text: str) -> list[list[str]]:
    from tests.test_render_tree import transcript_blocks

    return [[line.rstrip() for line in header] for header, _tree in transcript_blocks(text)]


def test_demo_pauses_read_exactly_like_seed_000():
    """The paused states of the demo (engine + get rollout renderer) print the same header as the
    seed's `kubectl argo rollouts get rollout` at steps 1/4 and 3/4, and the same final state."""
    if not _engine_ready():
        pytest.skip("the step engine (engineer B) has not landed yet")
    printed: list[str] = []
    run_demo(printed.append)
    demo_headers = _headers("\n".join(printed))
    seed_text = (Path(__file__).resolve().parent.parent.parent / "shared" / "seeds" / "000_f2aab02eecf1255c.txt").read_text()
    seed_headers = [h for h in _headers(seed_text) if h[0].endswith("rollout-test-canary-nginx")]
    for wanted in ("  Step:          1/4", "  Step:          3/4"):
        seed = next(h for h in seed_headers if wanted in h and "Status:          ॥ Paused" in h)
        assert seed in demo_headers, wanted
    assert seed_headers[-1] == demo_headers[-1]  # ✔ Healthy, 4/4, nginx:1.14.2 (stable), 5/5/5/5/5
