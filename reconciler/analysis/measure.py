"""The I/O side of analysis: take the measurements `run.due_measurements` asked for.

    requests = run.due_measurements(run_state, now)                          # pure
    measurements = take_measurements(requests, cluster=cluster, now=now)     # here: providers
    run_state = run.apply_measurements(run_state, measurements, now)         # pure

Dispatches each request to the provider named by its metric's `provider` key (one module per
provider under providers/). Secret args (`valueFrom.secretKeyRef` in a template) are read from
the cluster here, substituted into the metric, and redacted from every message; they never reach
the run state. A provider that raises, or an unknown provider, yields an Error measurement, so
one broken metric never stops the others or the run.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import datetime

from reconciler.analysis.measurement import ERROR, Measurement, MeasurementRequest
from reconciler.analysis.providers.base import ProviderContext
from reconciler.analysis.templates import AnalysisResolveError, placeholders, substitute
from reconciler.timestamps import iso


def default_providers() -> dict:
    from reconciler.analysis.providers.job import JobProvider
    from reconciler.analysis.providers.prometheus import PrometheusProvider
    from reconciler.analysis.providers.web import WebProvider

    return {p.key: p for p in (PrometheusProvider(), JobProvider(), WebProvider())}


SUPPORTED_PROVIDERS = ("job", "prometheus", "web")


def provider_key(metric: dict) -> str:
    keys = [k for k, v in (metric.get("provider") or {}).items() if v is not None]
    return keys[0] if len(keys) == 1 else ""


def _secret_values(request: MeasurementRequest, cluster) -> dict[str, str]:
    values = {}
    used = placeholders(request.metric)
    for arg, ref in (request.secret_args or {}).items():
        if arg not in used:
            continue  # only read the Secrets this metric needs
        if cluster is None:
            raise AnalysisResolveError(f"args.{arg} comes from a Secret, and no cluster is available to read it")
        secret = cluster.get("Secret", request.namespace, str(ref.get("name")))
        if secret is None:
            raise AnalysisResolveError(f"Secret {ref.get('name')!r} (for args.{arg}) not found in namespace {request.namespace!r}")
        data = secret.get("data") or {}
        key = str(ref.get("key"))
        if key in data:
            values[arg] = base64.b64decode(str(data[key])).decode("utf-8")
        elif key in (secret.get("stringData") or {}):
            values[arg] = str(secret["stringData"][key])
        else:
            raise AnalysisResolveError(f"key {key!r} does not exist in Secret {ref.get('name')!r}")
    return values


def _error(request: MeasurementRequest, now: datetime, message: str) -> Measurement:
    pending = request.pending or {}
    return Measurement(
        metric=request.metric_name, phase=ERROR, started_at=pending.get("startedAt") or iso(now), finished_at=iso(now),
        message=message, metadata=dict(pending.get("metadata") or {}), replaces_pending=request.action != "start",
    )


def take_measurements(
    requests: Iterable[MeasurementRequest],
    *,
    cluster=None,
    now: datetime,
    http=None,
    providers: dict | None = None,
    owners: dict | None = None,
    deadline=None,
) -> list[Measurement]:
    """One Measurement per request, in order; fewer when `deadline` (run --timeout) passes first. `http` is a requests.Session (shared, so connections are
    reused across metrics); `owners` maps a rollout name to the ownerReference for Jobs."""
    providers = providers if providers is not None else default_providers()
    out = []
    cache: dict = {}
    for request in requests:
        if deadline is not None and deadline.expired():
            break  # the caller stops before recording; a measurement not taken is taken next run
        ctx = ProviderContext(
            run=request.run, namespace=request.namespace, run_uid=request.run_uid, rollout=request.rollout,
            index=request.index, now=now, cluster=cluster, http=http, owner=(owners or {}).get(request.rollout), cache=cache,
        )
        try:
            secrets = _secret_values(request, cluster)
            ctx.secrets = sorted(secrets.values(), key=len, reverse=True)
            metric = substitute(request.metric, secrets) if secrets else request.metric
        except AnalysisResolveError as err:
            out.append(_error(request, now, ctx.redact(f"Unable to resolve metric arguments: {err.message}")))
            continue
        key = provider_key(metric)
        provider = providers.get(key)
        if provider is None:
            out.append(_error(request, now, f"provider {key or '(none)'!r} is not supported; supported: {', '.join(SUPPORTED_PROVIDERS)}"))
            continue
        try:
            if request.action == "start":
                measurement = provider.run(metric, ctx)
            elif request.action == "resume":
                measurement = provider.resume(metric, request.pending or {}, ctx)
            else:
                measurement = provider.terminate(metric, request.pending or {}, ctx)
        except Exception as err:  # a provider bug or an unexpected backend error: an Error measurement
            measurement = _error(request, now, ctx.redact(f"{key} provider failed: {type(err).__name__}: {err}"))
        measurement.metric = request.metric_name
        measurement.replaces_pending = request.action != "start"
        measurement.message = ctx.redact(measurement.message or "")
        measurement.value = ctx.redact(measurement.value or "")  # a server may echo a credential back
        out.append(measurement)
    return out


def measure_runs(runs: dict[str, dict], *, cluster=None, now: datetime, http=None, providers: dict | None = None, owners: dict | None = None) -> dict[str, list[dict]]:
    """The observe stage's call: for every run (keyed by name, as in `RolloutState.analysis`),
    take what is due and return the measurements as plain dicts (printable, storable), keyed by
    run name. The planner hands them back to `run.apply_all`."""
    from reconciler.analysis.schedule import due_measurements

    requests = [(name, request) for name, state in runs.items() for request in due_measurements(state, now)]
    taken = take_measurements([r for _, r in requests], cluster=cluster, now=now, http=http, providers=providers, owners=owners)
    out: dict[str, list[dict]] = {}
    for (name, _), measurement in zip(requests, taken):
        out.setdefault(name, []).append(measurement.as_record())
    return out
