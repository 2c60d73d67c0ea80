"""reconciler/logs.py: JSON lines off a terminal, text on one, structured fields, no secrets."""

from __future__ import annotations

import io
import json
import logging

import pytest

from reconciler.errors import UsageError
from reconciler.logs import configure_logging, redact

log = logging.getLogger("reconciler")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_lines_off_a_terminal_with_structured_fields():
    stream = io.StringIO()
    configure_logging(None, stream=stream)
    log.info("Paused: CanaryPauseStep", extra={"rollout": "web", "namespace": "prod", "action": "apply", "reason": "CanaryPauseStep", "step": 1})
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["msg"] == "Paused: CanaryPauseStep" and entry["level"] == "info" and entry["time"].endswith("Z")
    assert (entry["rollout"], entry["namespace"], entry["action"], entry["step"]) == ("web", "prod", "apply", 1)


def test_text_on_a_terminal():
    stream = Tty()
    configure_logging(None, stream=stream)
    log.warning("lost an event", extra={"rollout": "web", "namespace": "prod"})
    assert stream.getvalue() == "warning prod/web: lost an event\n"


def test_explicit_format_and_bad_values(monkeypatch):
    stream = Tty()
    configure_logging("json", stream=stream)
    log.info("x")
    assert json.loads(stream.getvalue())["msg"] == "x"
    with pytest.raises(UsageError):
        configure_logging("yaml", stream=stream)
    monkeypatch.setenv("RECONCILER_LOG_LEVEL", "warning")
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    log.info("hidden")
    log.warning("shown")
    assert [json.loads(line)["msg"] for line in stream.getvalue().splitlines()] == ["shown"]
    monkeypatch.setenv("RECONCILER_LOG_LEVEL", "loud")
    with pytest.raises(UsageError):
        configure_logging("json", stream=stream)


def test_secrets_never_reach_a_log_line():
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    log.info("clone https://bot:ghp_abcdef123456@github.com/o/r.git with Authorization: Bearer eyJhbGciOi.x.y, token=s3cr3t")
    text = stream.getvalue()
    assert "ghp_abcdef123456" not in text and "eyJhbGciOi" not in text and "s3cr3t" not in text
    assert redact("https://github.com/o/r.git") == "https://github.com/o/r.git"
