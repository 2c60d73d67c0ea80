#!/usr/bin/env python3
"""Benchmark `reconciler validate` against check-jsonschema and a bare ruamel parse.

    python3 bench/validate_bench.py [--rollouts 1000] [--services 2000]

Generates a repository of N Rollouts (one file each, like a GitOps repo) and 2N Services in a
temporary directory, then times, in one run and on the same files:
  1. ours:              load_directory + validate (in process, schemas loaded once)
  2. check-jsonschema:  `check-jsonschema --schemafile schemas/rollout.json` on the Rollout files
  3. bare ruamel parse: ruamel.yaml's default (round-trip) loader reading every file, nothing else
     (also shown: ruamel's safe loader)
Targets (issue 2): ours >= 10x check-jsonschema on the Rollouts, ours <= 2x the bare ruamel parse.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROLLOUT = """apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: app-{i}
  labels: {{app: app-{i}, team: t{t}}}
spec:
  replicas: 5
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      app: app-{i}
  template:
    metadata:
      labels:
        app: app-{i}
    spec:
      containers:
      - name: app
        image: ghcr.io/example/app-{i}:1.0.{i}
        ports:
        - containerPort: 8080
        resources:
          requests: {{cpu: 50m, memory: 64Mi}}
          limits: {{cpu: "1", memory: 128Mi}}
        readinessProbe:
          httpGet: {{path: /healthz, port: 8080}}
  strategy:
    canary:
      canaryService: app-{i}-canary
      stableService: app-{i}-stable
      steps:
      - setWeight: 20
      - pause: {{duration: 60}}
      - setWeight: 50
      - pause: {{duration: 2m}}
      - setWeight: 80
      - pause: {{}}
"""
SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: app-{i}-{role}
spec:
  selector:
    app: app-{i}
  ports:
  - port: 80
    targetPort: 8080
"""


def generate(base: Path, rollouts: int, services: int) -> tuple[Path, list[Path]]:
    repo = base / "repo"
    (repo / "rollouts").mkdir(parents=True)
    (repo / "services").mkdir()
    rollout_files = []
    for i in range(rollouts):
        p = repo / "rollouts" / f"app-{i}.yaml"
        p.write_text(ROLLOUT.format(i=i, t=i % 7))
        rollout_files.append(p)
    for j in range(services):
        i, role = j // 2, ("stable", "canary")[j % 2]
        (repo / "services" / f"app-{i}-{role}.yaml").write_text(SERVICE.format(i=i, role=role))
    return repo, rollout_files


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rollouts", type=int, default=1000)
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from ruamel.yaml import YAML

    from reconciler.manifests.loader import load_directory
    from reconciler.validation import validate

    base = Path(tempfile.mkdtemp(prefix="reconciler-bench-"))
    try:
        repo, rollout_files = generate(base, args.rollouts, args.services)
        all_files = sorted(repo.rglob("*.yaml"))
        docs = len(all_files)

        def ours():
            loaded = load_directory(repo)
            findings = loaded.findings + validate(loaded.manifests)
            assert not findings, findings[:3]

        def ours_rollouts_only():
            loaded = load_directory(repo / "rollouts")
            assert not validate(loaded.manifests, live=lambda *a: {})

        def bare_parse(typ):
            yaml = YAML(typ=typ)

            def run():
                for p in all_files:
                    list(yaml.load_all(p.read_text()))

            return run

        ours()  # warm: schema load + validator construction happen once per process, as in a run
        t_ours = best_of(ours, args.repeat)
        t_ours_ro = best_of(ours_rollouts_only, args.repeat)
        t_rt = best_of(bare_parse("rt"), args.repeat)
        t_safe = best_of(bare_parse("safe"), args.repeat)

        # Cold end-to-end for ours as a user sees it (new process, CLI included).
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "reconciler", "validate", str(repo)], cwd=ROOT, capture_output=True, text=True)
        t_cli = time.perf_counter() - start
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

        check = shutil.which("check-jsonschema")
        t_cj = None
        if check:
            start = time.perf_counter()
            cj = subprocess.run([check, "--schemafile", str(ROOT / "schemas" / "rollout.json"), *map(str, rollout_files)], capture_output=True, text=True)
            t_cj = time.perf_counter() - start
            if cj.returncode != 0:
                print("check-jsonschema reported errors:", cj.stdout[-500:], cj.stderr[-500:])

        print(f"repository: {args.rollouts} Rollouts + {args.services} Services = {docs} files/documents")
        print(f"  ours (load + validate, in process, best of {args.repeat}): {t_ours:7.3f} s  {docs / t_ours:8.0f} docs/s")
        print(f"  ours, Rollouts only:                         {t_ours_ro:7.3f} s  {args.rollouts / t_ours_ro:8.0f} docs/s")
        print(f"  ours, `reconciler validate` cold CLI:        {t_cli:7.3f} s  {docs / t_cli:8.0f} docs/s")
        print(f"  bare ruamel parse, default (rt) loader:      {t_rt:7.3f} s  {docs / t_rt:8.0f} docs/s")
        print(f"  bare ruamel parse, safe loader:              {t_safe:7.3f} s  {docs / t_safe:8.0f} docs/s")
        if t_cj is not None:
            print(f"  check-jsonschema, Rollouts only (1 process): {t_cj:7.3f} s  {args.rollouts / t_cj:8.0f} docs/s")
            print(f"ours vs check-jsonschema (Rollouts, in process): {t_cj / t_ours_ro:5.1f}x faster  (target >= 10x)")
            print(f"ours cold CLI (all {docs} docs) vs check-jsonschema ({args.rollouts} docs): {t_cj / t_cli:5.1f}x less time")
        else:
            print("check-jsonschema not installed (pip install check-jsonschema): comparison skipped")
        print(f"ours vs bare ruamel rt parse: {t_ours / t_rt:5.2f}x the time  (target <= 2x)")
        print(f"ours vs bare ruamel safe parse: {t_ours / t_safe:5.2f}x the time")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
