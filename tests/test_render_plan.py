"""Plan text, diffs and the pull-request markdown, with seed 002's progression (table 1)."""

from __future__ import annotations

from reconciler.render.plan import (
    RolloutPlan,
    object_diff,
    progression,
    progression_markdown,
    render_plan_markdown,
    render_plan_text,
)

SEED_002_CANARY = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "metadata": {"name": "mock-server"},
    "spec": {
        "replicas": 5,
        "strategy": {
            "canary": {
                "canaryService": "mock-server-canary",
                "stableService": "mock-server-stable",
                "steps": [
                    {"setWeight": 10}, {"pause": {"duration": "30s"}}, {"setWeight": 20}, {"pause": {"duration": "1m"}},
                    {"setWeight": 50}, {"pause": {}}, {"setWeight": 80}, {"pause": {"duration": "2m"}},
                    {"setWeight": 100}, {"pause": {}},
                ],
            }
        },
    },
}

VIEW = {
    "name": "mock-server", "namespace": "default", "strategy": "Canary", "status": "Paused",
    "message": "CanaryPauseStep", "step": 1, "totalSteps": 10, "setWeight": 10, "actualWeight": 10, "revision": 2,
}

RS_BEFORE = {
    "apiVersion": "apps/v1", "kind": "ReplicaSet",
    "metadata": {"name": "mock-server-7c6fcfb847", "namespace": "default", "resourceVersion": "41"},
    "spec": {"replicas": 1}, "status": {"replicas": 1},
}
RS_AFTER = {
    "apiVersion": "apps/v1", "kind": "ReplicaSet",
    "metadata": {"name": "mock-server-7c6fcfb847", "namespace": "default", "resourceVersion": "41"},
    "spec": {"replicas": 2}, "status": {"replicas": 1},
}
ACTION = {"verb": "scale", "kind": "ReplicaSet", "namespace": "default", "name": "mock-server-7c6fcfb847",
          "before": RS_BEFORE, "after": RS_AFTER, "reason": "setWeight 20: canary 1 → 2"}


def test_progression_follows_argo_closest_split_without_a_router():
    rows = progression(SEED_002_CANARY)
    # (weight, canary, stable) after each step: Argo's closest split within maxSurge (seed 002
    # table 1: 10 % of 5 is 1 canary + 5 stable, 1/6 being closer to 10 % than 1/5; at 50 % Argo
    # runs 3 + 3, exactly 50 %, where the blog's table writes 3 + 2, see docs/conformance.md)
    assert [(r["weight"], r["canary"], r["stable"]) for r in rows] == [
        (10, 1, 5), (10, 1, 5), (20, 1, 4), (20, 1, 4), (50, 3, 3), (50, 3, 3), (80, 4, 1), (80, 4, 1), (100, 5, 0), (100, 5, 0), (100, 5, 0),
    ]
    assert [r["pause"] for r in rows[:6]] == ["", "30s", "", "1m", "", "until promote"]
    assert rows[-1]["action"] == "promote: the canary becomes stable"


def test_progression_with_a_traffic_router_keeps_stable_whole():
    routed = {"spec": {"replicas": 5, "strategy": {"canary": {"trafficRouting": {"istio": {}}, "steps": [{"setWeight": 20}, {"pause": {"duration": 60}}]}}}}
    rows = progression(routed)
    assert [(r["canary"], r["stable"], r["pause"]) for r in rows[:2]] == [(1, 5, ""), (1, 5, "60s")]
    assert "stable stays 5" in progression_markdown(routed)


def test_blue_green_has_no_progression():
    assert progression({"spec": {"replicas": 3, "strategy": {"blueGreen": {"activeService": "a"}}}}) == []


def test_object_diff_ignores_status_and_server_metadata():
    diff = object_diff(RS_BEFORE, RS_AFTER, "default/ReplicaSet/mock-server-7c6fcfb847")
    assert diff.splitlines()[:2] == ["--- a/default/ReplicaSet/mock-server-7c6fcfb847", "+++ b/default/ReplicaSet/mock-server-7c6fcfb847"]
    assert "-  replicas: 1" in diff and "+  replicas: 2" in diff
    assert "resourceVersion" not in diff and "status" not in diff
    assert object_diff(RS_BEFORE, dict(RS_BEFORE, status={"replicas": 9}), "x") == ""
    created = object_diff(None, RS_AFTER, "default/ReplicaSet/x")
    assert created.startswith("--- /dev/null\n+++ b/default/ReplicaSet/x")


