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
    _write(tmp_path, "values.yaml", "image: nginx\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
    result = load_directory(tmp_path)
    assert [m.name for m in result.manifests] == ["s"]
    (finding,) = result.findings
    assert finding.severity.value == "warning" and finding.rule == "not-kubernetes" and finding.line == 1


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
