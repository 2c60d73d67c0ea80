"""Objects a Rollout names may live in SOURCE or in the cluster (issue 18): validation looks in
SOURCE first, then (with a cluster: always for plan and run, with --cluster for validate) in the
cluster; a missing object is reported once, naming both places; validate without a cluster says
which references it could not check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "mock-server-bluegreen" / "mock-server-bluegreen.yaml"


def cli(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update(RECONCILER_LOG_LEVEL="warning", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def split(tmp_path: Path) -> tuple[Path, Path]:
    """The fixture's Services in one folder, its Rollout in another (the plugin's users keep
    Services in another repository, a Helm chart, or create them by hand)."""
    docs = [d for d in yaml.safe_load_all(FIXTURE.read_text()) if d]
    services, rollout = tmp_path / "services", tmp_path / "rollout"
    services.mkdir()
    rollout.mkdir()
    (services / "services.yaml").write_text(yaml.safe_dump_all([d for d in docs if d["kind"] == "Service"]))
    (rollout / "rollout.yaml").write_text(yaml.safe_dump_all([d for d in docs if d["kind"] == "Rollout"]))
    return services, rollout


def test_services_only_in_the_cluster_are_found_by_validate_and_run(tmp_path):
    services, rollout = split(tmp_path)
    assert cli(tmp_path, "run", "services", "--cluster", "local:cluster").returncode == 0
    alone = cli(tmp_path, "validate", "rollout")
    assert alone.returncode == 1
    assert "Service default/mock-server-active is not in the source, and no cluster was given to look it up" in alone.stdout
    assert "not checked against a cluster (no --cluster): 2 reference(s) missing from the source" in alone.stdout
    checked = cli(tmp_path, "validate", "rollout", "--cluster", "local:cluster")
    assert checked.returncode == 0, checked.stdout
    run = cli(tmp_path, "run", "rollout", "--cluster", "local:cluster", "--now", "2026-01-01T00:00:00Z")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "default/mock-server: Healthy" in run.stdout
    view = json.loads(cli(tmp_path, "get", "rollout", "mock-server", "--cluster", "local:cluster", "-o", "json").stdout)
    assert view["status"] == "Healthy"


def test_an_object_in_neither_place_is_reported_once_naming_both(tmp_path):
    split(tmp_path)
    run = cli(tmp_path, "run", "rollout", "--cluster", "local:cluster", "--now", "2026-01-01T00:00:00Z")
    assert run.returncode == 1
    findings = [line for line in run.stdout.splitlines() if ": error: " in line]
    assert len(findings) == 2, run.stdout
    assert sum("Service default/mock-server-active is neither in the source nor in the cluster (local)" in line for line in findings) == 1
    assert sum("Service default/mock-server-preview is neither in the source nor in the cluster (local)" in line for line in findings) == 1
    assert "default/mock-server: invalid (2 error(s) above): nothing applied" in run.stdout
    plan = cli(tmp_path, "plan", "rollout", "--cluster", "local:cluster")
    assert plan.returncode == 1 and plan.stdout.count("mock-server-active is neither in the source nor in the cluster") == 1


CONFIG_MAP_USER = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: app, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: app}}
  strategy: {canary: {steps: [{setWeight: 50}, {pause: {}}]}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
        - name: app
          image: nginx:1.25
          env:
            - name: LEVEL
              valueFrom: {configMapKeyRef: {name: app-settings, key: level}}
            - name: EXTRA
              valueFrom: {configMapKeyRef: {name: maybe-there, key: x, optional: true}}
          envFrom:
            - configMapRef: {name: app-env}
      volumes:
        - name: conf
          configMap: {name: app-files}
        - name: all
          projected: {sources: [{configMap: {name: app-projected}}]}
"""


def config_map(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: default}}\ndata: {{k: v}}\n"


def test_config_maps_a_pod_template_needs_are_checked_in_source_then_in_the_cluster(tmp_path):
    repo, live = tmp_path / "repo", tmp_path / "live"
    repo.mkdir()
    live.mkdir()
    (repo / "rollout.yaml").write_text(CONFIG_MAP_USER)
    (repo / "settings.yaml").write_text(config_map("app-settings"))
    (live / "cms.yaml").write_text("---\n".join(config_map(n) for n in ("app-env", "app-files")))

    alone = cli(tmp_path, "validate", "repo")
    assert alone.returncode == 0, alone.stdout  # warnings: Argo accepts the spec, the pods would not start
    warned = [line for line in alone.stdout.splitlines() if "  warning  " in line and "ConfigMap" in line]
    assert len(warned) == 3, alone.stdout  # app-env, app-files, app-projected; app-settings is in SOURCE, maybe-there optional
    assert any("spec.template.spec.containers[0].envFrom[0].configMapRef.name" in line and "ConfigMap default/app-env is not in the source" in line
               for line in warned), alone.stdout
    assert any("spec.template.spec.volumes[1].projected.sources[0].configMap.name" in line for line in warned), alone.stdout
    assert "CreateContainerConfigError" in alone.stdout
    assert "not checked against a cluster (no --cluster): 3 reference(s) missing from the source" in alone.stdout
    assert "maybe-there" not in alone.stdout and "ConfigMap default/app-settings" not in alone.stdout

    assert cli(tmp_path, "run", "live", "--cluster", "local:cluster").returncode == 0
    checked = cli(tmp_path, "validate", "repo", "--cluster", "local:cluster")
    assert checked.returncode == 0
    remaining = [line for line in checked.stdout.splitlines() if "ConfigMap" in line and "  warning  " in line]
    assert len(remaining) == 1 and "ConfigMap default/app-projected is neither in the source nor in the cluster (local)" in remaining[0], checked.stdout
