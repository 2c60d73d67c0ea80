"""Logging for runs: readable text on a terminal, JSON lines otherwise (CronJob, Actions).

Code logs with `logging.getLogger("reconciler")` and passes structured fields in `extra=`
(rollout, namespace, action, reason, ...). At least one line per rollout per run says what it
did and why.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

STRUCTURED_FIELDS = ("rollout", "namespace", "action", "reason", "step", "status", "revision", "dry_run")


class JsonLinesFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
        }
        for key in STRUCTURED_FIELDS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        where = ""
        if hasattr(record, "rollout"):
            where = f"{getattr(record, 'namespace', 'default')}/{record.rollout}: "
        return f"{record.levelname.lower():7} {where}{record.getMessage()}"


def configure_logging(fmt: str | None = None, level: int = logging.INFO, stream=None) -> None:
    """fmt: "json", "text" or None (text on a terminal, JSON lines otherwise). Logs go to stderr."""
    stream = stream or sys.stderr
    if fmt is None:
        fmt = "text" if stream.isatty() else "json"
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLinesFormatter() if fmt == "json" else TextFormatter())
    logger = logging.getLogger("reconciler")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
