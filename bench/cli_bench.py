#!/usr/bin/env python3
"""Whole-process benchmark of the CLI, as a user runs it, beside baselines measured in the same run.

    python bench/cli_bench.py [--sizes 100,1000] [--repeat 3] [--namespaces 4] [--markdown]

For each size N it generates a realistic repository (bench/gen_repo.py: N canary Rollouts with
9 steps including an analysis step, 2N Services, 4 namespaces) and times, as separate processes
(`python -m reconciler ...`, nothing in-process, nothing warm but the OS page cache):

  validate            with --no-cache; cold (an empty --cache-dir, which it fills) and warm (the
                      same command again: every file's parse and own findings come from the cache)
  run (create)        `run` against an empty embedded cluster: creates every ReplicaSet / Service
                      (its source cache empty at first)
  run (idle)          `run` again (source cache warm): no rollout moves, but it still writes one object per rollout
  run (idle again)    `run` once more, truly nothing to do: warm, then with --no-cache
  plan (image bump)   every image tag bumped, then `plan` (text output, with every diff rendered;
                      the Services come from the source cache, the changed Rollout files do not)

and the baselines, also as separate processes on the same files:

  validate (one file) cold start: `validate` of a one-file repository (issue 16 item 7)
  --help              cold start of the command line alone

  python -c pass      interpreter start-up
  libyaml parse       PyYAML's CSafeLoader reading every file (the parse floor)
  check-jsonschema    on the Rollout files with the Rollout schema, in its best configuration:
                      ruamel's C parser (as installed), format checks off

The reconciler's modules are byte-compiled first (`compileall`), as `pip install` leaves them, and
the children run without PYTHONDONTWRITEBYTECODE: a figure that includes compiling our sources on
every start measures the environment, not the tool.

Figures: CPU seconds (user + sys of the child, from the kernel's accounting), median of
--repeat runs (min-max beside it), and the child's peak RSS. It prints figures; it never asserts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_repo import generate  # noqa: E402

NOW_CREATE = "2026-01-01T00:00:00Z"
NOW_IDLE = "2026-01-01T00:01:00Z"
NOW_PLAN = "2026-01-01T00:02:00Z"

PARSE_FLOOR = (
    "import sys, yaml\n"
    "loader = yaml.CSafeLoader\n"
    "for path in sys.argv[1:]:\n"
    "    with open(path, 'rb') as handle:\n"
    "        list(yaml.load_all(handle, Loader=loader))\n"
)


@dataclass
class Figure:
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    codes: set[int] = field(default_factory=set)

    def cell(self) -> str:
        if not self.cpu:
            return "n/a"
        med = statistics.median(self.cpu)
        return f"{med:.2f} ({min(self.cpu):.2f}-{max(self.cpu):.2f})"

    @property
    def median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")

    @property
    def peak(self) -> float:
        return max(self.rss_mib) if self.rss_mib else float("nan")


def measure_once(argv: list[str], figure: Figure, env: dict | None = None, cwd: Path | None = None) -> None:
    """Run argv as a child and record its own CPU time and peak RSS (os.wait4's rusage)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    figure.wall.append(time.perf_counter() - start)
    figure.cpu.append(usage.ru_utime + usage.ru_stime)
    figure.rss_mib.append(usage.ru_maxrss / 1024)
    figure.codes.add(os.waitstatus_to_exitcode(status))
    proc.returncode = os.waitstatus_to_exitcode(status)


def child_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "RECONCILER_LOG_FORMAT": "json"}


def compile_sources() -> None:
    """Byte-compile the package as an installed copy has it (quietly; a read-only tree is left alone)."""
    import compileall

    compileall.compile_dir(str(ROOT / "reconciler"), quiet=2)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "reconciler", *args]


def bench_size(n: int, repeat: int, namespaces: int, base: Path, check_jsonschema: str | None) -> dict[str, Figure]:
    repo = base / f"repo-{n}"
    rollout_files = generate(repo, n, namespaces)
    all_files = sorted(str(p) for p in repo.rglob("*.yaml"))
    env = child_env()
    one_file = base / "repo-one-file"
    if not one_file.exists():
        one_file.mkdir(parents=True)
        shutil.copy(ROOT / "fixtures" / "canary-nginx" / "nginx.yaml", one_file / "nginx.yaml")
    figures: dict[str, Figure] = {}

    def fig(name: str) -> Figure:
        return figures.setdefault(name, Figure())

    for _ in range(repeat):
        measure_once([sys.executable, "-c", "pass"], fig("python -c pass"), env=env)
        measure_once(cli("--help"), fig("--help"), env=env)
        one_cache = base / "cache-one-file"
        shutil.rmtree(one_cache, ignore_errors=True)  # a first run: its source cache is empty
        measure_once(cli("validate", str(one_file)), fig("validate (one file)"), env={**env, "RECONCILER_CACHE_DIR": str(one_cache)})
        measure_once([sys.executable, "-c", PARSE_FLOOR, *all_files], fig("libyaml parse (floor)"))
        if check_jsonschema:
            measure_once([check_jsonschema, "--disable-formats", "*", "--schemafile", str(ROOT / "schemas" / "rollout.json"),
                          *map(str, rollout_files)], fig("check-jsonschema (C parser)"))
        # The source cache (--cache-dir): "cold" starts from an empty cache folder and fills it,
        # "warm" is the same command again, finding every file there.
        cache = base / f"cache-{n}"
        shutil.rmtree(cache, ignore_errors=True)
        venv = {**env, "RECONCILER_CACHE_DIR": str(cache)}
        measure_once(cli("validate", str(repo), "--no-cache"), fig("validate (no cache)"), env=venv)
        measure_once(cli("validate", str(repo)), fig("validate (cold)"), env=venv)
        measure_once(cli("validate", str(repo)), fig("validate (warm)"), env=venv)

        cluster = base / f"cluster-{n}"
        shutil.rmtree(cluster, ignore_errors=True)
        run_cache = base / f"run-cache-{n}"
        shutil.rmtree(run_cache, ignore_errors=True)
        renv = {**env, "RECONCILER_CACHE_DIR": str(run_cache)}
        generate(repo, n, namespaces, tag="1.0.0")
        measure_once(cli("run", str(repo), "--cluster", f"local:{cluster}", "--now", NOW_CREATE), fig("run (create)"), env=renv)
        measure_once(cli("run", str(repo), "--cluster", f"local:{cluster}", "--now", NOW_IDLE), fig("run (idle)"), env=renv)
        # The first run after the creating one still writes one object per rollout; the two
        # below find nothing at all to do, so they differ only by the source cache.
        measure_once(cli("run", str(repo), "--cluster", f"local:{cluster}", "--now", NOW_IDLE), fig("run (idle again)"), env=renv)
        measure_once(cli("run", str(repo), "--cluster", f"local:{cluster}", "--now", NOW_IDLE, "--no-cache"),
                     fig("run (idle again, no cache)"), env=renv)
        generate(repo, n, namespaces, tag="1.1.0")
        measure_once(cli("plan", str(repo), "--cluster", f"local:{cluster}", "--now", NOW_PLAN), fig("plan (image bump)"), env=renv)
    return figures


