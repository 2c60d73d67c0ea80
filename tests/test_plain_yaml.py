"""plan's diffs are built from the objects directly (reconciler/render/plain_yaml.py): the text must
be exactly what `yaml.dump` of the cleaned copy gave, for any plain data."""

from datetime import datetime, timezone

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from reconciler.render import plan as render

TRICKY = ["", " ", "yes", "No", "null", "~", "1e3", "0x1F", "1_000", "12:30:00", "2026-01-01", "2026-01-01T00:00:00Z", "-", "- a", "? x",
          "a: b", "#x", "x #y", "'", '"', "|", ">", "@", "`", "%", "!tag", "&a", "*a", "=", "<<", ".inf", "-.nan", " lead", "trail ",
          "multi\nline", "multi\nline\n", "\n", "tab\there", "ünïcödé ✓", "\x85", "\u2028", "a" * 120, "word " * 30]
scalars = st.one_of(st.sampled_from(TRICKY), st.text(max_size=30), st.integers(), st.booleans(), st.none(),
                    st.floats(allow_nan=True, allow_infinity=True))
keys = st.one_of(st.sampled_from(["status", "metadata", "resourceVersion", "uid", "name", "spec", "yes", "1", "a b", "multi\nkey"]),
                 st.text(max_size=8), st.integers(-3, 3))
plain = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                                                      st.dictionaries(keys, inner, max_size=5)), max_leaves=30)
objects = st.dictionaries(keys, st.one_of(plain, st.dictionaries(keys, plain, max_size=6)), max_size=6)


def reference(obj):
    return render.to_yaml(render._without_noise(obj))


@settings(max_examples=300, deadline=None)
@given(objects)
@example({"metadata": {"name": "x", "resourceVersion": "7", "uid": "u", "labels": {"a": "b"}}, "status": {"replicas": 1}, "spec": {}})
@example({"metadata": ["not", "a", "map"], "status": None})
@example({1: "one", "1": "string one", "spec": {"x": [[], {}, [{}]]}})
@example({"data": {"config.yaml": "a: 1\nb:\n  - c\n", "trailing": "x\n\n", "lead": "\n x"}})
def test_diff_text_is_what_yaml_dump_gave(obj):
    assert render._plain_yaml(obj, drop_noise=True) == reference(obj)


def test_what_is_not_plain_data_goes_through_the_dumper():
    moment = datetime(2026, 1, 1, tzinfo=timezone.utc)
    obj = {"spec": {"at": moment, "again": moment}, "metadata": {"name": "x"}}
    assert render._plain_yaml(obj, drop_noise=True) == reference(obj)
    with pytest.raises(yaml.representer.RepresenterError):
        render._plain_yaml({"spec": {"x": object()}}, drop_noise=True)
    with pytest.raises(yaml.representer.RepresenterError):
        reference({"spec": {"x": object()}})


def test_object_diff_leaves_out_status_and_server_metadata():
    before = {"metadata": {"name": "a", "resourceVersion": "1", "generation": 2}, "spec": {"replicas": 1}, "status": {"ready": 1}}
    after = {"metadata": {"name": "a", "resourceVersion": "9", "generation": 3}, "spec": {"replicas": 2}, "status": {"ready": 2}}
    assert render.object_diff(before, after, "default/ReplicaSet/a") == (
        "--- a/default/ReplicaSet/a\n+++ b/default/ReplicaSet/a\n@@ -1,4 +1,4 @@\n metadata:\n   name: a\n spec:\n-  replicas: 1\n+  replicas: 2\n")


# -- the embedded cluster's files: yaml.dump of the object as it is (insertion order, no _plain copy) --

from reconciler.cluster import local  # noqa: E402

as_is_objects = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner), st.dictionaries(keys, inner, max_size=5)), max_leaves=30)


def _outcome(dump, obj):
    try:
        return dump(obj)
    except yaml.YAMLError as err:
        return type(err)


def _reference_cluster_text(obj):
    return yaml.dump(obj, Dumper=local._Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, as_is_objects, max_size=6))
@example({"data": {"config.yaml": "a: 1\nb: 2\n"}, "metadata": {"name": "x", "annotations": {"z": "1", "a": "2"}}})
@example({"at": datetime(2026, 1, 1, tzinfo=timezone.utc), "1": 1, 1: "int key"})
def test_cluster_file_text_is_what_yaml_dump_gave(obj):
    assert _outcome(local._dump, obj) == _outcome(_reference_cluster_text, obj)


def test_shared_objects_keep_their_anchor_and_alias():
    shared = {"app": "web"}
    obj = {"metadata": {"labels": shared}, "spec": {"selector": shared, "list": [shared]}}
    text = local._dump(obj)
    assert text == _reference_cluster_text(obj) and "&id001" in text and "*id001" in text
