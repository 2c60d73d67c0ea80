"""The metric-provider interface (Argo-like) and the condition assessment every provider shares.

A provider turns one metric into one `Measurement`:

    run(metric, ctx)                     -> Measurement   start a measurement
    resume(metric, measurement, ctx)     -> Measurement   finish an async one (e.g. a running Job)
    terminate(metric, measurement, ctx)  -> Measurement   stop an in-flight one (the run is over)

`metric` has its `{{args.x}}` placeholders substituted (secrets included). `ctx` carries the
run's identity, the cluster, the run's `now` and an HTTP session. Providers never raise for a
failed measurement: they return phase Error with a message (without secrets).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from reconciler.analysis.expr import ExprError, evaluate_condition
from reconciler.analysis.measurement import ERROR, FAILED, INCONCLUSIVE, SUCCESSFUL, Measurement
from reconciler.timestamps import iso


@dataclass
class ProviderContext:
    run: str
    namespace: str
    run_uid: str
    rollout: str
    index: int  # 1-based number of this measurement of the metric
    now: datetime
    cluster: Any = None  # reconciler.cluster.base.Cluster
    http: Any = None  # a requests.Session (or anything with .request); providers create one if None
    secrets: list[str] = field(default_factory=list)  # values to redact from messages
    owner: dict | None = None  # ownerReference for objects the provider creates (the Rollout), if known
    cache: dict = field(default_factory=dict)  # shared by the requests of one take_measurements call (e.g. Job lists)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "*****")
        return redact_url_credentials(text)


class Provider(Protocol):
    key: str

    def run(self, metric: dict, ctx: ProviderContext) -> Measurement: ...

    def resume(self, metric: dict, measurement: dict, ctx: ProviderContext) -> Measurement: ...

    def terminate(self, metric: dict, measurement: dict, ctx: ProviderContext) -> Measurement: ...


_URL_CREDENTIALS = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")


def redact_url_credentials(text: str) -> str:
    """`https://user:pass@host` -> `https://*****@host` in any message we keep."""
    return _URL_CREDENTIALS.sub(r"\1*****@", text)


def assess_result(metric: dict, result: Any) -> tuple[str, str]:
    """(phase, message) of one measured value, as Argo's evaluate.EvaluateResult decides it:
    no conditions -> Successful; only a success condition -> Failed when it is false; only a
    failure condition -> Successful when it is false; both -> Failed if the failure condition holds,
    Successful if only the success condition holds, Inconclusive when neither does."""
    success_text = metric.get("successCondition") or ""
    failure_text = metric.get("failureCondition") or ""
    try:
        success = evaluate_condition(success_text, result) if success_text else False
        failure = evaluate_condition(failure_text, result) if failure_text else False
    except ExprError as err:
        return ERROR, str(err)
    if not success_text and not failure_text:
        return SUCCESSFUL, ""
    if success_text and not failure_text:
        failure = not success
    elif failure_text and not success_text:
        success = not failure
    if failure:
        return FAILED, ""
    if not success:
        return INCONCLUSIVE, ""
    return SUCCESSFUL, ""


def format_number(value: float) -> str:
    """A float as Go's strconv.FormatFloat(v, 'f', -1, 64) prints it (Argo shows values so)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(float(value))


def finished(metric: dict, ctx: ProviderContext, phase: str, *, value: str = "", message: str = "", metadata: dict | None = None) -> Measurement:
    moment = iso(ctx.now)
    return Measurement(
        metric=str(metric.get("name", "")), phase=phase, started_at=moment, finished_at=moment,
        value=value, message=ctx.redact(message), metadata=dict(metadata or {}),
    )


def errored(metric: dict, ctx: ProviderContext, message: str) -> Measurement:
    return finished(metric, ctx, ERROR, message=message)


def header_dict(headers: list | None) -> dict[str, str]:
    """Argo's `headers: [{key, value}]` as a dict."""
    out = {}
    for header in headers or []:
        if isinstance(header, dict) and header.get("key"):
            out[str(header["key"])] = str(header.get("value", ""))
    return out