ORDER = [
    "python -c pass",
    "--help",
    "validate (one file)",
    "libyaml parse (floor)",
    "check-jsonschema (C parser)",
    "validate (no cache)",
    "validate (cold)",
    "validate (warm)",
    "run (create)",
    "run (idle)",
    "run (idle again)",
    "run (idle again, no cache)",
    "plan (image bump)",
]


def render(results: dict[int, dict[str, Figure]], markdown: bool) -> str:
    sizes = sorted(results)
    header = ["command"] + [f"N={n:,} CPU s" for n in sizes] + [f"N={n:,} peak RSS MiB" for n in sizes]
    rows = []
    for name in ORDER:
        if not any(name in results[n] for n in sizes):
            continue
        row = [name] + [results[n][name].cell() if name in results[n] else "n/a" for n in sizes]
        row += [f"{results[n][name].peak:.0f}" if name in results[n] else "n/a" for n in sizes]
        rows.append(row)
    ratios = []
    for n in sizes:
        f = results[n]
        floor, cold = f["libyaml parse (floor)"].median, f["validate (cold)"].median
        line = f"N={n:,}: validate cold / parse floor = {cold / floor:.2f}x; warm / floor = {f['validate (warm)'].median / floor:.2f}x"
        line += f"; plan / validate cold = {f['plan (image bump)'].median / cold:.2f}x"
        line += f"; validate (no cache) / floor = {f['validate (no cache)'].median / floor:.2f}x"
        line += f"; idle run / floor = {f['run (idle)'].median / floor:.2f}x"
        line += f"; idle again: warm / without the cache = {f['run (idle again)'].median / f['run (idle again, no cache)'].median:.2f}x"
        if "check-jsonschema (C parser)" in f:
            line += f"; check-jsonschema / validate cold = {f['check-jsonschema (C parser)'].median / cold:.2f}x"
        start = f["python -c pass"].median
        line += f"; validate (one file) - python -c pass = {f['validate (one file)'].median - start:+.2f} s"
        line += f"; --help - python -c pass = {f['--help'].median - start:+.2f} s"
        ratios.append(line)
        codes = {name: sorted(fig.codes) for name, fig in f.items() if fig.codes - {0}}
        if codes:
            ratios.append(f"N={n:,}: non-zero exit codes (figures still shown): {codes}")
    if len(sizes) > 1:
        small, big = sizes[0], sizes[-1]
        growth = results[big]["run (create)"].median / results[small]["run (create)"].median
        ratios.append(f"run (create) N={big:,} / N={small:,} = {growth:.1f}x for {big / small:.0f}x the Rollouts")
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(out) + "\n\n" + "\n".join(f"- {r}" for r in ratios) + "\n"
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in [header] + rows]
    return "\n".join(lines) + "\n\n" + "\n".join(ratios) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000", help="comma-separated numbers of Rollouts (e.g. 100,1000,10000)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--namespaces", type=int, default=4)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table (for docs/performance.md)")
    parser.add_argument("--keep", action="store_true", help="keep the generated repositories and clusters")
    args = parser.parse_args()
    check_jsonschema = shutil.which("check-jsonschema") or (
        str(Path(sys.executable).parent / "check-jsonschema") if (Path(sys.executable).parent / "check-jsonschema").exists() else None)
    base = Path(tempfile.mkdtemp(prefix="reconciler-cli-bench-"))
    try:
        import platform

        print(f"# {platform.python_implementation()} {platform.python_version()} on {platform.machine()}, "
              f"{os.cpu_count()} CPUs; median of {args.repeat} whole-process runs; "
              f"check-jsonschema: {'yes' if check_jsonschema else 'not installed (pip install .[bench])'}")
        compile_sources()
        results = {n: bench_size(n, args.repeat, args.namespaces, base, check_jsonschema) for n in map(int, args.sizes.split(","))}
        print(render(results, args.markdown), end="")
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
