"""The hardened loader: positions, limits against hostile input, findings instead of crashes."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.manifests.loader import Limits, load_directory

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_every_fixture_loads_with_positions():
    result = load_directory(FIXTURES / "canary-nginx")
    assert [m.kind for m in result.manifests] == ["ConfigMap", "Rollout"]
    rollout = result.manifests[1]
    assert (rollout.file, rollout.line, rollout.col) == ("nginx.yaml", 35, 1)
    assert rollout.locate(("spec", "strategy", "canary", "steps", 2, "setWeight")) == (45, 9)
    assert rollout.locate(("spec", "template", "spec", "containers", 1, "image")) == (77, 9)
    assert rollout.locate(("spec", "no", "such")) == (39, 1)  # nearest existing parent
    assert rollout.ref == "Rollout/default/rollout-test-canary-nginx"
    assert result.findings == []


def test_recursive_multi_document_and_hidden_dirs_skipped(tmp_path):
    _write(tmp_path, "a/b/two.yml", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n")
    _write(tmp_path, ".git/config.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: hidden}\n")
    _write(tmp_path, "notes.txt", "kind: Service\n")
    result = load_directory(tmp_path)
    assert [(m.name, m.file, m.line, m.doc_index) for m in result.manifests] == [("a", "a/b/two.yml", 1, 0), ("b", "a/b/two.yml", 5, 1)]


def test_timestamps_stay_strings_and_values_are_plain(tmp_path):
    _write(tmp_path, "x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  creationTimestamp: 2020-10-10T01:57:48Z\ndata: {a: '1'}\n")
    obj = load_directory(tmp_path).manifests[0].obj
    assert obj["metadata"]["creationTimestamp"] == "2020-10-10T01:57:48Z"


def test_non_kubernetes_document_is_a_warning(tmp_path):
    _write(tmp_path, "settings.yaml", "image: nginx\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
    result = load_directory(tmp_path)
    assert [m.name for m in result.manifests] == ["s"]
    (finding,) = result.findings
    assert finding.severity.value == "warning" and finding.rule == "not-kubernetes" and finding.line == 1


def test_kustomize_and_helm_folders_and_values_files_are_not_read_and_say_to_render_first(tmp_path):
    _write(tmp_path, "app.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
    _write(tmp_path, "values-prod.yaml", "replicaCount: 3\n")
    (tmp_path / "overlays" / "prod").mkdir(parents=True)
    _write(tmp_path / "overlays" / "prod", "kustomization.yaml", "resources: [../../app.yaml]\npatches: [{path: patch.yaml}]\n")
    _write(tmp_path / "overlays" / "prod", "patch.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: NodePort}\n")
    (tmp_path / "chart" / "templates").mkdir(parents=True)
    _write(tmp_path / "chart", "Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n")
    _write(tmp_path / "chart" / "templates", "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n")
    result = load_directory(tmp_path)
    assert [(m.kind, m.file) for m in result.manifests] == [("Service", "app.yaml")]
    by_file = {f.file: f for f in result.findings}
    assert set(by_file) == {"values-prod.yaml", "overlays/prod/kustomization.yaml", "chart/Chart.yaml"}
    assert {(f.severity.value, f.rule) for f in result.findings} == {("warning", "render-first")}
    assert "kustomize build overlays/prod" in by_file["overlays/prod/kustomization.yaml"].hint
    assert "helm template NAME chart" in by_file["chart/Chart.yaml"].hint
    assert "helm template" in by_file["values-prod.yaml"].hint
    # SOURCE that is itself a kustomize folder, or the kustomization file: nothing read, the one warning
    for source in (tmp_path / "overlays" / "prod", tmp_path / "overlays" / "prod" / "kustomization.yaml"):
        result = load_directory(source)
        assert result.manifests == [] and [f.rule for f in result.findings] == ["render-first"]


def test_duplicate_key_names_both_lines(tmp_path):
    _write(tmp_path, "d.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\n")
    result = load_directory(tmp_path)
    (finding,) = result.findings
    assert finding.rule == "duplicate-key" and (finding.line, finding.col) == (5, 3)
    assert "line 4" in finding.message and "line 5" in finding.message
    assert finding.path == "metadata.name" and finding.object == "Service/default/b"


def test_non_utf8_is_a_finding(tmp_path):
    (tmp_path / "bad.yaml").write_bytes(b"apiVersion: v1\nkind: ConfigMap\n# caf\xe9\n")
    (finding,) = load_directory(tmp_path).findings
    assert finding.rule == "encoding" and finding.line == 3 and "0xe9" in finding.message


def test_file_size_cap(tmp_path):
    _write(tmp_path, "big.yaml", "a: " + "x" * 2000 + "\n")
    result = load_directory(tmp_path, Limits(max_file_bytes=1000))
    assert [f.rule for f in result.findings] == ["file-too-large"] and result.manifests == []


def test_billion_laughs_is_refused_quickly(tmp_path):
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: lol}", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    _write(tmp_path, "lol.yaml", "\n".join(lines) + "\n")
    result = load_directory(tmp_path)
    assert result.manifests == [] and [f.rule for f in result.findings] == ["alias-expansion"]


def test_modest_aliases_are_fine(tmp_path):
    _write(tmp_path, "ok.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok, labels: &l {app: a}}\ndata: {x: '1'}\nextra: *l\n")
    assert load_directory(tmp_path).findings == []


def test_symlinks_leaving_the_root_are_refused(tmp_path):
    outside = tmp_path / "outside"
    _write(outside, "secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n")
    root = tmp_path / "repo"
    _write(root, "ok.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: ok}\n")
    os.symlink(outside / "secret.yaml", root / "link.yaml")
    os.symlink(outside, root / "linkdir")
    os.symlink(root / "ok.yaml", root / "inside.yaml")  # inside the root: fine
    result = load_directory(root)
    assert sorted(m.file for m in result.manifests) == ["inside.yaml", "ok.yaml"]
    assert sorted((f.file, f.rule) for f in result.findings) == [("link.yaml", "symlink-escape"), ("linkdir", "symlink-escape")]


def test_yaml_syntax_error_is_located(tmp_path):
    _write(tmp_path, "s.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: [x\n")
    (finding,) = load_directory(tmp_path).findings
    assert finding.rule == "yaml-syntax" and finding.line == 4


def test_deep_nesting_does_not_crash(tmp_path):
    _write(tmp_path, "deep.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n")
    result = load_directory(tmp_path)
    assert result.manifests == [] and result.findings  # a finding, not a RecursionError


# The loader builds objects itself (no node tree kept) and composes positions lazily: both must
# agree with PyYAML's own constructor and with an eager node tree.

YAML_11_SCALARS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: scalars}
data:
  yes_: yes
  on_: on
  Off_: Off
  no_: NO
  y_: y
  null_: ~
  Null_: Null
  empty_:
  hex: 0x1F
  octal: 017
  not_octal: 08
  underscored: 1_000
  sexagesimal: 1:30
  time: 12:30:00
  float: 1.5
  exp: 1.0e+3
  not_float: 1e3
  inf: -.inf
  plus: +12
  binary: 0b101
  quoted: "yes"
  single: '017'
  stamp: 2020-10-10T01:57:48Z
  date: 2024-01-01
  tagged_str: !!str 123
  tagged_int: !!int "42"
  folded: >
    a
    b
  literal: |
    c
  1: int key
  false: bool key
  ~: null key
  list: [1, "1", on, [], {}]
  schedule: "*/5 * * * *"
"""


