"""Notification parts, table-tested: the Go-template subset, Argo's reason -> trigger rule,
subscriptions, the ConfigMap, secrets, the pure outbox and the bounded HTTP attempt."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from reconciler.engine.model import Event
from reconciler.engine.state import RolloutState
from reconciler.notifications import ledger
from reconciler.notifications.config import MissingSecret, parse_config, resolve, secret_values
from reconciler.notifications.http import DeliveryError, Http
from reconciler.notifications.subscriptions import expand_defaults, parse_subscriptions
from reconciler.notifications.template_values import TemplateError
from reconciler.notifications.templates import parse
from reconciler.notifications.triggers import BUILTIN_TRIGGERS, event_trigger, trigger_for_reason

ROLLOUT = {
    "metadata": {"name": "mock-server", "namespace": "default", "annotations": {}},
    "spec": {"replicas": 5, "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}, {"setWeight": 100}]}},
             "template": {"spec": {"containers": [{"name": "app", "image": "app:1"}, {"name": "side", "image": "side:2"}]}}},
    "status": {"phase": "Healthy", "currentStepIndex": 1},
}


@pytest.mark.parametrize("source, expected", [
    ("{{.rollout.metadata.name}}", "mock-server"),
    ("{{ .rollout.status.phase | quote }}", '"Healthy"'),
    ("{{ add .rollout.status.currentStepIndex 1 }}/{{ len .rollout.spec.strategy.canary.steps }}", "2/3"),
    ("{{if .rollout.spec.strategy.blueGreen}}BlueGreen{{end}}{{if .rollout.spec.strategy.canary}}Canary{{end}}", "Canary"),
    ("{{if eq .rollout.status.phase \"Degraded\"}}bad{{else if eq .rollout.status.phase \"Healthy\"}}good{{else}}?{{end}}", "good"),
    ("{{range $i, $c := .rollout.spec.template.spec.containers}}{{if $i}},{{end}}{{$c.name}}={{$c.image}}{{end}}", "app=app:1,side=side:2"),
    ("{{range .rollout.spec.template.spec.containers}}[{{.name}}]{{else}}none{{end}}", "[app][side]"),
    ("{{range .rollout.missing}}x{{else}}none{{end}}", "none"),
    ("{{with .rollout.metadata}}{{.name}}{{end}}", "mock-server"),
    ("{{ .context.url }}/r/{{ .recipient }}", "https://x/r/team"),
    ("{{ .rollout.nothing.here }}", "<no value>"),
    ("a  {{- .recipient -}}  b", "ateamb"),
    ("{{/* a comment */}}ok", "ok"),
    ('{{ printf "%s has %d replicas" .rollout.metadata.name .rollout.spec.replicas }}', "mock-server has 5 replicas"),
    ("{{ (index .rollout.spec.template.spec.containers 1).image | upper }}", "SIDE:2"),
    ('{{ .rollout.metadata.labels | default "none" }}', "none"),
    ("{{ .rollout.spec.replicas | toJson }} {{ not .rollout.status.phase }} {{ and 1 0 }} {{ or 0 \"x\" }}", "5 false 0 x"),
    ("{{ $n := .rollout.metadata.name }}{{ $n | trunc 4 }}", "mock"),
    ('{{ replace "-" "_" .rollout.metadata.name | title }}', "Mock_Server"),
])
def test_template_subset_renders_like_go(source, expected):
    data = {"rollout": ROLLOUT, "recipient": "team", "context": {"url": "https://x"}}
    assert parse(source).render(data) == expected


@pytest.mark.parametrize("source, line, words", [
    ("{{ .a | frob }}", 1, "function 'frob' not defined"),
    ("ok\n{{ if .a }}x", 2, "missing {{end}}"),
    ("{{ end }}", 1, "unexpected {{end}}"),
    ('{{ template "x" }}', 1, "not supported"),
    ("{{ $c.name }}", 1, "undefined variable $c"),
    ("{{ call .repo.FullNameByRepoURL .app.spec.source.repoURL }}", 1, "`call` is not supported"),
    ("a\nb\n{{ .x", 3, "unclosed action"),
    ("{{ .a | qoute }}", 1, "did you mean 'quote'"),
    ("{{ range .a }}{{ else }}{{ else }}{{ end }}", 1, "second {{else}}"),
])
def test_template_outside_the_subset_is_an_error_with_its_line(source, line, words):
    with pytest.raises(TemplateError) as err:
        parse(source)
    assert err.value.line == line and words in err.value.message


def test_field_of_a_string_is_a_render_error_never_raw_braces():
    with pytest.raises(TemplateError, match="can't evaluate field x in type string"):
        parse("{{ .rollout.metadata.name.x }}").render({"rollout": ROLLOUT})


@pytest.mark.parametrize("reason, trigger", [
    ("RolloutUpdated", "on-rollout-updated"),
    ("RolloutStepCompleted", "on-rollout-step-completed"),
    ("RolloutPaused", "on-rollout-paused"),
    ("RolloutCompleted", "on-rollout-completed"),
    ("RolloutAborted", "on-rollout-aborted"),
    ("ScalingReplicaSet", "on-scaling-replica-set"),
    ("AnalysisRunRunning", "on-analysis-run-running"),
    ("AnalysisRunError", "on-analysis-run-error"),
    ("AnalysisRunFailed", "on-analysis-run-failed"),
])
def test_argo_reason_to_trigger_rule_covers_the_catalogue(reason, trigger):
    assert trigger_for_reason(reason) == trigger and trigger in BUILTIN_TRIGGERS


def test_analysis_status_change_maps_to_the_status_trigger():
    message = "Step Analysis Run 'r-1' Status New: 'Failed' Previous: 'Running'"
    assert event_trigger("AnalysisRunStatusChange", message) == "on-analysis-run-failed"
    assert event_trigger("AnalysisRunStatusChange", message.replace("'Failed'", "'Running'", 1)) == "on-analysis-run-running"


def test_subscriptions_annotation_forms():
    subs, errors = parse_subscriptions({
        "notifications.argoproj.io/subscribe.on-rollout-completed.slack": "deployments; releases",
        "notifications.argoproj.io/subscribe.on-rollout-aborted.hook": "",
        "notifications.argoproj.io/subscribe.slack": "defaults",
        "notifications.argoproj.io/subscriptions": "- trigger: [on-rollout-paused, on-rollout-updated]\n  destinations:\n  - service: slack\n    recipients: [a]\n",
        "other": "x",
    })
    assert not errors
    got = {(s.trigger, s.service, s.recipient) for s in expand_defaults(subs, ["on-rollout-updated"], {})}
    assert got == {("on-rollout-completed", "slack", "deployments"), ("on-rollout-completed", "slack", "releases"),
                   ("on-rollout-aborted", "hook", ""), ("on-rollout-updated", "slack", "defaults"),
                   ("on-rollout-paused", "slack", "a"), ("on-rollout-updated", "slack", "a")}


def test_config_services_and_secrets_never_resolved_before_sending():
    config, findings = parse_config({
        "service.slack": "token: $slack-token\n",
        "service.webhook.jenkins": "url: https://ci.example.com/build?token=$ci-token\nbasicAuth:\n  username: bot\n  password: $ci-pass\n",
        "service.teams": "recipientUrls: {}\n",
        "service.slakc": "token: x\n",
        "defaultTriggers": "- on-rollout-completed\n",
    }, origin="cm")
    assert set(config.services) == {"slack", "jenkins"} and config.services["jenkins"].type == "webhook"
    assert config.services["slack"].options == {"token": "$slack-token"}
    messages = " | ".join(f.message for f in findings)
    assert "'teams' is not implemented" in messages and "unknown notification service type 'slakc'" in messages
    assert "did you mean 'slack'" in " ".join(f.hint for f in findings)
    secrets = secret_values({"data": {"ci-token": "czNjcjN0"}, "stringData": {"ci-pass": "pw", "slack-token": "xoxb"}})
    resolved = resolve(config.services["jenkins"].options, secrets)
    assert resolved["url"] == "https://ci.example.com/build?token=s3cr3t" and resolved["basicAuth"]["password"] == "pw"
    with pytest.raises(MissingSecret, match=r"\$slack-token"):
        resolve(config.services["slack"].options, {})


def _plan(status="Healthy", events=(), state=None, image="app:1"):
    rollout = json.loads(json.dumps(ROLLOUT))
    rollout["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return rollout, SimpleNamespace(state=state or RolloutState(revision=2, step_index=1), status=status, message="", view={},
                                    events=list(events))


NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_enqueue_event_trigger_once_and_condition_trigger_when_it_becomes_true():
    config, findings = parse_config({
        "trigger.on-healthy": "- when: rollout.status.phase == 'Healthy'\n  send: [rollout-completed]\n",
        "trigger.on-rollout-aborted": "- when: rollout.spec.replicas > 10\n  send: [rollout-aborted]\n",
    }, origin="cm")
    assert not findings
    annotations = {"notifications.argoproj.io/subscribe.on-healthy.hook": "", "notifications.argoproj.io/subscribe.on-rollout-completed.hook": "",
                   "notifications.argoproj.io/subscribe.on-rollout-aborted.hook": ""}
    rollout, plan = _plan(events=[Event("RolloutCompleted", "done"), Event("RolloutAborted", "x", "Warning")])
    rollout["metadata"]["annotations"] = annotations
    added = ledger.enqueue(rollout, plan, config, NOW)
    # completed (event), on-healthy (condition); aborted's `when` does not hold (5 replicas)
    assert sorted(e["trigger"] for e in added) == ["on-healthy", "on-rollout-completed"]
    assert added[0]["notification"]["message"] == "Rollout mock-server has been completed."
    # the next run: same state, no events: nothing new; Progressing then Healthy again: fires again
    state = plan.state
    for minute, (status, fires) in enumerate((("Healthy", 0), ("Progressing", 0), ("Healthy", 1)), start=1):
        rollout2, plan2 = _plan(status=status, state=state.copy())
        rollout2["metadata"]["annotations"] = annotations
        assert len(ledger.enqueue(rollout2, plan2, config, NOW + timedelta(minutes=minute))) == fires
        state = plan2.state


def test_once_per_keeps_one_notification_per_value_even_when_the_condition_flaps():
    config, _ = parse_config({"trigger.on-healthy": "- when: rollout.status.phase == 'Healthy'\n  oncePer: rollout.spec.template.spec.containers[0].image\n  send: [rollout-completed]\n"}, origin="cm")
    state = RolloutState(revision=1)
    sent = []
    for minute, (status, image) in enumerate((("Healthy", "app:1"), ("Progressing", "app:1"), ("Healthy", "app:1"), ("Healthy", "app:2"), ("Healthy", "app:2"))):
        rollout, plan = _plan(status=status, state=state.copy(), image=image)
        rollout["metadata"]["annotations"] = {"notifications.argoproj.io/subscribe.on-healthy.hook": ""}
        sent += ledger.enqueue(rollout, plan, config, NOW + timedelta(minutes=minute))
        state = plan.state
    assert len(sent) == 2


def test_backoff_and_max_age_bookkeeping():
    book = ledger.empty()
    book["pending"] = [{"id": "a", "createdAt": "2026-01-01T00:00:00Z", "nextAttemptAt": "2026-01-01T00:00:00Z"}]
    assert [e["id"] for e in ledger.due(book, NOW)] == ["a"]
    ledger.mark_failed(book, "a", "down", NOW)
    ledger.mark_failed(book, "a", "down", NOW)
    assert book["pending"][0]["nextAttemptAt"] == "2026-01-01T00:01:00Z" and ledger.due(book, NOW) == []
    assert ledger.too_old(book["pending"][0], NOW + timedelta(hours=25), 24 * 3600)
    ledger.mark_sent(book, "a")
    assert book["pending"] == [] and book["sent"] == ["a"]


class _Slow(BaseHTTPRequestHandler):
    mode = "slow"

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.mode == "slow":
            time.sleep(1.5)
        self.send_response(200)
        self.end_headers()
        if self.mode == "huge":
            for _ in range(1000):
                self.wfile.write(b"x" * 65536)
        if self.mode == "drip":
            for _ in range(30):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("mode", ["slow", "huge", "drip"])
def test_each_attempt_is_bounded_in_time_and_size(mode):
    handler = type("Handler", (_Slow,), {"mode": mode})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    http = Http(read_timeout=0.5, attempt_seconds=1.0, max_response_bytes=1024)
    url = f"http://127.0.0.1:{server.server_address[1]}/hook?token=secret"
    try:
        if mode == "huge":
            answer = http.request("POST", url, data=b"{}")
            assert answer.status == 200 and answer.truncated and len(answer.body) == 1024
        else:
            with pytest.raises(DeliveryError) as err:
                http.request("POST", url, data=b"{}")
            assert "secret" not in str(err.value) and "/hook" not in str(err.value)
    finally:
        http.close()
        server.shutdown()
        server.server_close()
