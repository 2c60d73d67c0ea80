#!/usr/bin/env python3
"""Generate a realistic GitOps repository of canary Rollouts for the benchmarks.

    python bench/gen_repo.py OUT [--rollouts 1000] [--namespaces 4] [--services-per-rollout 2]
                                 [--tag 1.0.0]

Shape (what a platform team's repo looks like): one folder per application under
`apps/<namespace>/<app>/` holding its Rollout (9 canary steps, one of them an analysis step, with
canaryService / stableService, probes and resources) and its Services; one AnalysisTemplate per
namespace under `platform/`. `--tag` sets every image tag, so generating again with another tag
over the same OUT is "bump every image" (only the Rollout files change).
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROLLOUT = """apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: {app}
  namespace: {ns}
  labels:
    app.kubernetes.io/name: {app}
    team: team-{team}
spec:
  replicas: 5
  revisionHistoryLimit: 3
  progressDeadlineSeconds: 600
  selector:
    matchLabels:
      app: {app}
  template:
    metadata:
      labels:
        app: {app}
        team: team-{team}
    spec:
      containers:
      - name: app
        image: registry.example.com/{team}/{app}:{tag}
        ports:
        - name: http
          containerPort: 8080
        env:
        - name: LOG_LEVEL
          value: info
        resources:
          requests: {{cpu: 50m, memory: 64Mi}}
          limits: {{cpu: "1", memory: 256Mi}}
        readinessProbe:
          httpGet: {{path: /healthz, port: http}}
          periodSeconds: 5
  strategy:
    canary:
      canaryService: {app}-canary
      stableService: {app}-stable
      maxSurge: "25%"
      maxUnavailable: 0
      steps:
      - setWeight: 10
      - pause: {{duration: 2m}}
      - setWeight: 25
      - pause: {{duration: 5m}}
      - analysis:
          templates:
          - templateName: success-rate
          args:
          - name: service-name
            value: {app}-canary
      - setWeight: 50
      - pause: {{duration: 10m}}
      - setWeight: 75
      - pause: {{}}
"""

SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: {app}-{role}
  namespace: {ns}
  labels:
    app.kubernetes.io/name: {app}
spec:
  selector:
    app: {app}
  ports:
  - name: http
    port: 80
    targetPort: http
"""

TEMPLATE = """apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: success-rate
  namespace: {ns}
spec:
  args:
  - name: service-name
  metrics:
  - name: success-rate
    interval: 1m
    count: 3
    failureLimit: 1
    successCondition: result[0] >= 0.95
    provider:
      prometheus:
        address: http://prometheus.monitoring.svc:9090
        query: |
          sum(rate(http_requests_total{{service="{{{{args.service-name}}}}",code!~"5.."}}[2m])) /
          sum(rate(http_requests_total{{service="{{{{args.service-name}}}}"}}[2m]))
"""

ROLES = ("stable", "canary", "preview", "admin")


def generate(out: Path, rollouts: int, namespaces: int = 4, services_per_rollout: int = 2, tag: str = "1.0.0") -> list[Path]:
    """Write (or rewrite) the repository; returns the Rollout files."""
    files = []
    for n in range(namespaces):
        ns = f"team-{n}"
        platform = out / "platform" / ns
        platform.mkdir(parents=True, exist_ok=True)
        (platform / "analysis-template.yaml").write_text(TEMPLATE.format(ns=ns))
    for i in range(rollouts):
        ns, app = f"team-{i % namespaces}", f"app-{i:05d}"
        folder = out / "apps" / ns / app
        folder.mkdir(parents=True, exist_ok=True)
        rollout = folder / "rollout.yaml"
        rollout.write_text(ROLLOUT.format(app=app, ns=ns, team=i % namespaces, tag=tag))
        files.append(rollout)
        roles = ROLES[: max(2, services_per_rollout)]
        (folder / "services.yaml").write_text("---\n".join(SERVICE.format(app=app, ns=ns, role=role) for role in roles))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rollouts", type=int, default=1000)
    parser.add_argument("--namespaces", type=int, default=4)
    parser.add_argument("--services-per-rollout", type=int, default=2)
    parser.add_argument("--tag", default="1.0.0")
    args = parser.parse_args()
    files = generate(args.out, args.rollouts, args.namespaces, args.services_per_rollout, args.tag)
    print(f"{len(files)} Rollouts in {args.out}")


if __name__ == "__main__":
    main()