def test_built_objects_equal_pyyaml_constructor():
    import yaml

    from reconciler.manifests.loader import Limits, _load_text
    from reconciler.manifests.yaml_nodes import loader_class as _loader_class

    texts = [YAML_11_SCALARS] + [p.read_text() for p in FIXTURES.rglob("*.yaml") if "non-utf8" not in str(p)]
    for text in texts:
        try:
            expected = [d for d in yaml.load_all(text, Loader=_loader_class()) if isinstance(d, dict) and d.get("kind") and d.get("apiVersion")]
        except yaml.YAMLError:
            continue  # the invalid-syntax fixture
        manifests, _ = _load_text(text, "x.yaml", Limits())
        assert [m.obj for m in manifests] == expected
    data = _load_text(YAML_11_SCALARS, "x.yaml", Limits())[0][0].obj["data"]
    assert (data["yes_"], data["on_"], data["Off_"], data["no_"], data["y_"]) == (True, True, False, False, "y")
    assert (data["hex"], data["octal"], data["not_octal"], data["sexagesimal"], data["not_float"]) == (31, 15, "08", 90, "1e3")
    assert (data["stamp"], data["tagged_str"], data["tagged_int"], data[1], data[False], data[None]) == ("2020-10-10T01:57:48Z", "123", 42, "int key", "bool key", "null key")


def test_fuzzed_scalars_equal_pyyaml_constructor():
    import yaml
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from reconciler.manifests.loader import Limits, _load_text
    from reconciler.manifests.yaml_nodes import loader_class as _loader_class

    plain = st.from_regex(r"[-+.~0-9a-zA-Z_:]{1,8}", fullmatch=True)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.tuples(st.from_regex(r"[a-z]{1,4}", fullmatch=True), plain), min_size=1, max_size=6))
    def run(pairs):
        body = "".join(f"  {k}: {v}\n" for k, v in pairs)
        text = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: f}}\ndata:\n{body}"
        try:
            expected = yaml.load(text, Loader=_loader_class())
        except (yaml.YAMLError, ValueError):
            return  # PyYAML itself gives no answer to compare with: e.g. `0x_` resolves as an int and int() fails
        (manifest,), _ = _load_text(text, "f.yaml", Limits())
        assert repr(manifest.obj) == repr(expected)  # repr: nan == nan

    run()


