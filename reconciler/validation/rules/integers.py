"""Integers Kubernetes would refuse: counts over int32 (`replicas: 1099511627776`), negative
counts, and any integer past int64 anywhere in an object. Python reads YAML integers of any size,
so without this a typo of a few digits would reach the planner as a number no cluster holds."""

from __future__ import annotations

from reconciler.findings import Finding
from reconciler.manifests.model import Manifest

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
ANY = object()  # any list index or key in a pattern

_CANARY = ("spec", "strategy", "canary")
_BLUEGREEN = ("spec", "strategy", "blueGreen")
# Rollout fields that are int32 counts or seconds in Argo's types, never negative.
ROLLOUT_COUNTS = (
    ("spec", "replicas"),
    ("spec", "revisionHistoryLimit"),
    ("spec", "minReadySeconds"),
    ("spec", "progressDeadlineSeconds"),
    (*_CANARY, "steps", ANY, "setWeight"),
    (*_CANARY, "steps", ANY, "pause", "duration"),
    (*_CANARY, "maxSurge"),
    (*_CANARY, "maxUnavailable"),
    (*_CANARY, "scaleDownDelaySeconds"),
    (*_CANARY, "abortScaleDownDelaySeconds"),
    (*_BLUEGREEN, "autoPromotionSeconds"),
    (*_BLUEGREEN, "scaleDownDelaySeconds"),
    (*_BLUEGREEN, "scaleDownDelayRevisionLimit"),
    (*_BLUEGREEN, "previewReplicaCount"),
    (*_BLUEGREEN, "abortScaleDownDelaySeconds"),
)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _walk(value, path=()):
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))


def _matches(path: tuple, pattern: tuple) -> bool:
    return len(path) == len(pattern) and all(p is ANY or p == q for q, p in zip(path, pattern))


def _duration_string(path: tuple, value: str, manifest: Manifest) -> Finding | None:
    from reconciler.durations import parse_duration

    seconds = parse_duration(value)
    if seconds is None:
        return None  # not a duration at all: the strategy rule says so
    if seconds < 0:
        return manifest.finding(path, f"{path[-1]} {value!r} is negative", hint="write a positive duration such as 30s or 5m", rule="integer-range")
    if seconds > INT32_MAX:
        return manifest.finding(path, f"{path[-1]} {value!r} is past what Argo stores ({INT32_MAX} seconds, about 68 years)",
                                hint="check for extra digits; a pause without duration waits for `promote`", rule="integer-range")
    return None


def check(manifest: Manifest, ctx=None) -> list[Finding]:
    findings: list[Finding] = []
    counts = ROLLOUT_COUNTS if manifest.kind == "Rollout" else ()
    for path, value in _walk(manifest.obj):
        if isinstance(value, str) and counts and _matches(path, (*_CANARY, "steps", ANY, "pause", "duration")):
            found = _duration_string(path, value, manifest)
            if found:
                findings.append(found)
            continue
        if not _is_int(value):
            continue
        if any(_matches(path, pattern) for pattern in counts):
            if value < 0:
                findings.append(manifest.finding(path, f"{path[-1]} is {value}: a count or a number of seconds cannot be negative",
                                                 hint="write 0 or a positive number", rule="integer-range"))
            elif value > INT32_MAX:
                findings.append(manifest.finding(path, f"{path[-1]} is {value}, over the largest value Kubernetes stores here "
                                                 f"(int32, {INT32_MAX})", hint="check for extra digits", rule="integer-range"))
        elif abs(value) > INT64_MAX:
            findings.append(manifest.finding(path, f"{path[-1] if path else 'value'} is {value}, past any Kubernetes integer (int64)",
                                             hint="check for extra digits", rule="integer-range"))
    return findings
