"""Web: an HTTP request whose JSON answer is the measured value (Argo's web provider).

    provider:
      web:
        url: "http://metrics.example/api/{{args.service}}/health"
        method: GET                      # GET (default), POST, PUT
        headers: [{key: Authorization, value: "Bearer {{args.token}}"}]
        body: '{"q": 1}'                 # or jsonBody: {q: 1} (sent as JSON)
        timeoutSeconds: 10               # default 10: bounds the whole call, body included
        jsonPath: "{$.data.ok}"          # default: the whole document
        insecure: false

`jsonPath` is a JSONPath (Kubernetes-style braces are accepted and removed) evaluated with
jsonpath-ng. One match gives `result` as the JSON value (number, string, bool, object, list);
several matches give a list. A non-2xx status, a body that is not JSON, or a path that matches
nothing is an Error measurement, and so is an answer that takes longer than timeoutSeconds or is
larger than 1 MiB (reconciler/analysis/providers/http.py): a slow or endless server never hangs a run.
"""

from __future__ import annotations

import json

from reconciler.analysis.jsonpath import compile_json_path
from reconciler.analysis.measurement import Measurement
from reconciler.analysis.providers.base import ProviderContext, assess_result, errored, finished, header_dict
from reconciler.analysis.providers.http import ProviderHTTPError, bounded_request

DEFAULT_TIMEOUT_SECONDS = 10.0


def _timeout(config: dict) -> float:
    """timeoutSeconds bounds the whole call (connect, headers and body), not each socket read."""
    try:
        seconds = float(config.get("timeoutSeconds") or DEFAULT_TIMEOUT_SECONDS)
    except (TypeError, ValueError):
        return DEFAULT_TIMEOUT_SECONDS
    return seconds if 0 < seconds < float("inf") else DEFAULT_TIMEOUT_SECONDS


class WebProvider:
    key = "web"

    def run(self, metric: dict, ctx: ProviderContext) -> Measurement:
        config = (metric.get("provider") or {}).get("web") or {}
        url = str(config.get("url") or "")
        if not url:
            return errored(metric, ctx, "web provider needs a url")
        method = str(config.get("method") or "GET").upper()
        if method not in ("GET", "POST", "PUT"):
            return errored(metric, ctx, f"web provider method {method} is not supported (GET, POST, PUT)")
        headers = header_dict(config.get("headers"))
        kwargs = {}
        if config.get("jsonBody") is not None:
            kwargs["data"] = json.dumps(config["jsonBody"])
            headers.setdefault("Content-Type", "application/json")
        elif config.get("body") is not None:
            kwargs["data"] = str(config["body"])
        try:
            path = compile_json_path(str(config.get("jsonPath") or ""))
        except Exception as err:  # jsonpath-ng raises its own lexer/parser exceptions
            return errored(metric, ctx, f"invalid jsonPath {config.get('jsonPath')!r}: {err}")
        session = ctx.http
        if session is None:
            import requests

            session = requests.Session()
        try:
            status, body = bounded_request(
                session, method, url, headers=headers, timeout=_timeout(config),
                verify=not config.get("insecure", False), **kwargs,
            )
        except ProviderHTTPError as err:
            return errored(metric, ctx, f"web request failed: {err}")
        if status // 100 != 2:
            return errored(metric, ctx, f"received non 2xx response code: {status}")
        try:
            document = json.loads(body)
        except ValueError:
            return errored(metric, ctx, "could not parse JSON body")
        matches = [m.value for m in path.find(document)]
        if not matches:
            return errored(metric, ctx, f"could not find JSONPath {config.get('jsonPath')!r} in the response")
        result = matches[0] if len(matches) == 1 else matches
        phase, message = assess_result(metric, result)
        return finished(metric, ctx, phase, value=json.dumps(result, separators=(",", ":")), message=message)

    def resume(self, metric: dict, measurement: dict, ctx: ProviderContext) -> Measurement:
        return Measurement.from_dict(str(metric.get("name")), measurement, replaces_pending=True)

    def terminate(self, metric: dict, measurement: dict, ctx: ProviderContext) -> Measurement:
        return Measurement.from_dict(str(metric.get("name")), measurement, replaces_pending=True)