def test_merge_keys_and_explicit_tags_fall_back_to_pyyaml(tmp_path):
    _write(tmp_path, "m.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\nbase: &b {a: 1, b: 2}\ndata:\n  <<: *b\n  b: 3\n")
    _write(tmp_path, "s.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\ndata: !!set {a, b}\n")
    _write(tmp_path, "t.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: t}\ndata: !Ref other\n")
    result = load_directory(tmp_path)
    by_name = {m.name: m.obj for m in result.manifests}
    assert by_name["m"]["data"] == {"a": 1, "b": 3}
    assert by_name["s"]["data"] == {"a", "b"}
    assert [(f.file, f.rule, f.line) for f in result.findings] == [("t.yaml", "yaml-syntax", 4)]


def test_positions_are_composed_lazily_and_exactly(tmp_path):
    from reconciler.manifests.yaml_nodes import FilePositions as _FilePositions

    _write(tmp_path, "multi.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n# two\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n  labels:\n    app: b\n---\nkind: [broken\n")
    result = load_directory(tmp_path)
    first, second = result.manifests
    assert [f.rule for f in result.findings] == ["yaml-syntax"]
    assert second.locate(("metadata", "labels", "app")) == (11, 5)
    assert second.locate(("metadata", "name")) == (9, 3)
    assert first.locate(("metadata", "name")) == (3, 12)
    assert second.locate(("spec", "nothing")) == (6, 1)
    lazy = _FilePositions("a: 1\n")
    assert lazy.nodes is None and lazy.locator(0)(("a",)) == (1, 1) and lazy.nodes is not None


def test_duplicate_keys_found_in_nested_lists_and_with_aliases(tmp_path):
    _write(tmp_path, "d.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\nitems:\n- {a: 1, a: 2}\n")
    _write(tmp_path, "e.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: e, labels: &l {x: y}}\nextra: *l\nextra: 2\n")
    findings = load_directory(tmp_path).findings
    assert sorted((f.file, f.path, f.line, f.col) for f in findings) == [("d.yaml", "items[0].a", 5, 10), ("e.yaml", "extra", 5, 1)]


def test_positions_stay_exact_after_their_tree_was_dropped(tmp_path):
    from reconciler.manifests import yaml_nodes as loader

    for i in range(loader._COMPOSED_KEPT + 4):
        _write(tmp_path, f"f{i:02}.yaml", "apiVersion: v1\nkind: Service\n" + "# pad\n" * i + f"metadata:\n  name: s{i}\n")
    manifests = load_directory(tmp_path).manifests
    assert [m.locate(("metadata", "name")) for m in manifests] == [(i + 4, 3) for i in range(len(manifests))]
    assert len(loader._composed) <= loader._COMPOSED_KEPT
    assert manifests[0].locate(("metadata", "name")) == (4, 3)  # composed again


LIST = """\
apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: settings
  data:
    mode: production
- just a string
- apiVersion: v1
  kind: List
  items:
  - apiVersion: v1
    kind: Service
    metadata:
      name: web
    spec:
      ports:
      - port: 80
"""


def test_a_v1_list_stands_for_its_items_located_in_it(tmp_path):
    """kubectl applies a `kind: List` as its items (`kubectl get -o yaml` writes one): each item is a
    manifest located inside the list, a nested List too; an item that is no object is a warning."""
    (tmp_path / "all.yaml").write_text(LIST)
    loaded = load_directory(tmp_path)
    assert [(m.ref, m.line, m.col, m.list_item) for m in loaded.manifests] == [
        ("ConfigMap/default/settings", 6, 3, (0,)), ("Service/default/web", 16, 5, (2, 0))]
    settings, web = loaded.manifests
    assert settings.locate(("data", "mode")) == (11, 5) and web.locate(("spec", "ports", 0, "port")) == (22, 9)
    assert [(f.rule, f.severity.value, f.line, f.path) for f in loaded.findings] == [("not-kubernetes", "warning", 12, "items[1]")]


def test_undo_and_set_image_refuse_a_rollout_inside_a_list(tmp_path):
    import pytest

    from reconciler.commands.undo import find_rollout_manifest
    from reconciler.errors import ReconcilerError

    rollout = ("- apiVersion: argoproj.io/v1alpha1\n  kind: Rollout\n  metadata:\n    name: web\n"
               "  spec:\n    template:\n      spec:\n        containers: [{name: web, image: web:1}]\n")
    (tmp_path / "all.yaml").write_text("apiVersion: v1\nkind: List\nitems:\n" + rollout)
    with pytest.raises(ReconcilerError, match="item of a `kind: List` in all.yaml"):
        find_rollout_manifest(tmp_path, "web", "default")
