"""The source cache (reconciler/manifests/source_cache.py, --cache-dir): what it changes is time,
never findings or plans; a bad entry is a miss; a changed file misses alone; a folder that cannot
be used only costs time."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from reconciler.manifests import source_cache as sc
from reconciler.manifests.loader import load_directory
from reconciler.source.local import open_local
from reconciler.validation import validate
from reconciler.validation.cache import source_cache
from tests.gitserver import bare_repo_factory  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SOURCES = sorted([p for p in FIXTURES.iterdir() if p.is_dir()]
                 + [p for group in ("invalid", "corpus") if (FIXTURES / group).is_dir() for p in (FIXTURES / group).iterdir() if p.is_dir()])


def _cache(cache_dir: Path, root: Path):
    return source_cache(cache_dir, open_local(root))


def _findings(root: Path, cache=None, **kw):
    loaded = load_directory(root, cache=cache)
    found = loaded.findings + validate(loaded.manifests, **kw)
    # Positions asked after validation too (a finding made later, by a later stage, locates fields).
    places = [(m.file, m.line, m.col, m.doc_index, m.list_item, m.locate(("spec", "template", "spec")), m.obj) for m in loaded.manifests]
    return found, places, loaded.files_read


@pytest.mark.parametrize("root", SOURCES, ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_warm_equals_cold_equals_no_cache(root, tmp_path):
    options = {"period_seconds": 60.0}
    plain = _findings(root, **options)
    cold_cache = _cache(tmp_path, root)
    cold = _findings(root, cold_cache, **options)
    warm_cache = _cache(tmp_path, root)
    warm = _findings(root, warm_cache, **options)
    assert cold == plain
    assert warm == plain
    assert warm_cache.misses == 0 and warm_cache.hits == cold_cache.misses  # every cacheable file came from the cache


def test_the_context_rules_still_see_the_context(tmp_path):
    """Policy, --period and the live cluster change findings of a warm run as they change a cold one."""
    root = FIXTURES / "invalid"
    _findings(root, _cache(tmp_path, root))  # fill
    from reconciler.kinds import SourcePolicy

    for options in ({"period_seconds": 3600.0}, {"policy": SourcePolicy(allow_secrets=True, apply_cluster_scoped=True)},
                    {"live": {("Service", "default", "canary-svc"): {"kind": "Service"}}}):
        warm = _cache(tmp_path, root)
        assert _findings(root, warm, **options) == _findings(root, **options)
        assert warm.misses == 0


def _pack(cache_dir: Path) -> Path:
    (pack,) = (cache_dir / sc.SUBDIR).glob("*.json")
    return pack


def _rewrite(pack: Path, change) -> None:
    head, _, body = pack.read_bytes().partition(b"\n")
    data = json.loads(body)
    change(data)
    body = json.dumps(data).encode()
    pack.write_bytes(json.dumps({"format": sc.FORMAT, "digest": sc.digest(body)}).encode() + b"\n" + body)


def _forge_object(data):
    for entry in data["entries"].values():
        if entry["objects"]:
            entry["objects"][0][1] = "12"  # a line that is not an int


def _swap_entries(data):
    """Each entry moved under another file's key: it names its own key, so it is not used."""
    keys = sorted(data["entries"])
    values = [data["entries"][k] for k in keys]
    data["entries"] = dict(zip(keys, values[1:] + values[:1]))


