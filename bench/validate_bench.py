#!/usr/bin/env python3
"""Benchmark `reconciler validate` against check-jsonschema and a bare ruamel parse.

    python3 bench/validate_bench.py [--rollouts 1000] [--services 2000] [--repeat 3]

Generates a repository of N Rollouts (one file each, like a GitOps repo) and 2N Services in a
temporary directory, then times, in one run, on the same machine and the same files, best of
--repeat runs each:
  ours              load_directory + validate: read, parse, schema-check and rule-check every file
  check-jsonschema  `check-jsonschema --schemafile schemas/rollout.json FILES` on the Rollout
                    files (the same schema file ours uses): its click command in process, and its
                    CLI as a new process
  bare parse        ruamel.yaml's default (round-trip) and safe loaders reading every file, and
                    PyYAML's libyaml loader (what our loader is built on), nothing else
Targets (issue 2): ours >= 10x check-jsonschema's throughput on the Rollouts, and ours <= 2x the
bare ruamel parse of the same files.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
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


def with_unknown_field(base: Path, rollout_files: list[Path]) -> Path:
    """The same Rollouts, each with one misspelt field: every object takes the slow path."""
    repo = base / "invalid"
    repo.mkdir()
    for p in rollout_files:
        (repo / p.name).write_text(p.read_text().replace("  revisionHistoryLimit:", "  revisionHistoryLimt:", 1))
    return repo


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
    from reconciler.manifests.yaml_nodes import loader_class as _loader_class
    from reconciler.validation import validate

    schema_file = ROOT / "schemas" / "rollout.json"
    base = Path(tempfile.mkdtemp(prefix="reconciler-bench-"))
    try:
        repo, rollout_files = generate(base, args.rollouts, args.services)
        invalid_repo = with_unknown_field(base, rollout_files)
        all_files = sorted(repo.rglob("*.yaml"))
        docs, n_ro = len(all_files), len(rollout_files)
        stub_cluster = lambda *a: {}  # noqa: E731 - answers the Rollouts' Service references

        def ours():
            loaded = load_directory(repo)
            findings = loaded.findings + validate(loaded.manifests)
            assert not findings, findings[:3]

        def ours_rollouts_only():
            loaded = load_directory(repo / "rollouts")
            assert not validate(loaded.manifests, live=stub_cluster)

        def ours_all_invalid():
            loaded = load_directory(invalid_repo)
            findings = validate(loaded.manifests, live=stub_cluster)
            assert len(findings) == n_ro and all(f.rule == "unknown-field" and f.line == 8 for f in findings), findings[:3]

        def bare_ruamel(typ):
            yaml = YAML(typ=typ)

            def run():
                for p in all_files:
                    list(yaml.load_all(p.read_text()))

            return run

        def bare_libyaml():
            import yaml

            loader = _loader_class()
            for p in all_files:
                list(yaml.load_all(p.read_text(), Loader=loader))

        check = shutil.which("check-jsonschema")
        check_args = ["--schemafile", str(schema_file), *map(str, rollout_files)]

        def check_jsonschema_in_process():
            from check_jsonschema import main as cj_main

            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                code = cj_main.main(args=check_args, prog_name="check-jsonschema", standalone_mode=False)
            assert code == 0, out.getvalue()[-500:]

        def cli(argv):
            def run():
                done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
                assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

            return run

        ours()  # warm: imports, schema load and validator compilation happen once per process, as in a run
        n = args.repeat
        t_ours_ro = best_of(ours_rollouts_only, n)
        t_ours = best_of(ours, n)
        t_invalid = best_of(ours_all_invalid, n)
        t_cli = best_of(cli([sys.executable, "-m", "reconciler", "validate", str(repo)]), n)
        t_interp = best_of(cli([sys.executable, "-c", "pass"]), n)
        t_cj = t_cj_cli = None
        if check:
            check_jsonschema_in_process()  # warm its imports too
            t_cj = best_of(check_jsonschema_in_process, n)
            t_cj_cli = best_of(cli([check, *check_args]), n)
        t_rt = best_of(bare_ruamel("rt"), n)
        t_safe = best_of(bare_ruamel("safe"), n)
        t_libyaml = best_of(bare_libyaml, n)

        try:
            import ruamel.yaml.clib  # noqa: F401

            ruamel_kind = "with its C extension"
        except ImportError:
            ruamel_kind = "pure Python: ruamel.yaml.clib is not installed"

        def row(label, seconds, count):
            print(f"  {label:<66} {seconds:7.3f} s  {count / seconds:8.0f} docs/s")

        print(f"repository: {n_ro} Rollouts + {args.services} Services = {docs} files, one document each; "
              f"schema {schema_file.relative_to(ROOT)}")
        print(f"machine: {platform.python_implementation()} {platform.python_version()}, {platform.machine()}, "
              f"{os.cpu_count()} CPUs; every figure is the best of {n} runs, all in this run")
        print("In process, warm (imports done; each figure = read + parse + validate every file):")
        row(f"ours, the {n_ro} Rollouts (references from a stub cluster)", t_ours_ro, n_ro)
        if t_cj is not None:
            row(f"check-jsonschema, the {n_ro} Rollouts (its command, in process)", t_cj, n_ro)
        row(f"ours, whole repository ({docs} docs)", t_ours, docs)
        row(f"ours, the {n_ro} Rollouts each with an unknown field (slow path)", t_invalid, n_ro)
        print("New process, as a user runs it (interpreter start-up + imports + the work):")
        row(f"`reconciler validate REPO`, whole repository ({docs} docs)", t_cli, docs)
        if t_cj_cli is not None:
            row(f"`check-jsonschema --schemafile ... FILES`, the {n_ro} Rollouts", t_cj_cli, n_ro)
        print(f"  {'(a bare `python -c pass`: ' + f'{t_interp:.3f} s)':<66}")
        print(f"Bare parse of the whole repository ({docs} docs), no validation:")
        row(f"ruamel.yaml, default (rt) loader ({ruamel_kind})", t_rt, docs)
        row("ruamel.yaml, safe loader", t_safe, docs)
        row("PyYAML + libyaml, load_all (our loader's parser)", t_libyaml, docs)
        print("Targets (issue 2):")
        if t_cj is not None:
            ratio = t_cj / t_ours_ro
            print(f"  ours vs check-jsonschema, {n_ro} Rollouts, in process: {ratio:6.1f}x its throughput  "
                  f"(target >= 10x: {'met' if ratio >= 10 else 'NOT met'})")
            ratio_cli = t_cj_cli / t_cli
            print(f"  ours vs check-jsonschema, new process: {ratio_cli:6.1f}x less time, although ours reads "
                  f"{docs} docs to its {n_ro} ({ratio_cli * docs / n_ro:.1f}x its throughput)")
        else:
            print("  check-jsonschema not installed (pip install check-jsonschema): comparison skipped")
        ratio_parse = t_ours / t_rt
        print(f"  ours vs bare ruamel rt parse, whole repository: {ratio_parse:5.2f}x the time  "
              f"(target <= 2x: {'met' if ratio_parse <= 2 else 'NOT met'})")
        print(f"  (also: {t_ours / t_safe:.2f}x ruamel's safe loader; {t_ours / t_libyaml:.2f}x a bare libyaml load_all)")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
