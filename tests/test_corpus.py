"""The corpus of real-world Rollout repositories (fixtures/corpus/, documented in fixtures/README.md),
run through the CLI as a user would (in-process, typer's CliRunner): `validate` (warnings only, one
for every field or router the reconciler does not act on, derived from the field registry
reconciler/fields.py), `validate --strict` (those become errors), and runs on the embedded cluster
at fixed times (the repository as committed, then its next revision three times, after a plan): no traceback, no
error, and no weight claimed that no router object shows."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler import fields
from reconciler.cli import app
from reconciler.engine.traffic.base import ROUTER_FIELDS
from reconciler.manifests.loader import load_directory
from tests.conftest import FIXTURES

CORPUS = FIXTURES / "corpus"
REPOS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
T0, T1, T2, T3 = "2026-01-01T00:00:00Z", "2026-01-01T00:01:05Z", "2026-01-01T00:02:10Z", "2026-01-01T00:03:15Z"
NOT_ACTED_ON = ("field-not-implemented", "traffic-router", "experiment-not-implemented")

# The other warnings each repository gets (rule, file), beside the not-acted-on ones.
OTHER_WARNINGS = {
    "router-smi": [("experiment-duration", "rollout.yaml")],
    "app-objects": [("cluster-scoped", "cluster.yaml")] * 3 + [("secret-in-source", "secret.yaml")],
    "kustomize": [("render-first", "base/kustomization.yaml")],
    "helm": [("render-first", "chart/Chart.yaml"), ("render-first", "values-production.yaml")],
}

# Where each rollout is after the last run (T3): a step it cannot reach, or one it should not pass,
# is a change of behaviour to look at (an unimplemented router: held at step 0; spec.paused: step 0).
AT_T3 = {
    "app-objects": {"default/storefront": ("Paused", 1)},
    "bluegreen-metadata": {"default/billing": ("Progressing", None)},
    "canary-lifecycle": {"default/notifier": ("Paused", 1)},
    "canary-zero": {"default/mail-worker": ("Healthy", 2), "default/mailer": ("Progressing", 2)},
    "edge-yaml": {"default/formats": ("Healthy", 0), "shop/web": ("Healthy", None)},
    "experiments": {"default/ranker": ("Progressing", 0)},
    "flagged-fields": {"default/archive": ("Healthy", None), "default/feed": ("Progressing", 1)},
    "helm": {"default/prod-ledger": ("Healthy", None)},
    "istio-header-route": {"default/reviews": ("Paused", 2)},
    "istio-max-weight": {"default/quotes": ("Paused", 1)},
    "istio-mirror": {"default/ratings": ("Paused", 2)},
    "istio-pingpong": {"default/ledger": ("Paused", 0)},
    "istio-subset-metadata": {"default/inventory": ("Progressing", 2)},
    "istio-tls-split": {"default/vault-proxy": ("Paused", 1)},
    "kustomize": {"default/accounts": ("Paused", 1)},
    "notifications": {"default/colors": ("Paused", 1)},
    "paused": {"default/batch-api": ("Paused", 0)},
    **{name: {f"default/{rollout}": ("Paused", 0)} for name, rollout in (
        ("router-alb", "checkout"), ("router-ambassador", "echo"), ("router-apisix", "cart"), ("router-appmesh", "payments"),
        ("router-nginx", "catalog"), ("router-pingpong", "stream"), ("router-plugin-gatewayapi", "profile"), ("router-smi", "orders"),
        ("router-traefik", "search"))},
    "workload-ref": {"default/profile-api": ("Paused", 1)},
}

# What the corpus must cover (issue 19): each of these field paths is set by some repository.
MUST_COVER = [
    *(f"spec.strategy.canary.trafficRouting.{name}" for name in ROUTER_FIELDS),
    "spec.strategy.canary.canaryMetadata", "spec.strategy.canary.stableMetadata",
    "spec.strategy.blueGreen.activeMetadata", "spec.strategy.blueGreen.previewMetadata",
    "spec.strategy.blueGreen.prePromotionAnalysis.analysisRunMetadata", "spec.strategy.canary.analysis.analysisRunMetadata",
    "spec.strategy.canary.antiAffinity", "spec.strategy.blueGreen.antiAffinity",
    "spec.revisionHistoryLimit", "spec.minReadySeconds", "spec.progressDeadlineAbort", "spec.rollbackWindow", "spec.restartAt",
    "spec.paused", "spec.workloadRef", "spec.strategy.canary.pingPong",
    "spec.strategy.canary.scaleDownDelayRevisionLimit", "spec.strategy.blueGreen.scaleDownDelayRevisionLimit",
    "spec.strategy.canary.analysis.dryRun", "spec.strategy.canary.analysis.measurementRetention",
    "spec.strategy.blueGreen.prePromotionAnalysis.dryRun", "spec.strategy.blueGreen.prePromotionAnalysis.measurementRetention",
    "spec.strategy.canary.trafficRouting.managedRoutes", "spec.strategy.canary.trafficRouting.maxTrafficWeight",
    "spec.strategy.canary.steps[].setHeaderRoute", "spec.strategy.canary.steps[].setMirrorRoute",
    "spec.strategy.canary.steps[].setCanaryScale", "spec.strategy.canary.steps[].experiment",
]
MUST_HOLD_KINDS = {"Gateway", "HTTPRoute", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceAccount", "Job",
                   "Secret", "ServiceMonitor", "Namespace", "ClusterRole", "CustomResourceDefinition", "Experiment", "AnalysisTemplate",
                   "Deployment"}


def cli(*args: str):
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"reconciler {' '.join(args)} raised {result.exception!r}\n{result.output}") from result.exception
    assert "Traceback" not in result.output, result.output
    return result


def _paths(obj, path: str = "", concrete: tuple = ()):
    """Every (generic path, concrete path) an object sets, `[]` for list items."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, child in items:
        if child is None:
            continue
        sub = f"{path}[]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))
        if not isinstance(key, int):
            yield sub, (*concrete, key)
        yield from _paths(child, sub, (*concrete, key))