DAMAGE = {
    "truncated": lambda pack: pack.write_bytes(pack.read_bytes()[: len(pack.read_bytes()) // 2]),
    "corrupted byte": lambda pack: pack.write_bytes(pack.read_bytes()[:-40] + b"X" + pack.read_bytes()[-39:]),
    "empty": lambda pack: pack.write_bytes(b""),
    "not json": lambda pack: pack.write_bytes(b"\x80\x04\x95 pickled? never unpickled\n\x00\x01"),
    "other format": lambda pack: pack.write_bytes(pack.read_bytes().replace(b'"format": 1', b'"format": 99', 1)),
    "wrong digest": lambda pack: pack.write_bytes(pack.read_bytes().replace(b'"digest": "', b'"digest": "0', 1)),
    "forged field type": lambda pack: _rewrite(pack, _forge_object),
    "entries swapped": lambda pack: _rewrite(pack, _swap_entries),
    "entries not a mapping": lambda pack: _rewrite(pack, lambda data: data.update(entries=[1, 2])),
    "finding with a bad severity": lambda pack: _rewrite(pack, lambda data: [
        entry["objects"][0].__setitem__(4, {"shape": [["f", 1, 1, "", "m", "", "fatal", "r", ""]]}) for entry in data["entries"].values()
        if entry["objects"]]),
    "rules not a string or mapping": lambda pack: _rewrite(pack, lambda data: [
        entry["objects"][0].__setitem__(4, ["shape"]) for entry in data["entries"].values() if entry["objects"]]),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_pack_is_ignored_and_rebuilt(damage, tmp_path):
    root = FIXTURES / "invalid"
    expected = _findings(root)
    _findings(root, _cache(tmp_path, root))
    DAMAGE[damage](_pack(tmp_path))
    again = _cache(tmp_path, root)
    assert _findings(root, again) == expected
    assert again.misses >= 1
    rebuilt = _cache(tmp_path, root)
    assert _findings(root, rebuilt) == expected
    assert rebuilt.misses == 0 and rebuilt.hits > 0  # written again, whole


def test_a_changed_file_misses_alone(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "app-repo", root)
    cache_dir = tmp_path / "cache"
    first = _cache(cache_dir, root)
    files = _findings(root, first)[2]
    assert files > 2 and first.misses == files
    changed = sorted(root.rglob("*.yaml"))[0]
    changed.write_text(changed.read_text() + "\n# edited\n")
    second = _cache(cache_dir, root)
    assert _findings(root, second) == _findings(root)
    assert (second.hits, second.misses) == (files - 1, 1)
    (root / "new.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: new\n")
    third = _cache(cache_dir, root)
    _findings(root, third)
    assert (third.hits, third.misses) == (files, 1)


def test_another_version_or_schema_misses_everything(tmp_path, monkeypatch):
    root = FIXTURES / "canary-nginx"
    _findings(root, _cache(tmp_path, root))
    monkeypatch.setattr(sc, "_fingerprint", "another build")
    other = _cache(tmp_path, root)
    assert _findings(root, other) == _findings(root)
    assert other.hits == 0 and other.misses > 0

    import reconciler

    package = tmp_path / "package"
    shutil.copytree(Path(reconciler.__file__).parent / "schemas", package / "schemas")
    (package / "module.py").write_text("x = 1\n")
    before = sc.build_fingerprint(package, "0.1.0", "libs")
    assert sc.build_fingerprint(package, "0.1.0", "libs") == before
    assert sc.build_fingerprint(package, "0.2.0", "libs") != before
    assert sc.build_fingerprint(package, "0.1.0", "libs 2") != before
    rollout = package / "schemas" / "rollout.json"
    rollout.write_text(rollout.read_text().replace('"type"', '"type" ', 1))
    assert sc.build_fingerprint(package, "0.1.0", "libs") != before
    after_schema = sc.build_fingerprint(package, "0.1.0", "libs")
    (package / "module.py").write_text("x = 22\n")
    assert sc.build_fingerprint(package, "0.1.0", "libs") != after_schema


def test_a_folder_that_cannot_be_created_only_costs_time(tmp_path, caplog):
    root = FIXTURES / "invalid"
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    cache = _cache(blocker, root)
    with caplog.at_level(logging.WARNING, logger="reconciler"):
        assert _findings(root, cache) == _findings(root)
    assert [r.getMessage() for r in caplog.records if "source cache" in r.getMessage()][0].startswith("not using the source cache")
    assert len([r for r in caplog.records if "source cache" in r.getMessage()]) == 1


def test_a_pack_that_cannot_be_written_only_costs_time(tmp_path, caplog):
    root = FIXTURES / "canary-nginx"
    cache = _cache(tmp_path, root)
    (tmp_path / sc.SUBDIR).mkdir(mode=0o700)
    os.mkdir(cache.path)  # a folder where the pack would be: the rename fails
    with caplog.at_level(logging.WARNING, logger="reconciler"):
        assert _findings(root, cache) == _findings(root)
    assert any("cannot write" in r.getMessage() for r in caplog.records)


def test_a_folder_others_may_write_to_is_not_used(tmp_path, caplog):
    root = FIXTURES / "canary-nginx"
    (tmp_path / sc.SUBDIR).mkdir()
    os.chmod(tmp_path / sc.SUBDIR, 0o777)
    cache = _cache(tmp_path, root)
    with caplog.at_level(logging.WARNING, logger="reconciler"):
        assert _findings(root, cache) == _findings(root)
    assert cache.hits == cache.misses == 0 and not list((tmp_path / sc.SUBDIR).iterdir())
    assert any("others may write" in r.getMessage() for r in caplog.records)


def test_new_folders_are_private(tmp_path):
    root = FIXTURES / "canary-nginx"
    _findings(root, _cache(tmp_path / "cache", root))
    assert (tmp_path / "cache" / sc.SUBDIR).stat().st_mode & 0o077 == 0
    assert _pack(tmp_path / "cache").stat().st_mode & 0o077 == 0


def test_objects_json_cannot_keep_are_parsed_every_time(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "alias.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: &l {x: y}, annotations: *l}\n")
    (root / "intkey.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {1: one}\n")
    (root / "plain.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n")
    _findings(root, _cache(tmp_path / "cache", root))
    again = _cache(tmp_path / "cache", root)
    assert _findings(root, again) == _findings(root)
    assert (again.hits, again.misses) == (1, 2)


def test_resolve_dir(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert sc.resolve_dir(None, environ=env) == tmp_path / "xdg" / "reconciler"
    assert sc.resolve_dir(None, environ={"HOME": "/h"}) == Path(os.path.expanduser("~")) / ".cache" / "reconciler"
    assert sc.resolve_dir(None, environ={**env, "RECONCILER_CACHE_DIR": str(tmp_path / "c")}) == tmp_path / "c"
    assert sc.resolve_dir(None, environ={**env, "RECONCILER_CACHE_DIR": ""}) is None
    assert sc.resolve_dir("", environ=env) is None
    assert sc.resolve_dir(str(tmp_path / "d"), no_cache=True, environ=env) is None


def _cli(*args, env=None, cwd=ROOT):
    ambient = {k: v for k, v in os.environ.items() if k != "RECONCILER_CACHE_DIR"}  # conftest's session cache
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**ambient, **(env or {})})


def test_cli_honours_the_env_var_and_the_flags(tmp_path):
    source = "fixtures/invalid"
    plain = _cli("validate", source, "-o", "json", "--no-cache", env={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert not (tmp_path / "xdg").exists()
    runs = [_cli("validate", source, "-o", "json", env={"RECONCILER_CACHE_DIR": str(tmp_path / "env")}) for _ in range(2)]
    assert _pack(tmp_path / "env").is_file()
    flag = [_cli("validate", source, "-o", "json", "--cache-dir", str(tmp_path / "flag")) for _ in range(2)]
    assert _pack(tmp_path / "flag").is_file()
    default = [_cli("validate", source, "-o", "json", env={"XDG_CACHE_HOME": str(tmp_path / "xdg")}) for _ in range(2)]
    assert _pack(tmp_path / "xdg" / "reconciler").is_file()
    off = _cli("validate", source, "-o", "json", "--cache-dir", "", env={"XDG_CACHE_HOME": str(tmp_path / "xdg2")})
    assert not (tmp_path / "xdg2").exists()
    for done in (*runs, *flag, *default, off):
        assert (done.returncode, done.stdout, done.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert plain.returncode == 1 and json.loads(plain.stdout)["findings"]


def test_plan_is_the_same_warm_and_cold(tmp_path):
    source = str(FIXTURES / "app-repo")
    now = "2026-01-01T00:00:00Z"
    cluster = tmp_path / "cluster"
    created = _cli("run", source, "--cluster", f"local:{cluster}", "--now", now, "--no-cache")
    assert created.returncode == 0, created.stderr
    env = {"RECONCILER_CACHE_DIR": str(tmp_path / "cache"), "RECONCILER_LOG_FORMAT": "json"}
    outputs = set()
    for flags in (["--no-cache"], [], [], ["--cache-dir", str(tmp_path / "cache")]):
        done = _cli("plan", source, "--cluster", f"local:{cluster}", "--now", "2026-01-01T00:01:00Z", "-o", "json", *flags, env=env)
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1
    idle = [_cli("run", source, "--cluster", f"local:{cluster}", "--now", "2026-01-01T00:02:00Z", "-o", "json", *flags, env=env)
            for flags in ([], ["--no-cache"])]
    assert idle[0].returncode == idle[1].returncode == 0
    assert json.loads(idle[0].stdout)["rollouts"] == json.loads(idle[1].stdout)["rollouts"]


def test_a_git_source_keeps_its_pack_across_clones(bare_repo_factory, tmp_path):  # noqa: F811
    repo = bare_repo_factory(fixture="invalid/unknown-field-near-miss", subdir="deploy")
    env = {"RECONCILER_CACHE_DIR": str(tmp_path / "cache")}
    first = _cli("validate", repo.url, "--path", "deploy", "-o", "json", env=env)
    pack = _pack(tmp_path / "cache")
    written = pack.stat().st_mtime_ns
    second = _cli("validate", repo.url, "--path", "deploy", "-o", "json", env=env)
    assert first.stdout == second.stdout and first.returncode == second.returncode == 1
    assert pack.stat().st_mtime_ns == written  # every file was found: the pack was not written again


def test_two_processes_filling_the_cache_at_once(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "invalid", root)
    env = {**os.environ, "RECONCILER_CACHE_DIR": str(tmp_path / "cache")}
    expected = _cli("validate", str(root), "-o", "json", "--no-cache").stdout
    for round_ in range(3):
        (root / f"round-{round_}.yaml").write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: r{round_}\n")
        expected = _cli("validate", str(root), "-o", "json", "--no-cache").stdout
        procs = [subprocess.Popen([sys.executable, "-m", "reconciler", "validate", str(root), "-o", "json"], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert out == expected, err
    assert [p.name for p in (tmp_path / "cache" / sc.SUBDIR).iterdir()] == [_pack(tmp_path / "cache").name]  # no temporary file left
    warm = _cache(tmp_path / "cache", root)
    _findings(root, warm)
    assert warm.misses == 0


def test_findings_survive_the_round_trip():
    from reconciler.findings import Finding, Severity

    finding = Finding(file="a/b.yaml", line=3, col=5, path="spec.x[0]", message="m ☃", hint="h", severity=Severity.WARNING, rule="r",
                      object="Rollout/ns/n")
    objects = [({"kind": "Rollout"}, 1, 1, 0, {"shape": [finding], "strategy.check": []}), ({"kind": "Service"}, 9, 1, 1, {"shape": [], "x": []}),
               ({"kind": "Service"}, 12, 1, 2, {}), ({"kind": "Service"}, 14, 1, 3, None)]
    entry = json.loads(json.dumps(sc.encode_entry("k", objects, [replace(finding, line=9)])))
    assert sc.decode_entry(entry, "k") == (objects, [replace(finding, line=9)])
    assert sc.decode_entry(entry, "other") is None
