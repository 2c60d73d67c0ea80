"""The simulated kubelet for Jobs: when a Job on the embedded cluster succeeds or fails. Pure.

The embedded cluster never runs a Job's command on this machine. It decides by this rule:

1. An override in `DIR/kubelet.yaml`, under `jobs:`, keyed by a shell glob on the Job's name
   (first match in file order wins):

       jobs:
         "*.smoke-test.*": Failed                        # outcome only
         "*.load-test.*": {result: Succeeded, afterSeconds: 120}
         "*": {afterSeconds: 5}                          # every Job takes 5 s

   `result` is Succeeded, Failed or Running (never finishes); `afterSeconds` (default 0) is how
   long after the Job's creationTimestamp, in the run's `now`, it finishes.
2. Otherwise the containers' command decides, as seed 001's Jobs do: when the last element of a
   container's `command` + `args` is a shell script ending in `exit N` (`sh -c "exit 1"`), the
   container exits N; any other container exits 0. The Job fails if a container exits non-zero.
3. A Job with `spec.activeDeadlineSeconds` still running past it fails (DeadlineExceeded).

A finished Job has the status a real Job controller writes: `succeeded`/`failed` counts,
`startTime`, `completionTime` and a `Complete` or `Failed` condition.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from reconciler.timestamps import iso as _iso
from reconciler.timestamps import parse_iso as _parse

_EXIT = re.compile(r"(?:^|[;&|\s])exit\s+(\d+)\s*;?\s*$")
RESULTS = ("Succeeded", "Failed", "Running")



def container_exit_code(container: Mapping) -> int:
    words = [str(w) for w in list(container.get("command") or []) + list(container.get("args") or [])]
    if not words:
        return 0
    match = _EXIT.search(words[-1].strip())
    return int(match.group(1)) if match else 0


def _override(name: str, config: Mapping | None) -> dict:
    rules = (config or {}).get("jobs") or {}
    if not isinstance(rules, Mapping):
        return {}
    for pattern, rule in rules.items():
        if fnmatchcase(name, str(pattern)):
            if isinstance(rule, str):
                return {"result": rule}
            return dict(rule or {})
    return {}


def decide(job: Mapping, config: Mapping | None) -> tuple[str, float]:
    """(result, afterSeconds) for a Job: result is Succeeded, Failed or Running."""
    name = str((job.get("metadata") or {}).get("name", ""))
    rule = _override(name, config)
    result = rule.get("result")
    if result not in RESULTS:
        containers = ((((job.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")) or []
        result = "Failed" if any(container_exit_code(c) != 0 for c in containers) else "Succeeded"
    return str(result), float(rule.get("afterSeconds") or 0)


def simulate_job(job: dict, config: dict | None, now: datetime) -> dict:
    """The Job with the status the simulated Job controller gives it at `now`."""
    out = copy.deepcopy(job)
    spec = out.get("spec") or {}
    created = _parse((out.get("metadata") or {}).get("creationTimestamp")) or now
    result, after = decide(out, config)
    status = {"startTime": _iso(created)}
    deadline = spec.get("activeDeadlineSeconds")
    finish_at = created + timedelta(seconds=after)
    if result == "Running" or now < finish_at:
        if deadline is not None and now >= created + timedelta(seconds=float(deadline)):
            result, finish_at, reason = "Failed", created + timedelta(seconds=float(deadline)), "DeadlineExceeded"
        else:
            status["active"] = 1
            out["status"] = status
            return out
    else:
        reason = "BackoffLimitExceeded"
    if result == "Succeeded":
        status["completionTime"] = _iso(finish_at)
        status["succeeded"] = 1
        status["conditions"] = [{"type": "Complete", "status": "True", "lastTransitionTime": _iso(finish_at)}]
    else:
        # the pod was retried backoffLimit times (seed 001 shows two failed pods for backoffLimit: 1)
        status["failed"] = int(spec.get("backoffLimit", 6)) + 1 if reason == "BackoffLimitExceeded" else 1
        message = "Job has reached the specified backoff limit" if reason == "BackoffLimitExceeded" else "Job was active longer than specified deadline"
        status["conditions"] = [{"type": "Failed", "status": "True", "reason": reason, "message": message, "lastTransitionTime": _iso(finish_at)}]
    out["status"] = status
    return out