def _dotted(concrete: tuple) -> str:
    return "".join(f"[{k}]" if isinstance(k, int) else (f".{k}" if i else str(k)) for i, k in enumerate(concrete))


def expected_not_acted_on(repo: Path) -> Counter:
    """(rule, file, field path) of every field the registry says is not acted on, once per field per
    object (the first place it is set), not under a flagged field (the registry names it once)."""
    out: Counter = Counter()
    for manifest in load_directory(repo).manifests:
        if manifest.kind not in fields.KINDS:
            continue
        seen: set[str] = set()
        flagged_under: list[tuple] = []
        for generic, concrete in _paths(manifest.obj):
            if any(concrete[:len(p)] == p for p in flagged_under):
                continue
            entry = fields.entry_for(manifest.kind, generic)
            if entry is None or entry.implemented:
                continue
            flagged_under.append(concrete)
            if entry.path in seen:
                continue
            seen.add(entry.path)
            out[(entry.reported_by or "field-not-implemented", manifest.file, _dotted(concrete))] += 1
    return out


def _findings(repo: Path, *flags: str) -> tuple[int, list[dict]]:
    result = cli("validate", str(repo), "-o", "json", *flags)
    return result.exit_code, json.loads(result.stdout)["findings"]


def _relative(finding: dict, repo: Path) -> str:
    return finding["file"].removeprefix(f"{repo}/")


