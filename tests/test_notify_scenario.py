"""Notifications end to end through the CLI on the embedded cluster, against real HTTP servers on
127.0.0.1 (a webhook sink, a fake Slack API, a fake GitHub API), in both status modes: seed 002
manifest 8's subscription is delivered exactly once, after the run that reaches Healthy, never by
`plan`, retried after the sink was down, never duplicated by idle runs."""

from __future__ import annotations

import base64
import json
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from tests.notify_servers import RecordingServer, github_api, slack_api

pytestmark = pytest.mark.slow
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "mock-server-canary"
TOKEN = "xoxb-test-secret-token-0123"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", "-c", "user.name=Pat Person", "-c", "user.email=pat@example.com", "-C", str(cwd), *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


ROLLOUT = """apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: mock-server
  annotations:
    notifications.argoproj.io/subscribe.on-rollout-completed.slack: deployments
{extra}spec:
  replicas: 4
  selector:
    matchLabels:
      app: mock-server
  strategy:
    canary:
      steps:
      - setWeight: 50
      - pause: {pause}
      - setWeight: 100
      canaryService: mock-server-canary
      stableService: mock-server-stable
  template:
    metadata:
      labels:
        app: mock-server
    spec:
      containers:
      - name: mock-server
        image: ghcr.io/ssup2/mock-go-server:1.0.0
"""

SERVICES = """---
apiVersion: v1
kind: Service
metadata:
  name: mock-server-stable
spec:
  selector:
    app: mock-server
  ports:
  - port: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: mock-server-canary
spec:
  selector:
    app: mock-server
  ports:
  - port: 8080
"""