def test_plan_text_says_where_it_is_what_is_next_and_shows_the_diff():
    text = render_plan_text([RolloutPlan(view=VIEW, next_step="wait 30s, then setWeight 20", actions=[ACTION], rollout=SEED_002_CANARY)], progression_table=True)
    lines = text.split("\n")
    assert lines[0] == "Rollout default/mock-server (Canary), after this run: ॥ Paused, step 1/10, weight 10 (actual 10), revision 2"
    assert "  next: wait 30s, then setWeight 20" in lines
    assert "    scale ReplicaSet default/mock-server-7c6fcfb847: setWeight 20: canary 1 → 2" in lines
    assert any(line.startswith("  ▶  1/10   pause: 30s") for line in lines)
    assert "+  replicas: 2" in lines


def test_plan_markdown_for_a_pull_request():
    md = render_plan_markdown([RolloutPlan(view=VIEW, next_step="wait 30s", actions=[ACTION], rollout=SEED_002_CANARY)], source_label="git@example.com:shop/deploy.git")
    assert md.startswith("## Rollout plan for `git@example.com:shop/deploy.git`")
    assert "| `default/mock-server` | Canary | ॥ Paused | 1/10 | 10% | wait 30s |" in md
    assert "| Step | Action | Weight | Canary pods | Stable pods | Pause |" in md
    assert "| 1/10 ◀ now | pause: 30s | 10% | 1 | 5 | 30s |" in md
    assert "| 5/10 | pause: until promote | 50% | 3 | 3 | until promote |" in md
    assert "```diff" in md and "</details>" in md


def test_nothing_to_do_and_findings():
    healthy = dict(VIEW, status="Healthy", message="", step=10, setWeight=100, actualWeight=100)
    text = render_plan_text([RolloutPlan(view=healthy, findings=["rollout.yaml:12 spec.replicas: must be >= 0"])])
    assert "  next: nothing to do" in text
    assert "  finding: rollout.yaml:12 spec.replicas: must be >= 0" in text
    assert "No rollouts found." in render_plan_markdown([])


def test_render_report_from_the_runner_values():
    model = __import__("pytest").importorskip("reconciler.engine.model")
    runner = __import__("pytest").importorskip("reconciler.runner")
    from reconciler.engine.state import RolloutState
    from reconciler.render.plan import render_report

    action = model.Action("replace", "ReplicaSet", "default", "mock-server-7c6fcfb847", RS_BEFORE, RS_AFTER, "setWeight 20")
    plan = model.Plan(namespace="default", name="mock-server", strategy="Canary", actions=[action], state=RolloutState(),
                      events=[], status="Paused", message="CanaryPauseStep", next="scale the canary to 2", view=VIEW)
    service = model.Action("create", "Service", "default", "mock-server-canary", None, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mock-server-canary"}}, "in the repository")
    report = runner.RunReport(results=[runner.RolloutResult(namespace="default", name="mock-server", plan=plan, view=VIEW)], manifest_actions=[service], dry_run=True)
    text = render_report(report)
    assert "Other objects:\n  create Service default/mock-server-canary: in the repository" in text
    assert "--- /dev/null\n+++ b/default/Service/mock-server-canary" in text
    assert "  next: scale the canary to 2" in text
    md = render_report(report, "markdown", rollouts={("default", "mock-server"): SEED_002_CANARY})
    assert "| 1/10 ◀ now | pause: 30s | 10% | 1 | 5 | 30s |" in md and "### Other objects" in md
    # the JSON form of the report renders the same way
    assert render_report(report.to_dict()).split("\n")[0] == text.split("\n")[0]


def test_markdown_fence_survives_backticks_in_a_diff():
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "docs", "namespace": "default"}, "data": {"README.md": "```sh\nmake\n```\n"}}
    action = {"verb": "create", "kind": "ConfigMap", "namespace": "default", "name": "docs", "before": None, "after": config}
    md = render_plan_markdown([RolloutPlan(view=VIEW, actions=[action])])
    assert "````diff" in md and md.count("\n````\n") == 1


