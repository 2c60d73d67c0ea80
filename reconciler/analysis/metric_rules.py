"""dryRun and measurementRetention: rules that name metrics by a regular expression.

As Argo (utils/analysis helpers GetDryRunMetrics, GetMeasurementRetentionMetrics; analysis/analysis.go
reconcileAnalysisRun and garbageCollectMeasurements; tests TestTrimMeasurementHistory,
TestDryRunMetrics...):
- a rule's `metricName` is a regular expression searched in each metric's name (Go's
  regexp.MatchString: unanchored, RE2 syntax, so `success` names `success-rate`; `.*` names all).
  `*` alone (not a valid Go pattern) is taken here as "every metric", as this tool accepted before;
- a rule that names no metric makes the run Error: "dryRun[i]: Rule didn't match any metric
  name(s)" (likewise measurementRetention[i]);
- dryRun: a dry-run metric is measured and shown, but its Failed / Error / Inconclusive result
  never decides the run;
- measurementRetention: a metric keeps its last `limit` measurements (default 10, Argo's
  DefaultMeasurementHistoryLimit); the counts (successful, failed, ...) keep the whole history.
The rules of the templates and of the Rollout's analysis reference are merged (both apply). Pure.
"""

from __future__ import annotations

DEFAULT_MEASUREMENT_LIMIT = 10


class RuleError(ValueError):
    pass


def _matches(pattern: str, name: str) -> bool:
    if pattern == "*":
        return True
    from reconciler.analysis.expr_values import ExprError, regex

    try:
        return regex(pattern).search(name) is not None
    except ExprError:
        return False  # as Go's MatchString with an invalid pattern: no match (then "didn't match")


def matched(rules: list[dict], metric_names: list[str], what: str) -> dict[str, dict]:
    """metric name -> the rule naming it (the last one wins). RuleError when a rule names none."""
    out: dict[str, dict] = {}
    for index, rule in enumerate(rules):
        pattern = str((rule or {}).get("metricName") or "")
        names = [name for name in metric_names if pattern and _matches(pattern, name)]
        if not names:
            raise RuleError(f"{what}[{index}]: Rule didn't match any metric name(s)")
        for name in names:
            out[name] = rule
    return out


def dry_run_metrics(rules: list[dict], metric_names: list[str]) -> list[str]:
    return sorted(matched(rules, metric_names, "dryRun"))


def retention_limits(rules: list[dict], metric_names: list[str]) -> dict[str, int]:
    """metric name -> how many measurements it keeps (only metrics a rule names)."""
    limits = {}
    for name, rule in matched(rules, metric_names, "measurementRetention").items():
        try:
            limits[name] = max(1, int(rule.get("limit")))
        except (TypeError, ValueError):
            limits[name] = DEFAULT_MEASUREMENT_LIMIT
    return limits


def keep(measurements: list, limit: int | None) -> None:
    """Trim a metric's measurement history in place to its newest `limit` (default 10)."""
    del measurements[: -(limit or DEFAULT_MEASUREMENT_LIMIT)]