class Setup:
    """A Git checkout holding the manifests and the notification ConfigMap, an embedded cluster
    holding the notification Secret, and a simulated clock."""

    def __init__(self, tmp_path: Path, status: str, slack: RecordingServer, sink: RecordingServer, *, extra: str = "",
                 pause: str = "{duration: 10s}", config_extra: str = "", config_in_cluster: bool = False):
        self.repo = tmp_path / "repo"
        self.repo.mkdir()
        (self.repo / "rollout.yaml").write_text(ROLLOUT.format(extra=extra, pause=pause) + SERVICES)
        (self.repo / "notifications.yaml").write_text(f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: argo-rollouts-notification-configmap
data:
  service.slack: |
    token: $slack-token
    apiURL: {slack.url}/api
  service.webhook.sink: |
    url: {sink.url}/hooks
    headers:
    - name: X-Hook-Token
      value: $hook-token
{config_extra}""")
        if config_in_cluster:  # the ConfigMap lives in the reconciler's namespace, not in SOURCE
            config = yaml.safe_load((self.repo / "notifications.yaml").read_text())
            (self.repo / "notifications.yaml").unlink()
        git(self.repo, "init", "-q", "-b", "main")
        git(self.repo, "add", ".")
        git(self.repo, "commit", "-q", "-m", "mock-server 1.0.0")
        self.cluster_dir = tmp_path / "cluster"
        self.status = status
        self.now = T0
        from reconciler.cluster.local import LocalCluster

        cluster = LocalCluster(self.cluster_dir, now=T0)
        if config_in_cluster:
            cluster.create({**config, "metadata": {**config["metadata"], "namespace": "default"}})
        cluster.create({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "argo-rollouts-notification-secret", "namespace": "default"},
            "data": {"slack-token": base64.b64encode(TOKEN.encode()).decode(), "hook-token": base64.b64encode(b"hook-secret-42").decode()},
        })

    def stamp(self) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def cli(self, *args: str) -> str:
        from typer.testing import CliRunner

        from reconciler.cli import app

        result = CliRunner().invoke(app, list(args))
        assert result.exit_code in (0, 1), f"{args}: exit {result.exit_code}\n{result.output}\n{result.exception!r}"
        return result.output

    def run(self, *flags: str, step: int = 10) -> str:
        out = self.cli("run", str(self.repo), "--status", self.status, "--cluster", f"local:{self.cluster_dir}", "--now", self.stamp(), *flags)
        self.now += timedelta(seconds=step)
        return out

    def plan(self) -> str:
        return self.cli("plan", str(self.repo), "--status", self.status, "--cluster", f"local:{self.cluster_dir}", "--now", self.stamp())

    def view(self) -> dict:
        source = ["--source", str(self.repo)] if self.status == "commit" else []
        return json.loads(self.cli("get", "rollout", "mock-server", "-o", "json", "--status", self.status, *source,
                                   "--cluster", f"local:{self.cluster_dir}", "--now", self.stamp()))

    def gate(self, command: str) -> str:
        """`abort` / `promote` / `retry` as a person types it in this status mode."""
        source = ["--source", str(self.repo)] if self.status == "commit" else []
        return self.cli(command, "mock-server", "--status", self.status, *source, "--cluster", f"local:{self.cluster_dir}")

    def bump(self, tag: str = "2.0.0") -> None:
        path = self.repo / "rollout.yaml"
        path.write_text(path.read_text().replace("mock-go-server:1.0.0", f"mock-go-server:{tag}"))
        git(self.repo, "commit", "-q", "-am", f"mock-server {tag}")

    def run_until_healthy(self, slack: RecordingServer, limit: int = 12) -> str:
        """Run until the rollout is Healthy again, checking nothing was sent to Slack before."""
        for _ in range(limit):
            assert slack.requests == [], "on-rollout-completed sent before the rollout completed"
            out = self.run()
            if self.view()["status"] == "Healthy":
                return out
        raise AssertionError("the rollout never completed")


@pytest.fixture
def slack():
    with slack_api() as server:
        yield server


@pytest.fixture
def sink():
    with RecordingServer() as server:
        yield server


@pytest.mark.parametrize("status", ["annotations", "commit"])
def test_seed002_slack_subscription_is_delivered_once_after_healthy(tmp_path, status, slack, sink):
    setup = Setup(tmp_path, status, slack, sink, extra="    notifications.argoproj.io/subscribe.on-rollout-step-completed.sink: \"\"\n")
    setup.run()
    assert setup.view()["status"] == "Healthy" and slack.requests == [] and sink.requests == []  # the first deploy is no update
    setup.bump()
    out = setup.run_until_healthy(slack)
    assert len(slack.requests) == 1
    message = slack.requests[0]
    assert message.path == "/api/chat.postMessage"
    assert message.headers["authorization"] == f"Bearer {TOKEN}"
    body = message.json()
    assert body["channel"] == "deployments"
    assert body["text"] == "Rollout mock-server has been completed."
    assert body["attachments"][0]["title"] == "mock-server"
    assert "on-rollout-completed -> slack:deployments: sent" in out
    assert TOKEN not in out
    # step-completed: once per step completed (3 steps), to the webhook with its secret header
    steps = [json.loads(r.body) for r in sink.requests]
    assert sorted(s["message"] for s in steps) == [f"Rollout mock-server step number {n}/3 has been completed." for n in (1, 2, 3)]
    assert {r.headers["x-hook-token"] for r in sink.requests} == {"hook-secret-42"}
    # plan never sends, idle runs never send again
    assert "would-send" not in setup.plan()
    for _ in range(3):
        setup.run()
    assert len(slack.requests) == 1 and len(sink.requests) == 3
    stored = json.dumps(_state(setup))
    assert TOKEN not in stored and "hook-secret-42" not in stored


def _state(setup: Setup) -> dict:
    if setup.status == "commit":
        return yaml.safe_load((setup.repo / ".reconciler/status/default/mock-server.yaml").read_text())
    from reconciler.cluster.local import LocalCluster

    return LocalCluster(setup.cluster_dir).get("ConfigMap", "default", "mock-server-rollout-state")


@pytest.mark.parametrize("status", ["annotations", "commit"])
def test_sink_down_at_completion_is_delivered_once_by_a_later_run(tmp_path, status, slack, sink):
    setup = Setup(tmp_path, status, slack, sink)
    setup.run()
    setup.bump()
    for _ in range(12):  # up to the run before completion
        out = setup.plan()
        if "on-rollout-completed -> slack:deployments: would-send" in out:
            break
        setup.run()
    assert slack.requests == []  # plan listed it, and sent nothing
    slack.stop()
    out = setup.run()
    assert setup.view()["status"] == "Healthy"
    assert "on-rollout-completed -> slack:deployments: failed (POST http://127.0.0.1" in out and "cannot connect" in out
    setup.run()  # still down, and within the backoff: not even tried
    slack.start()
    assert slack.requests == []
    setup.now += timedelta(minutes=5)
    out = setup.run()
    assert "on-rollout-completed -> slack:deployments: sent" in out
    for _ in range(3):
        setup.now += timedelta(minutes=10)
        setup.run()
    assert len(slack.requests) == 1 and slack.requests[0].json()["channel"] == "deployments"


@pytest.mark.parametrize("status", ["annotations", "commit"])
def test_no_notify_keeps_them_pending_for_a_later_run(tmp_path, status, slack, sink):
    setup = Setup(tmp_path, status, slack, sink)
    setup.run()
    setup.bump()
    for _ in range(12):
        out = setup.run("--no-notify")
        if setup.view()["status"] == "Healthy":
            break
    assert "on-rollout-completed -> slack:deployments: held" in out and slack.requests == []
    setup.run()
    setup.run()
    assert len(slack.requests) == 1


@pytest.mark.parametrize("status", ["annotations", "commit"])
def test_aborted_fires_once_and_a_failing_slack_answer_is_retried(tmp_path, status, slack, sink):
    extra = ("    notifications.argoproj.io/subscribe.on-rollout-aborted.slack: releases;refused\n"
             "    notifications.argoproj.io/subscribe.on-rollout-paused.sink: \"\"\n")
    setup = Setup(tmp_path, status, slack, sink, extra=extra, pause="{}")
    setup.run()
    setup.bump()
    for _ in range(4):
        setup.run()
    assert setup.view()["status"] == "Paused"
    assert [json.loads(r.body)["trigger"] for r in sink.requests] == ["on-rollout-paused"]
    setup.gate("abort")
    out = setup.run()
    assert setup.view()["status"] == "Degraded"
    aborted = [r.json() for r in slack.requests]
    assert sorted(a["channel"] for a in aborted) == ["refused", "releases"]  # both tried, ';'-separated recipients
    assert aborted[0]["text"] == "Rollout mock-server has been aborted."
    assert "slack:refused: failed" in out and "channel_not_found" in out
    for _ in range(3):
        setup.now += timedelta(minutes=10)
        setup.run()
    channels = [r.json()["channel"] for r in slack.requests]
    assert channels.count("releases") == 1  # delivered once, never again
    assert channels.count("refused") == 4  # Slack's ok:false is a failure: retried with backoff
    assert len(sink.requests) == 1


@pytest.mark.parametrize("status", ["annotations", "commit"])
def test_undeliverable_notification_is_dropped_after_max_age_with_a_warning_and_event(tmp_path, status, slack, sink):
    setup = Setup(tmp_path, status, slack, sink)
    setup.run()
    setup.bump()
    slack.stop()
    setup.run_until_healthy(slack)
    setup.now += timedelta(minutes=30)
    out = setup.run("--notify-max-age", "10m")
    assert "on-rollout-completed -> slack:deployments: dropped (not delivered within 600s" in out
    slack.start()
    setup.now += timedelta(hours=2)
    setup.run()
    assert slack.requests == []
    from reconciler.cluster.local import LocalCluster

    events = LocalCluster(setup.cluster_dir).list("Event", "default")
    assert any(e.get("reason") == "NotificationDropped" for e in events)


@pytest.mark.parametrize("status", ["annotations", "commit"])
def test_github_commit_status_and_deployment_on_the_manifests_commit(tmp_path, status, slack, sink):
    with github_api() as github:
        config = f"""  service.github: |
    token: $slack-token
    apiURL: {github.url}
  template.deployed: |
    message: Rollout {{{{.rollout.metadata.name}}}} is {{{{.rollout.status.phase}}}}
    github:
      repoURLPath: "https://github.com/acme/shop.git"
      status:
        state: success
        label: "continuous-delivery/{{{{.rollout.metadata.name}}}}"
        targetURL: "{{{{.context.dashboard}}}}/rollouts/{{{{.rollout.metadata.name}}}}"
      deployment:
        state: success
        environment: production
        environmentURL: "https://{{{{.rollout.metadata.name}}}}.example.com"
        requiredContexts: []
        autoMerge: false
  trigger.on-rollout-completed: |
    - send: [deployed]
  context: |
    dashboard: https://dash.example.com
"""
        extra = "    notifications.argoproj.io/subscribe.on-rollout-completed.github: \"\"\n"
        setup = Setup(tmp_path, status, slack, sink, extra=extra, config_extra=config)
        setup.run()
        setup.bump()
        sha = git(setup.repo, "log", "-1", "--format=%H", "--", "rollout.yaml").strip()
        (setup.repo / "README.md").write_text("a later commit that does not touch the Rollout\n")
        git(setup.repo, "add", "README.md")
        git(setup.repo, "commit", "-q", "-m", "docs")
        setup.run_until_healthy(slack)
        for _ in range(2):
            setup.run()
        paths = [(r.method, r.path) for r in github.requests]
        assert paths == [("POST", f"/repos/acme/shop/statuses/{sha}"), ("POST", "/repos/acme/shop/deployments"),
                         ("POST", "/repos/acme/shop/deployments/42/statuses")]
        status = github.requests[0].json()
        assert status == {"state": "success", "context": "continuous-delivery/mock-server", "description": "Rollout mock-server is Healthy",
                          "target_url": "https://dash.example.com/rollouts/mock-server"}
        deployment = github.requests[1].json()
        assert (deployment["ref"], deployment["environment"], deployment["auto_merge"]) == (sha, "production", False)
        assert github.requests[2].json()["environment_url"] == "https://mock-server.example.com"
        assert github.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
        # the user's trigger.on-rollout-completed replaced the built-in: Slack got the same template
        assert [r.json()["text"] for r in slack.requests] == ["Rollout mock-server is Healthy"]


@pytest.mark.parametrize("status", ["annotations", "commit"])
def test_user_trigger_with_when_condition_fires_once_per_oncePer_value(tmp_path, status, slack, sink):
    config = """  trigger.on-healthy: |
    - when: rollout.status.phase == 'Healthy'
      oncePer: rollout.spec.template.spec.containers[0].image
      send: [healthy]
  template.healthy: |
    message: "{{.rollout.metadata.name}} runs {{(index .rollout.spec.template.spec.containers 0).image | quote}}"
    webhook:
      sink:
        method: PUT
        path: /healthy/{{.rollout.metadata.name}}
        body: '{"text": {{.rollout.status.phase | quote}}}'
"""
    extra = "    notifications.argoproj.io/subscriptions: |\n      - trigger: on-healthy\n        destinations:\n          - service: sink\n"
    setup = Setup(tmp_path, status, slack, sink, extra=extra, config_extra=config)
    setup.run()
    setup.run()
    assert [(r.method, r.path, r.body) for r in sink.requests] == [("PUT", "/hooks/healthy/mock-server", b'{"text": "Healthy"}')]
    setup.bump()
    setup.run_until_healthy(slack)
    setup.run()
    assert len(sink.requests) == 2  # once for 1.0.0, once for 2.0.0


@pytest.mark.parametrize("status", ["annotations", "commit"])
def test_plan_lists_notifications_and_sends_nothing(tmp_path, status, slack, sink):
    setup = Setup(tmp_path, status, slack, sink, extra="    notifications.argoproj.io/subscribe.on-rollout-updated.sink: \"\"\n")
    setup.run()  # revision 1 is an update too, as in Argo
    assert [(json.loads(r.body)["revision"], json.loads(r.body)["message"]) for r in sink.requests] == [(1, "Rollout mock-server has been updated.")]
    sink.requests.clear()
    setup.bump()
    out = setup.plan()
    assert "default/mock-server: notification on-rollout-updated -> sink: would-send" in out
    assert sink.requests == []
    setup.run()
    assert [json.loads(r.body)["message"] for r in sink.requests] == ["Rollout mock-server has been updated."]


def test_findings_for_unknown_service_trigger_and_template_syntax(tmp_path, slack, sink):
    config = """  service.email: |
    host: smtp.example.com
  template.broken: |
    message: |
      Rollout {{.rollout.metadata.name}}
      is {{ .rollout.status.phase | shout }}
  trigger.on-broken: |
    - when: rollout.status.phase ==
      send: [broken]
"""
    extra = ("    notifications.argoproj.io/subscribe.on-rollout-complete.slack: deployments\n"
             "    notifications.argoproj.io/subscribe.on-rollout-completed.slak: deployments\n")
    setup = Setup(tmp_path, "annotations", slack, sink, extra=extra, config_extra=config)
    out = setup.cli("validate", str(setup.repo))
    assert "notifications.yaml:14:" in out and "notification service type 'email' is not implemented" in out
    assert "notifications.yaml:19:" in out and "function 'shout' not defined" in out
    assert "trigger.on-broken[0].when" in out
    assert "rollout.yaml:7:" in out and "unknown notification trigger 'on-rollout-complete'" in out and "did you mean 'on-rollout-completed'" in out
    assert "rollout.yaml:8:" in out and "notification service 'slak' is not configured" in out and "did you mean 'slack'" in out


@pytest.mark.parametrize("status", ["annotations", "commit"])
def test_configuration_from_the_cluster_when_source_has_none(tmp_path, status, slack, sink):
    setup = Setup(tmp_path, status, slack, sink, config_in_cluster=True)
    assert not (setup.repo / "notifications.yaml").exists()
    setup.run()
    setup.bump()
    setup.run_until_healthy(slack)
    setup.run()
    assert [r.json()["channel"] for r in slack.requests] == ["deployments"]


@pytest.mark.parametrize("status", ["annotations", "commit"])
def test_analysis_run_running_and_failed_fire_once_each(tmp_path, status, slack, sink):
    with RecordingServer(lambda request: (200, {"ok": False})) as metric:
        extra = ("    notifications.argoproj.io/subscribe.on-analysis-run-failed.slack: oncall\n"
                 "    notifications.argoproj.io/subscribe.on-rollout-aborted.slack: oncall\n"
                 "    notifications.argoproj.io/subscribe.on-analysis-run-running.sink: \"\"\n")
        setup = Setup(tmp_path, status, slack, sink, extra=extra)
        path = setup.repo / "rollout.yaml"
        path.write_text(path.read_text().replace("      - pause: {duration: 10s}\n", "      - analysis:\n          templates:\n          - templateName: health\n")
                        + f"""---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: health
spec:
  metrics:
  - name: health
    interval: 10s
    count: 2
    failureLimit: 0
    successCondition: result == true
    provider:
      web:
        url: {metric.url}/health
        jsonPath: "{{$.ok}}"
""")
        git(setup.repo, "commit", "-q", "-am", "analysis")
        setup.run()
        setup.bump()
        for _ in range(10):
            setup.run()
            if setup.view()["status"] == "Degraded":
                break
        assert setup.view()["status"] == "Degraded" and metric.requests
        for _ in range(3):
            setup.run()
        texts = sorted(r.json()["text"] for r in slack.requests)
        assert texts == ["Rollout mock-server has been aborted.", "Rollout mock-server's analysis run failed."]
        assert [json.loads(r.body)["trigger"] for r in sink.requests] == ["on-analysis-run-running"]
