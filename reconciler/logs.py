"""Logging for runs: readable text on a terminal, JSON lines otherwise (CronJob, Actions).

Code logs with `logging.getLogger("reconciler")` and passes structured fields in `extra=`
(rollout, namespace, action, reason, ...). At least one line per rollout per run says what it
did and why.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import datetime, timezone

STRUCTURED_FIELDS = ("rollout", "namespace", "action", "reason", "step", "status", "revision", "dry_run")
FORMATS = ("text", "json")
LEVEL_ENV = "RECONCILER_LOG_LEVEL"  # debug, info (default), warning, error

# A last line of defence: nothing that looks like a credential reaches a log line.
_SECRETS = (
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1***"),
    (re.compile(r"(\w+://)[^/@\s:]+:[^/@\s]+@"), r"\1***@"),
    (re.compile(r"(?i)((?:token|password|secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"), r"\1***"),
)


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class JsonLinesFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "msg": redact(record.getMessage()),
        }
        for key in STRUCTURED_FIELDS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        where = ""
        if hasattr(record, "rollout"):
            where = f"{getattr(record, 'namespace', 'default')}/{record.rollout}: "
        text = f"{record.levelname.lower():7} {where}{redact(record.getMessage())}"
        if record.exc_info:
            text += "\n" + redact(self.formatException(record.exc_info))
        return text


def configure_logging(fmt: str | None = None, level: int = logging.INFO, stream=None) -> None:
    """fmt: "json", "text" or None (text on a terminal, JSON lines otherwise). Logs go to stderr.
    The level comes from RECONCILER_LOG_LEVEL when set."""
    stream = stream or sys.stderr
    if fmt is None or fmt == "":
        fmt = "text" if stream.isatty() else "json"
    fmt = fmt.lower()
    if fmt not in FORMATS:
        from reconciler.errors import UsageError

        raise UsageError(f"--log-format {fmt!r} is not a log format", hint="use text or json (default: text on a terminal, json otherwise)")
    level_name = os.environ.get(LEVEL_ENV, "").strip().upper()
    if level_name:
        if level_name not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            from reconciler.errors import UsageError

            raise UsageError(f"{LEVEL_ENV}={level_name.lower()!r} is not a log level", hint="use debug, info, warning or error")
        level = getattr(logging, level_name)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLinesFormatter() if fmt == "json" else TextFormatter())
    logger = logging.getLogger("reconciler")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