@pytest.mark.parametrize("name", REPOS)
def test_validate_warns_for_every_field_and_router_not_acted_on_and_errs_on_nothing(name):
    repo = CORPUS / name
    code, findings = _findings(repo)
    assert code == 0 and not [f for f in findings if f["severity"] == "error"], findings
    flagged = Counter((f["rule"], _relative(f, repo), f["path"]) for f in findings if f["rule"] in NOT_ACTED_ON)
    assert flagged == expected_not_acted_on(repo)
    for finding in findings:
        if finding["rule"] in NOT_ACTED_ON:  # the message names the field or the router
            last = re.sub(r"\[\d+\]", "", finding["path"]).rsplit(".", 1)[-1]
            assert last in finding["message"] or finding["rule"] == "field-not-implemented", finding
    others = sorted((f["rule"], _relative(f, repo)) for f in findings if f["rule"] not in NOT_ACTED_ON)
    assert others == sorted(OTHER_WARNINGS.get(name, [])) and all(f["severity"] == "warning" for f in findings)

    cron_code, cron = _findings(repo, "--period", "5m")  # as a CronJob every 5 minutes: warnings only still
    assert cron_code == 0 and not [f for f in cron if f["severity"] == "error"], cron

    strict_code, strict = _findings(repo, "--strict")
    strict_errors = Counter((f["rule"], _relative(f, repo), f["path"]) for f in strict if f["severity"] == "error")
    assert strict_errors == flagged and strict_code == (1 if flagged else 0)


def test_every_repository_has_its_expectations():
    assert sorted(AT_T3) == REPOS


def test_the_corpus_covers_every_router_field_and_kind_issue_19_names():
    set_paths: set[str] = set()
    kinds: set[str] = set()
    for name in REPOS:
        for manifest in load_directory(CORPUS / name).manifests:
            kinds.add(manifest.kind)
            if manifest.kind == "Rollout":
                set_paths |= {generic for generic, _ in _paths(manifest.obj)}
    assert [path for path in MUST_COVER if path not in set_paths] == []
    assert MUST_HOLD_KINDS - kinds == set()
    assert (CORPUS / "kustomize" / "base" / "kustomization.yaml").is_file() and (CORPUS / "helm" / "chart" / "values.yaml").is_file()


def _rollouts(repo: Path) -> list[tuple[str, dict]]:
    return [(m.namespace, m.obj) for m in load_directory(repo).manifests if m.kind == "Rollout"]


def _held(rollout: dict) -> bool:
    canary = ((rollout.get("spec") or {}).get("strategy") or {}).get("canary") or {}
    return canary.get("pingPong") is not None or any(
        name != "istio" for name in (canary.get("trafficRouting") or {}) if name in ROUTER_FIELDS)


def _istio(rollout: dict) -> dict | None:
    canary = ((rollout.get("spec") or {}).get("strategy") or {}).get("canary") or {}
    return (canary.get("trafficRouting") or {}).get("istio")


def _vs_canary_weight(cluster_dir: Path, namespace: str, rollout: dict, now: str) -> tuple[int, int]:
    """(the canary's weight, all the weight) as the VirtualService shows them, read back from the cluster:
    the named http routes (all when none is named) and every tls / tcp route that sends to the canary;
    they agree."""
    from reconciler.cluster.local import LocalCluster

    canary = rollout["spec"]["strategy"]["canary"]
    istio = canary["trafficRouting"]["istio"]
    refs = istio.get("virtualServices") or [istio["virtualService"]]
    subset = (istio.get("destinationRule") or {}).get("canarySubsetName")

    def to_canary(entry: dict) -> bool:
        destination = entry.get("destination") or {}
        return destination.get("subset") == subset if subset else destination.get("host") == canary["canaryService"]

    cluster = LocalCluster(cluster_dir, now=datetime.fromisoformat(now.replace("Z", "+00:00")).astimezone(timezone.utc))
    weights = set()
    for ref in refs:
        spec = cluster.get("VirtualService", namespace, ref["name"])["spec"]
        for kind in ("http", "tls", "tcp"):
            for route in spec.get(kind) or []:
                if kind == "http" and ref.get("routes") and route.get("name") not in ref["routes"]:
                    continue
                if any(to_canary(entry) for entry in route["route"]):
                    weights.add((sum(int(entry.get("weight") or 0) for entry in route["route"] if to_canary(entry)),
                                 sum(int(entry.get("weight") or 0) for entry in route["route"])))
    [weights_seen] = weights
    return weights_seen


_ERROR = re.compile(r"^error\b|: error: |; error: |: invalid \(|: not moved: ", re.M)


