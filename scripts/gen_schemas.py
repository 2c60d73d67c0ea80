#!/usr/bin/env python3
"""Generate reconciler/schemas/*.json (top-level `schemas/` links there) from the CRDs.

    python3 scripts/gen_schemas.py [--crds ../shared/reference/crds] [--out reconciler/schemas]

Drop a newer CRD file into the CRD directory and run this again. Each output file is a JSON
Schema (draft 7) for one kind, made strict the way Kubernetes behaves: a field the CRD does not
declare is dropped silently by the API server, so we make it an error instead -- except below
`x-kubernetes-preserve-unknown-fields`, where the server keeps anything. `x-kubernetes-int-or-string`
becomes integer-or-string, `nullable` allows null, and the OpenAPI-only formats (int32, double, ...)
are dropped because JSON Schema validators do not know them. Descriptions are dropped to keep the
files small; property names stay, and feed the "did you mean" hints.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CRDS = ROOT.parent / "shared" / "reference" / "crds"
DEFAULT_OUT = ROOT / "reconciler" / "schemas"

ARGO_COMMIT = "9f8d111d8f8e"
# kind -> (CRD file, where the CRD came from)
SOURCES = {
    "Rollout": ("argo-rollouts-rollout-crd.yaml", "github.com/argoproj/argo-rollouts manifests/crds/rollout-crd.yaml"),
    "AnalysisTemplate": (
        "argo-rollouts-analysis-template-crd.yaml",
        "github.com/argoproj/argo-rollouts manifests/crds/analysis-template-crd.yaml",
    ),
    "ClusterAnalysisTemplate": (
        "argo-rollouts-cluster-analysis-template-crd.yaml",
        "github.com/argoproj/argo-rollouts manifests/crds/cluster-analysis-template-crd.yaml",
    ),
    "AnalysisRun": ("argo-rollouts-analysis-run-crd.yaml", "github.com/argoproj/argo-rollouts manifests/crds/analysis-run-crd.yaml"),
    "Experiment": ("argo-rollouts-experiment-crd.yaml", "github.com/argoproj/argo-rollouts manifests/crds/experiment-crd.yaml"),
    "VirtualService": ("istio-networking.yaml", "github.com/argoproj/argo-rollouts test/e2e/crds/istio.yaml (generated from Istio's APIs)"),
    "DestinationRule": ("istio-networking.yaml", "github.com/argoproj/argo-rollouts test/e2e/crds/istio.yaml (generated from Istio's APIs)"),
}
LICENCE = "Apache-2.0 (see LICENSE-argo-rollouts-Apache-2.0 beside the CRDs)"

# ObjectMeta as a user may write it in a manifest (the CRDs only say `type: object`).
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
OBJECT_META = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
        # Read-only fields a `kubectl get -o yaml` export carries; harmless in Git.
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer"},
        "creationTimestamp": {"type": ["string", "null"]},
        "deletionTimestamp": {"type": ["string", "null"]},
        "deletionGracePeriodSeconds": {"type": "integer"},
        "selfLink": {"type": "string"},
        "managedFields": {"type": "array"},
    },
}

# Argo's CRDs leave container resources open (preserve-unknown) to keep the CRD small; Kubernetes
# still rejects a bad quantity when it creates the ReplicaSet, so we check them here.
QUANTITY = {
    "anyOf": [{"type": "integer"}, {"type": "number"}, {"type": "string"}],
    "pattern": r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$",
    "x-kubernetes-int-or-string": True,
}
QUANTITY_MAP = {"type": "object", "additionalProperties": QUANTITY}

_DROP_KEYS = {"description", "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "example"}


def strict(node: dict) -> dict:
    """A strict JSON Schema copy of one OpenAPI v3 CRD schema node."""
    out: dict = {}
    for key, value in node.items():
        if key in _DROP_KEYS or key == "format":
            continue
        if key == "properties":
            out[key] = {
                name: QUANTITY_MAP if name in ("limits", "requests") and sub == {"x-kubernetes-preserve-unknown-fields": True} else strict(sub)
                for name, sub in value.items()
            }
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = strict(value)
        elif key in ("anyOf", "allOf", "oneOf"):
            out[key] = [strict(sub) for sub in value]
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        # An anyOf already in the CRD says the same; keep a single form.
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    preserve = node.get("x-kubernetes-preserve-unknown-fields", False)
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
    return out


def kind_schema(kind: str, crd: dict, crd_file: str, source: str) -> dict:
    versions = crd["spec"]["versions"]
    storage = next((v for v in versions if v.get("storage")), versions[0])
    schema = strict(storage["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = OBJECT_META
    schema["properties"]["apiVersion"] = {"type": "string"}
    schema["properties"]["kind"] = {"const": kind}
    schema["additionalProperties"] = False
    group = crd["spec"]["group"]
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$comment": f"Generated by scripts/gen_schemas.py from {crd_file}; do not edit.",
        "x-provenance": {
            "source": source,
            "commit": ARGO_COMMIT,
            "licence": LICENCE,
            "crd": crd["metadata"]["name"],
            "schemaVersion": storage["name"],
        },
        "x-kubernetes-kind": kind,
        "x-api-versions": [f"{group}/{v['name']}" for v in versions if v.get("served", True)],
        **schema,
    }


def generate(crds_dir: Path, out_dir: Path) -> list[Path]:
    yaml = YAML(typ="safe")
    crds: dict[str, tuple[str, dict]] = {}
    for path in sorted(crds_dir.glob("*.yaml")):
        for doc in yaml.load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                crds[doc["spec"]["names"]["kind"]] = (path.name, doc)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, (crd_file, source) in SOURCES.items():
        if kind not in crds:
            raise SystemExit(f"no CustomResourceDefinition for {kind} in {crds_dir} (expected in {crd_file})")
        found_file, crd = crds[kind]
        schema = kind_schema(kind, crd, found_file, source)
        target = out_dir / f"{kind.lower()}.json"
        target.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crds", type=Path, default=DEFAULT_CRDS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    for path in generate(args.crds, args.out):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main()
