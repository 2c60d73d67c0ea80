"""Load every *.yaml / *.yml under a directory into Manifests with line positions.

(First version: plain recursive multi-document load. The intake work adds the limits against
hostile input, duplicate-key and encoding findings, and symlink checks.)
"""

from __future__ import annotations

from pathlib import Path

from reconciler.manifests.model import LoadResult, Manifest


def _yaml():
    from ruamel.yaml import YAML

    return YAML(typ="rt")


def _locator(doc):
    def locate(path):
        node, best = doc, (doc.lc.line + 1, doc.lc.col + 1)
        for part in path:
            try:
                if hasattr(node, "lc"):
                    if isinstance(part, int):
                        line, col = node.lc.item(part)
                    else:
                        line, col = node.lc.key(part)
                    best = (line + 1, col + 1)
                node = node[part]
            except (KeyError, IndexError, TypeError, AttributeError):
                break
        return best

    return locate


def load_directory(root: str | Path) -> LoadResult:
    root = Path(root)
    yaml = _yaml()
    manifests: list[Manifest] = []
    files = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file() and ".git" not in p.parts)
    for path in files:
        rel = path.relative_to(root).as_posix()
        for index, doc in enumerate(yaml.load_all(path.read_text(encoding="utf-8"))):
            if not isinstance(doc, dict) or "kind" not in doc:
                continue
            manifests.append(
                Manifest(obj=doc, file=rel, line=doc.lc.line + 1, col=doc.lc.col + 1, doc_index=index, locate_fn=_locator(doc))
            )
    return LoadResult(manifests=manifests, findings=[], files_read=len(files))