def assert_no_error(result) -> None:
    assert result.exit_code == 0 and not _ERROR.search(result.output), result.output


_CLAIM = re.compile(r"\bweight (\d+)(?: \(actual (\d+)\))?")


def _claimed(line: str) -> int | None:
    found = _CLAIM.search(line)
    if found is None:
        return None
    return int(found.group(2) if found.group(2) is not None else found.group(1))


@pytest.mark.parametrize("name", REPOS)
def test_runs_apply_without_error_go_no_step_back_and_claim_no_weight_no_router_object_shows(name, tmp_path):
    repo, cluster = tmp_path / "repo", tmp_path / "cluster"
    shutil.copytree(CORPUS / name, repo)
    rollouts = _rollouts(repo)
    steps: dict[str, list] = {}
    at_t3: dict[str, tuple] = {}
    for now in (T0, T1, T2, T3):
        if now == T1:
            for path in repo.rglob("*.y*ml"):  # the next revision, as a commit would bring it
                path.write_text(path.read_text().replace("rollouts-demo:blue", "rollouts-demo:green"))
            assert_no_error(cli("plan", str(repo), "--cluster", f"local:{cluster}", "--now", T1))
        result = cli("run", str(repo), "--cluster", f"local:{cluster}", "--now", now)
        assert_no_error(result)
        if any(_held(rollout) for _, rollout in rollouts):  # (a canary without a router sets its weight by pods)
            assert "set canary weight" not in result.output.lower() and "desiredWeight" not in result.output
        for namespace, rollout in rollouts:
            title = f"{namespace}/{rollout['metadata']['name']}: "
            [line] = [text for text in result.stdout.splitlines() if text.startswith(title) and not text.startswith(f"{title}notification ")]
            got = cli("get", "rollout", rollout["metadata"]["name"], "-n", namespace, "--cluster", f"local:{cluster}", "--now", now, "-o", "json")
            assert got.exit_code == 0, got.output
            view = json.loads(got.stdout)
            if now != T0:  # (the first revision is at its last step at once)
                steps.setdefault(title, []).append(view["step"])
            at_t3[title.removesuffix(": ")] = (view["status"], view["step"])
            if _held(rollout):
                assert view["status"] == "Paused" and "NotSupported" in view["message"], view
                assert view["actualWeight"] in (None, 0) and _claimed(line) in (None, 0), line
                assert all(rs["replicas"] == 0 for rs in view["replicaSets"] if rs["revision"] == view["revision"]), view
            elif _istio(rollout) is not None and view["strategy"] == "Canary":
                live, whole = _vs_canary_weight(cluster, namespace, rollout, now)
                if view["step"] == view["totalSteps"] and view["actualWeight"] == view["setWeight"]:
                    # promoted: every route to the stable Service, which is this revision: all the weight, in the routes' units
                    assert live == 0 and view["actualWeight"] == whole, (view, live, whole)
                else:
                    assert view["actualWeight"] == live, (view, live)
                assert _claimed(line) == view["actualWeight"], (line, view)
    assert at_t3 == AT_T3[name]
    for title, seen in steps.items():  # a rollout never goes back a step on its own
        assert all(a is None or b is None or a <= b for a, b in zip(seen, seen[1:])), (title, seen)


def test_a_set_weight_may_go_up_to_max_traffic_weight(tmp_path):
    """Argo bounds setWeight by trafficRouting.maxTrafficWeight (default 100), not by 100."""
    source = (CORPUS / "istio-subset-metadata" / "rollout.yaml").read_text()
    repo = tmp_path / "repo"
    shutil.copytree(CORPUS / "istio-subset-metadata", repo)
    (repo / "rollout.yaml").write_text(source.replace("setWeight: 500", "setWeight: 1001"))
    code, findings = _findings(repo)
    assert code == 1 and [(f["rule"], f["path"], f["message"]) for f in findings] == [
        ("set-weight", "spec.strategy.canary.steps[2].setWeight", "setWeight 1001 is outside 0..1000")]
