"""Prometheus: one instant query over the HTTP API per measurement (Argo's prometheus provider).

    provider:
      prometheus:
        address: http://prometheus.istio-system.svc.cluster.local:9090
        query: sum(rate(...)) / sum(rate(...))
        timeout: 30                      # seconds (default 30)
        insecure: false                  # skip TLS verification
        headers: [{key: Authorization, value: "Bearer {{args.token}}"}]
        authentication:
          oauth2: {tokenUrl: ..., clientId: ..., clientSecret: ..., scopes: [...]}

The query is evaluated at the run's `now` (the `time` parameter), so `--now` previews and tests
see the samples of that moment. Results, as Argo passes them to the conditions:
- scalar -> `result` is a float (NaN stays NaN: `result >= 0.95` is false, `isNaN(result)` true);
- vector -> `result` is a list of floats, one per series (an empty vector is `[]`: `result[0]`
  is an Error measurement, write `len(result) == 0 || result[0] >= 0.95` to accept it);
- any other type (matrix, string) -> Error "Prometheus metric type not supported".
"""

from __future__ import annotations

import json

from reconciler.analysis.measurement import Measurement
from reconciler.analysis.providers.base import (
    ProviderContext,
    assess_result,
    errored,
    finished,
    format_number,
    header_dict,
)
from reconciler.analysis.providers.http import ProviderHTTPError, bounded_request

DEFAULT_TIMEOUT_SECONDS = 30.0


def _session(ctx: ProviderContext):
    if ctx.http is not None:
        return ctx.http
    import requests

    return requests.Session()


def _oauth2_token(config: dict, session, timeout: float) -> str:
    data = {"grant_type": "client_credentials", "client_id": config.get("clientId", ""), "client_secret": config.get("clientSecret", "")}
    scopes = config.get("scopes") or []
    if scopes:
        data["scope"] = " ".join(scopes)
    status, body = bounded_request(session, "POST", config["tokenUrl"], data=data, timeout=timeout)
    if status // 100 != 2:
        raise RuntimeError(f"oauth2 token request failed with status {status}")
    try:
        answer = json.loads(body)
    except ValueError:
        raise RuntimeError("oauth2 token response is not JSON") from None
    token = (answer if isinstance(answer, dict) else {}).get("access_token")
    if not token:
        raise RuntimeError("oauth2 token response has no access_token")
    return str(token)


def _values(result_type: str, result) -> tuple[object, str]:
    if result_type == "scalar":
        value = float(result[1])
        return value, format_number(value)
    if result_type == "vector":
        values = [float(sample["value"][1]) for sample in result or [] if sample]
        return values, "[" + ",".join(format_number(v) for v in values) + "]"
    raise ValueError("Prometheus metric type not supported")


class PrometheusProvider:
    key = "prometheus"

    def run(self, metric: dict, ctx: ProviderContext) -> Measurement:
        config = (metric.get("provider") or {}).get("prometheus") or {}
        address = str(config.get("address") or "").rstrip("/")
        query = str(config.get("query") or "")
        if not address or not query:
            return errored(metric, ctx, "prometheus provider needs address and query")
        try:  # bounds the whole call, body included (providers/http.py)
            timeout = float(config.get("timeout") or DEFAULT_TIMEOUT_SECONDS)
        except (TypeError, ValueError):
            timeout = DEFAULT_TIMEOUT_SECONDS
        session = _session(ctx)
        headers = header_dict(config.get("headers"))
        try:
            auth = config.get("authentication") or {}
            if auth.get("sigv4"):
                return errored(metric, ctx, "prometheus sigv4 authentication is not supported; use headers or oauth2")
            if (auth.get("oauth2") or {}).get("tokenUrl"):
                headers["Authorization"] = "Bearer " + _oauth2_token(auth["oauth2"], session, timeout)
            status, raw = bounded_request(
                session,
                "GET",
                f"{address}/api/v1/query",
                params={"query": query, "time": f"{ctx.now.timestamp():.3f}"},
                headers=headers,
                timeout=timeout,
                verify=not config.get("insecure", False),
            )
        except ProviderHTTPError as err:  # refused, timed out, too large, TLS, DNS: an Error measurement
            return errored(metric, ctx, f"prometheus query failed: {err}")
        except Exception as err:  # the oauth2 token request
            return errored(metric, ctx, f"prometheus query failed: {type(err).__name__}: {err}")
        try:
            body = json.loads(raw)
        except ValueError:
            return errored(metric, ctx, f"prometheus answered {status} without JSON")
        if not isinstance(body, dict):
            return errored(metric, ctx, f"prometheus answered {status} with JSON that is not an object")
        if body.get("status") != "success":
            return errored(metric, ctx, f"prometheus error ({body.get('errorType', status)}): {body.get('error', '')}")
        data = body.get("data") or {}
        try:
            result, shown = _values(str(data.get("resultType")), data.get("result"))
        except (ValueError, TypeError, KeyError, IndexError) as err:
            return errored(metric, ctx, str(err))
        phase, message = assess_result(metric, result)
        return finished(metric, ctx, phase, value=shown, message=message)

    def resume(self, metric: dict, measurement: dict, ctx: ProviderContext) -> Measurement:
        # synchronous provider: there is never an in-flight measurement to resume
        return Measurement.from_dict(str(metric.get("name")), measurement, replaces_pending=True)

    def terminate(self, metric: dict, measurement: dict, ctx: ProviderContext) -> Measurement:
        return Measurement.from_dict(str(metric.get("name")), measurement, replaces_pending=True)
