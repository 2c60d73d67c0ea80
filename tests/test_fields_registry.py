"""The field registry (reconciler/fields.py): nothing of Argo's spec is silently ignored (issue 19).

- Every field path of the CRD schemas (../shared/reference/crds and the generated schemas/) is
  acted on or flagged, and every registry entry names a path of the schema.
- An entry marked implemented names a field the engine / analysis code reads.
- validate warns once per flagged field per manifest at its line, exit 0; --strict makes it exit 1;
  run names the fields in the rollout's message, and skips the rollout with --strict.
- A router the reconciler does not implement (ALB, SMI) holds the rollout before any scale or
  weight change: no "set canary weight", no weight claimed.
- docs/fields.md is what `reconciler fields -o markdown` prints; README's counts are the registry's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reconciler import fields
from tests.backends import LocalBackend
from tests.fields_cli import CliRollout

ROOT = Path(__file__).resolve().parent.parent
CRDS = ROOT.parent / "shared" / "reference" / "crds"
SCHEMAS = {"Rollout": "rollout", "AnalysisTemplate": "analysistemplate", "ClusterAnalysisTemplate": "clusteranalysistemplate",
           "Experiment": "experiment"}


def schema_paths(schema: dict, path: str = "") -> list[str]:
    out = [path]
    for key, sub in (schema.get("properties") or {}).items():
        out += schema_paths(sub, f"{path}.{key}" if path else key)
    if isinstance(schema.get("items"), dict):
        out += schema_paths(schema["items"], path + "[]")
    if isinstance(schema.get("additionalProperties"), dict):
        out += schema_paths(schema["additionalProperties"], path + ".*")
    return out


def crd_schemas() -> dict[str, dict]:
    found = {}
    for file in sorted(CRDS.glob("argo-rollouts-*.yaml")):
        crd = yaml.safe_load(file.read_text(encoding="utf-8"))
        kind = crd["spec"]["names"]["kind"]
        if kind in SCHEMAS:
            found[kind] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert set(found) == set(SCHEMAS), f"CRDs missing from {CRDS}: {set(SCHEMAS) - set(found)}"
    return found


def sources() -> list[tuple[str, str, dict]]:
    out = [("crd", kind, schema) for kind, schema in crd_schemas().items()]
    out += [("schemas/", kind, json.loads((ROOT / "schemas" / f"{name}.json").read_text())) for kind, name in SCHEMAS.items()]
    return out


@pytest.mark.parametrize("origin,kind,schema", sources(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_schema_path_is_acted_on_or_flagged(origin, kind, schema):
    paths = schema_paths(schema)
    assert len(paths) > 50
    missing = [p for p in paths if fields.entry_for(kind, p) is None]
    assert not missing, f"{kind} ({origin}): field paths in neither list of reconciler/fields.py: {missing}"
    stale = [e.path for e in fields.REGISTRY[fields.KINDS[kind]] if e.path not in set(paths)]
    assert not stale, f"{kind} ({origin}): registry entries naming no schema path: {stale}"


def test_the_walk_would_catch_a_new_field():
    schema = crd_schemas()["Rollout"]
    schema["properties"]["spec"]["properties"]["strategy"]["properties"]["canary"]["properties"]["brandNew"] = {"type": "string"}
    assert fields.entry_for("Rollout", "spec.strategy.canary.brandNew") is None
    assert "spec.strategy.canary.brandNew" in schema_paths(schema)


_CODE = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "reconciler").rglob("*.py")
                  if "validation" not in p.parts and p.name != "fields.py" and "commands" not in p.parts)
_GENERIC = {"", "apiVersion", "kind", "metadata", "spec", "status", "name"}


def test_every_implemented_field_is_read_by_the_engine_or_analysis_code():
    unread = []
    for group, entries in fields.REGISTRY.items():
        for entry in entries:
            key = entry.path.rsplit(".", 1)[-1].removesuffix("[]")
            if not entry.implemented or key in _GENERIC:
                continue
            if f'"{key}"' not in _CODE and f"'{key}'" not in _CODE:
                unread.append(f"{group}: {entry.path}")
    assert not unread, f"marked implemented, but no code outside validation names the field: {unread}"


# Flagged keys the code legitimately names for another field of the same name (canary.maxUnavailable,
# the analysis templates' dryRun / measurementRetention / analysisRunMetadata, the step kind "plugin", the webhook
# notification's basicAuth, ...).
_SHARED_NAMES = {"maxUnavailable", "dryRun", "measurementRetention", "analysisRunMetadata", "scaleDownDelaySeconds", "plugin",
                 "plugins", "pingPong", "authentication", "sigv4", "basicAuth", "templates", "alb", "smi", "nginx", "ambassador", "apisix",
                 "appMesh", "traefik"}


def test_a_flagged_field_is_not_read_by_the_engine():
    """The other way round: a field someone implemented is no longer flagged (the warning would be false)."""
    read = []
    for group, entries in fields.REGISTRY.items():
        for entry in entries:
            key = entry.path.rsplit(".", 1)[-1].removesuffix("[]")
            if entry.implemented or key in _SHARED_NAMES:
                continue
            if f'"{key}"' in _CODE or f"'{key}'" in _CODE:
                read.append(f"{group}: {entry.path}")
    assert not read, f"flagged in reconciler/fields.py, but the code reads a field of that name: {read}"


def test_counts():
    counts = fields.counts()
    assert counts["implemented"] > 100 and counts["flagged"] > 30
    assert counts == {k: sum(fields.counts(g)[k] for g in fields.REGISTRY) for k in counts}


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_fields_command_prints_the_registry_and_docs_are_current():
    done = cli("fields", "-o", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["counts"] == fields.counts()
    flagged = {f["path"] for f in data["kinds"]["Rollout"]["flagged"]}
    assert {"spec.analysis.successfulRunHistoryLimit", "spec.strategy.canary.trafficRouting.alb", "spec.strategy.canary.pingPong"} <= flagged
    implemented = {f["path"] for f in data["kinds"]["Rollout"]["implemented"]}
    assert {"spec.rollbackWindow", "spec.strategy.canary.scaleDownDelayRevisionLimit", "spec.strategy.blueGreen.scaleDownDelayRevisionLimit"} <= implemented
    text = cli("fields")
    assert text.returncode == 0 and text.stdout.startswith(f"fields: {data['counts']['implemented']} implemented, "
                                                           f"{data['counts']['flagged']} flagged")
    assert cli("fields", "-o", "xml").returncode == 2
    markdown = cli("fields", "-o", "markdown").stdout
    assert (ROOT / "docs" / "fields.md").read_text(encoding="utf-8") == markdown, \
        "docs/fields.md is stale: python -m reconciler fields -o markdown > docs/fields.md"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"{data['counts']['implemented']} implemented, {data['counts']['flagged']} flagged" in readme


def rollout(spec_extra: dict, canary: dict) -> dict:
    spec = {"replicas": 2, "selector": {"matchLabels": {"app": "app"}},
            "template": {"metadata": {"labels": {"app": "app"}}, "spec": {"containers": [{"name": "app", "image": "app:1"}]}},
            "strategy": {"canary": canary}, **spec_extra}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "app", "namespace": "default"}, "spec": spec}


FLAGGED_SPEC = {"analysis": {"successfulRunHistoryLimit": 2, "unsuccessfulRunHistoryLimit": 3}}
FLAGGED_CANARY = {"steps": [{"setWeight": 50}, {"plugin": {"name": "a"}}, {"pause": {}}, {"plugin": {"name": "b"}}]}


def write(tmp_path: Path, *docs: dict) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    (repo / "rollout.yaml").write_text(yaml.safe_dump_all(list(docs), sort_keys=False))
    return repo


def test_validate_warns_at_each_flagged_field_once_and_strict_refuses(tmp_path):
    repo = write(tmp_path, rollout(FLAGGED_SPEC, FLAGGED_CANARY))
    done = cli("validate", str(repo), "-o", "json")
    assert done.returncode == 0, done.stdout
    report = json.loads(done.stdout)
    found = {f["path"]: f for f in report["findings"] if f["rule"] == "field-not-implemented"}
    assert set(found) == {"spec.analysis.unsuccessfulRunHistoryLimit", "spec.analysis.successfulRunHistoryLimit",
                          "spec.strategy.canary.steps[1].plugin"}
    assert all(f["severity"] == "warning" for f in found.values())
    lines = (repo / "rollout.yaml").read_text().splitlines()
    limit = found["spec.analysis.unsuccessfulRunHistoryLimit"]
    assert lines[limit["line"] - 1].strip().startswith("unsuccessfulRunHistoryLimit:")
    assert "the last 5 unsuccessful AnalysisRuns are kept" in limit["message"]
    text = cli("validate", str(repo))
    assert re.search(r"rollout\.yaml:\d+:\d+  warning  spec\.analysis\.unsuccessfulRunHistoryLimit: the reconciler does not act on this field", text.stdout)
    strict = cli("validate", str(repo), "--strict", "-o", "json")
    assert strict.returncode == 1
    assert json.loads(strict.stdout)["errors"] == 3


def test_templates_and_experiments_are_checked_too(tmp_path):
    template = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate", "metadata": {"name": "t", "namespace": "default"},
                "spec": {"metrics": [{"name": "m", "consecutiveSuccessLimit": 3, "provider": {"web": {"url": "http://x/", "jsonPath": "{$.ok}"}},
                                      "successCondition": "result == true"}]}}
    repo = write(tmp_path, template)
    report = json.loads(cli("validate", str(repo), "-o", "json").stdout)
    assert [f["path"] for f in report["findings"] if f["rule"] == "field-not-implemented"] == ["spec.metrics[0].consecutiveSuccessLimit"]


def test_run_names_the_flagged_fields_in_the_message_and_strict_skips(tmp_path):
    app = CliRollout(tmp_path, LocalBackend(tmp_path / "cluster"), canary={"steps": [{"setWeight": 50}, {"pause": {}}]},
                     spec={"analysis": {"successfulRunHistoryLimit": 2}})
    done = app.run(0)
    assert "not acted on: spec.analysis.successfulRunHistoryLimit" in done.stdout
    assert "warning: spec.analysis.successfulRunHistoryLimit" in done.stdout + done.stderr
    view = app.view(1)
    assert view["status"] == "Healthy" and view["message"].startswith("not acted on: spec.analysis.successfulRunHistoryLimit"), view
    other = CliRollout(tmp_path / "strict", LocalBackend(tmp_path / "strict" / "cluster"), canary={"steps": [{"setWeight": 50}]},
                       spec={"analysis": {"successfulRunHistoryLimit": 2}})
    from tests.backends import cli as backend_cli
    from tests.fields_cli import at

    refused = backend_cli(other.backend, "run", str(other.repo), "--strict", now=at(0), check=None)
    assert refused.returncode == 1
    assert "invalid" in refused.stdout and "nothing applied" in refused.stdout
    assert other.replicasets(0) == {}


@pytest.mark.parametrize("router", [
    {"alb": {"ingress": "app-ingress", "servicePort": 80}},
    {"smi": {"rootService": "app-root", "trafficSplitName": "app-split"}},
], ids=["alb", "smi"])
def test_an_unimplemented_router_holds_before_any_weight_or_scale(tmp_path, router):
    canary = {"canaryService": "app-canary", "stableService": "app-stable", "trafficRouting": router,
              "steps": [{"setWeight": 10}, {"pause": {"duration": 10}}, {"setWeight": 20}, {"pause": {}}]}
    app = CliRollout(tmp_path, LocalBackend(tmp_path / "cluster"), canary=canary)
    validated = cli("validate", str(app.repo), "-o", "json")
    assert validated.returncode == 0
    name = next(iter(router))
    assert any(f["path"] == f"spec.strategy.canary.trafficRouting.{name}" and f["severity"] == "warning"
               for f in json.loads(validated.stdout)["findings"])
    app.run(0)
    app.set_image("app:2")
    outputs = [app.run(t) for t in (10, 20, 30, 40)]
    for done in outputs:
        assert "set canary weight" not in done.stdout + done.stderr
        assert "TrafficRoutingNotSupported" in done.stdout
    view = app.view(40)
    assert view["status"] == "Paused" and "is not implemented" in view["message"], view
    assert view["actualWeight"] in (None, 0), view  # no weight is claimed
    assert app.pods(40) == {}  # held before anything is scaled: no ReplicaSet at all
