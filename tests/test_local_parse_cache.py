"""The embedded cluster's parse cache (reconciler/cluster/parse_cache.py): unchanged files are not
parsed again; an edited file, a corrupted or foreign cache, or a non-JSON object never gives
anything but what parsing the file gives."""

import json
from datetime import datetime, timezone

import pytest

from reconciler.cluster import local, parse_cache
from reconciler.cluster.local import LocalCluster

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def service(name, port=80):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"app": name}, "ports": [{"port": port}]}}


@pytest.fixture
def parses(monkeypatch):
    """The files the embedded cluster parses (by name)."""
    seen = []
    real = local._parse

    def counting(path, data):
        seen.append(path.name)
        return real(path, data)

    monkeypatch.setattr(local, "_parse", counting)
    return seen


def fresh(tmp_path):
    return LocalCluster(tmp_path, now=NOW)


def names(objects):
    return [o["metadata"]["name"] for o in objects]


def test_unchanged_files_are_not_parsed_again(tmp_path, parses):
    for name in ("a", "b", "c"):
        (tmp_path / "default" / "Service").mkdir(parents=True, exist_ok=True)
        (tmp_path / "default" / "Service" / f"{name}.yaml").write_text(local._dump(service(name)))
    first = fresh(tmp_path).list("Service", "default")
    assert sorted(parses) == ["a.yaml", "b.yaml", "c.yaml"]
    parses.clear()
    second = fresh(tmp_path).list("Service", "default")
    assert parses == [] and second == first
    assert (tmp_path / parse_cache.CACHE_DIR / "default" / "Service.json").is_file()


def test_writes_are_recorded_so_the_next_read_does_not_parse_them(tmp_path, parses):
    cluster = fresh(tmp_path)
    cluster.create(service("a"))
    stored = cluster.create(service("b"))
    stored["spec"]["ports"][0]["port"] = 8080
    cluster.replace(stored)
    parse_cache.flush()
    parses.clear()
    listed = fresh(tmp_path).list("Service", "default")
    assert parses == []
    assert [o["spec"]["ports"][0]["port"] for o in listed] == [80, 8080]
    assert listed == [local._load(p) for p in sorted((tmp_path / "default" / "Service").glob("*.yaml"))]



def test_many_writes_are_merged_as_they_come_not_held_to_the_end(tmp_path, parses, monkeypatch):
    """A run writing tens of thousands of objects holds at most PENDING_LIMIT of them per cache file
    (a 10,000-Rollout run held them all until exit); Events are not remembered at all."""
    monkeypatch.setattr(parse_cache, "PENDING_LIMIT", 3)
    cluster = fresh(tmp_path)
    for name in ("a", "b", "c", "d"):
        cluster.create(service(name))
    cluster.emit_event(service("a"), "Created", "made", now=NOW)
    cache = tmp_path / parse_cache.CACHE_DIR / "default" / "Service.json"
    assert sorted(json.loads(cache.read_text())["entries"]) == ["a.yaml", "b.yaml", "c.yaml"]  # merged at the third
    assert list(parse_cache._pending.get(cache, {})) == ["d.yaml"]  # waiting
    assert not parse_cache._pending.get(tmp_path / parse_cache.CACHE_DIR / "default" / "Event.json")  # never remembered
    parse_cache.flush()
    parses.clear()
    assert names(fresh(tmp_path).list("Service", "default")) == ["a", "b", "c", "d"] and parses == []
    assert len(fresh(tmp_path).list("Event", "default")) == 1 and len(parses) == 1  # parsed once, when read

def test_a_hand_edit_is_parsed_again(tmp_path, parses):
    cluster = fresh(tmp_path)
    cluster.create(service("a"))
    cluster.create(service("b"))
    fresh(tmp_path).list("Service", "default")
    path = tmp_path / "default" / "Service" / "a.yaml"
    path.write_text(path.read_text().replace("port: 80", "port: 81"))
    parses.clear()
    listed = fresh(tmp_path).list("Service", "default")
    assert parses == ["a.yaml"]
    assert [o["spec"]["ports"][0]["port"] for o in listed] == [81, 80]