def test_cli_plan_markdown_for_a_fixture(tmp_path):
    """`reconciler plan SOURCE -o markdown` end to end: summary, progression, plain manifests."""
    from pathlib import Path

    from typer.testing import CliRunner

    from reconciler.cli import app

    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "canary-nginx"
    result = CliRunner().invoke(app, ["plan", str(fixture), "--cluster", f"local:{tmp_path / 'cluster'}", "--now", "2026-01-01T00:00:00Z", "-o", "markdown", "--log-format", "json"])
    assert result.exit_code == 0, result.output
    md = result.stdout
    assert md.startswith("## Rollout plan for ")
    assert "| 1/4 | pause: 60s | 20% | 1 | 4 | 60s |" in md
    assert "### Other objects" in md and "create ConfigMap default/rollout-test-canary-nginx-conf" in md
    assert "+++ b/default/ReplicaSet/rollout-test-canary-nginx-" in md


def test_cli_plan_text_shows_the_diffs_of_plain_manifests(tmp_path):
    """Plain `plan` shows the same unified diffs of ConfigMaps and Services as `-o markdown`: a
    changed line of a config file is one changed diff line, and the selector the engine set stays."""
    import re
    import shutil
    from pathlib import Path

    from typer.testing import CliRunner

    from reconciler.cli import app

    repo = tmp_path / "repo"
    shutil.copytree(Path(__file__).resolve().parent.parent / "fixtures" / "bluegreen-nginx", repo)
    common = ["--cluster", f"local:{tmp_path / 'cluster'}", "--now", "2026-01-01T00:00:00Z", "--log-format", "json"]

    def plan(*extra):
        result = CliRunner().invoke(app, ["plan", str(repo), *common, *extra])
        assert result.exit_code == 0, result.output
        return result.stdout

    first = plan()
    assert first.startswith("Other objects:\n  create ConfigMap default/rollout-test-bluegreen-nginx-conf: apply nginx_blue-green.yaml\n")
    assert "--- /dev/null\n+++ b/default/ConfigMap/rollout-test-bluegreen-nginx-conf\n" in first
    assert "+  nginx.conf: |\n+    user nginx;\n" in first  # the file as lines, not one escaped string
    assert "--- /dev/null\n+++ b/default/Service/rollout-test-bluegreen-active\n" in first
    assert CliRunner().invoke(app, ["run", str(repo), *common]).exit_code == 0

    manifest = repo / "nginx_blue-green.yaml"
    manifest.write_text(manifest.read_text().replace("worker_connections  1024;", "worker_connections  2048;")
                        .replace("    port: 80\n    targetPort: 80\n", "    port: 80\n    targetPort: 8080\n", 1))
    text = plan()
    assert "  replace ConfigMap default/rollout-test-bluegreen-nginx-conf: apply nginx_blue-green.yaml" in text
    assert "  replace Service default/rollout-test-bluegreen-active: apply nginx_blue-green.yaml" in text
    config = text[text.index("--- a/default/ConfigMap/rollout-test-bluegreen-nginx-conf\n+++ b/default/ConfigMap/"):]
    assert "\n-      worker_connections  1024;\n+      worker_connections  2048;\n" in config
    service = text[text.index("--- a/default/Service/rollout-test-bluegreen-active\n+++ b/default/Service/"):]
    service = service[: service.index("\nRollout ")] if "\nRollout " in service else service
    assert "\n-    targetPort: 80\n+    targetPort: 8080\n" in service
    assert not re.search(r"^[-+] +rollouts-pod-template-hash", service, re.M)  # the live selector is kept, not diffed away
    assert "resourceVersion" not in text
    # Every diff the text shows is in the markdown comment too.
    markdown = plan("-o", "markdown")
    for diff in re.findall(r"^--- .*?(?=^--- |^Rollout |\Z)", text, re.M | re.S):
        assert diff.rstrip("\n") in markdown
