"""`run --shard I/N`: shards never overlap, their union is everything, each object is applied by
exactly one shard, and the shards of one tick run side by side (one Lease each)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reconciler.errors import UsageError
from reconciler.shard import lease_name, parse_shard, shard_of, split

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from gen_repo import generate  # noqa: E402


@pytest.mark.parametrize("text, expected", [("0/1", (0, 1)), ("3/4", (3, 4)), (" 1/2 ", (1, 2)), (None, None), ("", None)])
def test_parse_shard(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["4/4", "-1/4", "1", "a/b", "1/0", "0/-2", "1/2/3"])
def test_parse_shard_refuses_what_is_not_i_of_n(text):
    with pytest.raises(UsageError):
        parse_shard(text)


def test_shard_of_is_stable_across_processes_and_versions():
    # sha256-based, never Python's randomised hash(): pinned so a change of scheme is noticed
    # (it would move Rollouts between shards while a fleet is running).
    assert [shard_of(f"team-0/app-{i:05d}", 4) for i in range(8)] == [0, 2, 3, 1, 0, 0, 3, 2]
    done = subprocess.run([sys.executable, "-c", "from reconciler.shard import shard_of; print(shard_of('default/web', 7))"],
                          capture_output=True, text=True, cwd=ROOT, env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert done.stdout.strip() == str(shard_of("default/web", 7))


def test_lease_per_shard():
    assert lease_name("reconciler", None) == "reconciler"
    assert lease_name("reconciler", (2, 4)) == "reconciler-shard-2-of-4"


def test_split_partitions_rollouts_and_objects_and_keeps_referenced_objects_together():
    rollouts = [("default", f"r{i}") for i in range(40)]
    refs = {r: [("Service", "default", f"{r[1]}-stable"), ("Service", "default", "shared")] for r in rollouts}
    objects = [k for r in rollouts for k in refs[r] if k[2] != "shared"] + [("Service", "default", "shared"), ("ConfigMap", "default", "loose")]
    seen_rollouts, seen_objects = [], []
    for index in range(3):
        mine_r, mine_o = split(rollouts, objects, (index, 3), rollout_key=lambda r: r, object_key=lambda o: o,
                               references=lambda r: refs[r])
        seen_rollouts += mine_r
        seen_objects += mine_o
        for r in mine_r:  # a Rollout's own Service goes with it
            assert ("Service", "default", f"{r[1]}-stable") in mine_o
        if ("Service", "default", "shared") in mine_o:  # a shared object goes with the first Rollout naming it
            assert ("default", "r0") in mine_r
    assert sorted(seen_rollouts) == sorted(rollouts)
    assert sorted(seen_objects) == sorted(objects)


def _cli(*args, check=True):
    done = subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def _objects(cluster: Path) -> dict[str, dict]:
    out = {}
    for path in cluster.rglob("*.yaml"):
        rel = path.relative_to(cluster)
        if len(rel.parts) != 3 or rel.parts[1] in ("Lease", "Event", "ConfigMap"):
            continue
        obj = yaml.safe_load(path.read_text())
        out[str(rel)] = obj.get("spec")
    return out


@pytest.mark.slow
def test_three_shards_side_by_side_do_what_one_run_does(tmp_path):
    repo = tmp_path / "repo"
    generate(repo, 12, namespaces=2)
    whole, sharded = tmp_path / "whole", tmp_path / "sharded"
    now = ["--now", "2026-01-01T00:00:00Z", "-o", "json"]
    _cli("run", str(repo), "--cluster", f"local:{whole}", *now)

    procs = [subprocess.Popen([sys.executable, "-m", "reconciler", "run", str(repo), "--cluster", f"local:{sharded}",
                               "--shard", f"{i}/3", *now], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
             for i in range(3)]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, out + err
        reports.append(json.loads(out))
    names = [{(r["namespace"], r["name"]) for r in report["rollouts"]} for report in reports]
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    assert set().union(*names) == {(f"team-{i % 2}", f"app-{i:05d}") for i in range(12)}
    applied = [{(a["kind"], a["namespace"], a["name"]) for a in report["manifestActions"]} for report in reports]
    assert sum(len(a) for a in applied) == len(set().union(*applied)) == 12 * 2 + 2  # Services + templates, once each
    assert _objects(sharded) == _objects(whole)
    # Each shard held its own Lease (released at the end of its run).
    leases = {p.stem for p in sharded.rglob("Lease/*.yaml")}
    assert {f"reconciler-shard-{i}-of-3" for i in range(3)} <= leases


def test_bad_shard_is_a_usage_error_before_anything_is_read(tmp_path):
    done = _cli("run", str(tmp_path / "does-not-exist"), "--cluster", f"local:{tmp_path / 'c'}", "--shard", "3/3", check=False)
    assert done.returncode == 2
    assert "--shard" in done.stdout + done.stderr
    assert not (tmp_path / "c").exists()


def test_sharded_cronjob_is_an_indexed_job_whose_shards_cover_every_index():
    [cronjob] = yaml.safe_load_all((ROOT / "deploy" / "cronjob-sharded.yaml").read_text())
    job = cronjob["spec"]["jobTemplate"]["spec"]
    assert job["completionMode"] == "Indexed"
    [container] = job["template"]["spec"]["containers"]
    args = container["args"]
    assert args[0] == "run" and args[args.index("--shard") + 1] == f"$(JOB_COMPLETION_INDEX)/{job['completions']}"
    assert job["parallelism"] == job["completions"]  # every shard of a tick runs at once
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    # Every index the Job controller hands out is a shard --shard accepts.
    for index in range(job["completions"]):
        assert parse_shard(f"{index}/{job['completions']}") == (index, job["completions"])
    # The rest is the plain CronJob's (same image, env, security context).
    [plain] = yaml.safe_load_all((ROOT / "deploy" / "cronjob.yaml").read_text())
    plain_container = plain["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert {k: v for k, v in container.items() if k != "args"} == {k: v for k, v in plain_container.items() if k != "args"}