def test_a_deleted_file_leaves_the_cache(tmp_path):
    cluster = fresh(tmp_path)
    cluster.create(service("a"))
    cluster.create(service("b"))
    cluster.list("Service", "default")
    cluster.delete("Service", "default", "a")
    assert names(fresh(tmp_path).list("Service", "default")) == ["b"]
    entries = json.loads((tmp_path / parse_cache.CACHE_DIR / "default" / "Service.json").read_text())["entries"]
    assert list(entries) == ["b.yaml"]


def _cache_file(tmp_path):
    return tmp_path / parse_cache.CACHE_DIR / "default" / "Service.json"


@pytest.mark.parametrize("damage", ["garbage", "not-utf8", "truncated", "other-format", "other-loader", "entries-not-a-map",
                                    "entry-shape", "forged-object", "list"])
def test_a_corrupted_or_foreign_cache_is_ignored_and_rebuilt(tmp_path, parses, damage):
    cluster = fresh(tmp_path)
    cluster.create(service("a"))
    cluster.create(service("b"))
    truth = fresh(tmp_path).list("Service", "default")
    cache = _cache_file(tmp_path)
    good = json.loads(cache.read_text())
    if damage == "garbage":
        cache.write_text("{{{ not json")
    elif damage == "not-utf8":
        cache.write_bytes(b"\xff\xfe\x00garbage")
    elif damage == "truncated":
        cache.write_text(cache.read_text()[:40])
    elif damage == "other-format":
        cache.write_text(json.dumps({**good, "format": 999}))
    elif damage == "other-loader":
        cache.write_text(json.dumps({**good, "loader": "someone-else-1.0"}))
    elif damage == "entries-not-a-map":
        cache.write_text(json.dumps({**good, "entries": ["a.yaml"]}))
    elif damage == "entry-shape":
        cache.write_text(json.dumps({**good, "entries": {"a.yaml": "x", "b.yaml": [1, 2, 3]}}))
    elif damage == "forged-object":  # an entry whose digest is not that of the file's bytes
        forged = {**good, "entries": {name: ["0" * 32, {"kind": "Service", "metadata": {"name": "evil"}}] for name in good["entries"]}}
        cache.write_text(json.dumps(forged))
    elif damage == "list":
        cache.write_text("[1, 2]")
    parses.clear()
    assert fresh(tmp_path).list("Service", "default") == truth
    assert sorted(parses) == ["a.yaml", "b.yaml"]  # nothing was taken from the damaged cache
    assert json.loads(cache.read_text())["entries"].keys() == good["entries"].keys()  # rebuilt
    parses.clear()
    assert fresh(tmp_path).list("Service", "default") == truth and parses == []


def test_objects_handed_out_are_the_callers_own(tmp_path):
    cluster = fresh(tmp_path)
    cluster.create(service("a"))
    first = cluster.list("Service", "default")
    first[0]["spec"]["ports"][0]["port"] = 1
    assert fresh(tmp_path).list("Service", "default")[0]["spec"]["ports"][0]["port"] == 80
    assert cluster.list("Service", "default")[0]["spec"]["ports"][0]["port"] == 80


def test_what_json_cannot_hold_is_parsed_every_time(tmp_path, parses):
    directory = tmp_path / "default" / "ConfigMap"
    directory.mkdir(parents=True)
    (directory / "stamp.yaml").write_text("kind: ConfigMap\nmetadata: {name: stamp}\ndata:\n  at: 2026-01-01 00:00:00\n  1: one\n")
    for _ in range(2):
        parses.clear()
        (obj,) = fresh(tmp_path).list("ConfigMap", "default")
        assert parses == ["stamp.yaml"]
        assert obj["data"] == {"at": datetime(2026, 1, 1), 1: "one"}  # as PyYAML reads it, not as JSON would


def test_a_file_that_does_not_parse_still_says_which(tmp_path):
    cluster = fresh(tmp_path)
    cluster.create(service("a"))
    cluster.list("Service", "default")
    (tmp_path / "default" / "Service" / "a.yaml").write_text("kind: Service\nmetadata: {name: [\n")
    with pytest.raises(local.ClusterError, match="a.yaml cannot be read"):
        fresh(tmp_path).list("Service", "default")
