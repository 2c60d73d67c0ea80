"""The layering and typing rules are enforced by tools (issue 11): import-linter's contracts
(.importlinter) and mypy's settings (pyproject.toml [tool.mypy]) pass on the tree, and each of
them fails on a seeded violation in a copy of the package, so a green CI means something.

Each seeded test copies reconciler/ and the tool's configuration into a temporary directory,
breaks one rule there and runs the tool as .ci/run does, on that copy only."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "reconciler", tree / "reconciler", ignore=shutil.ignore_patterns("__pycache__"))
    for name in (".importlinter", "pyproject.toml"):
        shutil.copy(ROOT / name, tree / name)
    return tree


def _env(tree: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(tree))  # the copy's package, not the checkout's


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=_env(tree), capture_output=True, text=True, timeout=120)


def _seed(tree: Path, module: str, line: str) -> None:
    path = tree / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def _status(flat: str, name: str) -> str:
    after = flat.split(name, 1)[1]
    kept, broken = after.find(" KEPT"), after.find(" BROKEN")
    if broken != -1 and (kept == -1 or broken < kept):
        return "BROKEN"
    return "KEPT"


def test_the_tree_keeps_every_import_contract():
    done = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, env=_env(ROOT), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract", "edge"),
    [
        # the core reaches an adapter: the Kubernetes backend, an HTTP client, git through subprocess
        ("reconciler.engine.hashing", "import reconciler.cluster.kube", "The core", "reconciler.engine.hashing -> reconciler.cluster"),
        ("reconciler.analysis.run", "import requests", "The core", "reconciler.analysis.run -> requests"),
        ("reconciler.render.table", "import subprocess", "The core", "reconciler.render.table -> subprocess"),
        # a lower layer imports a higher one (and so closes a cycle between sibling packages)
        ("reconciler.manifests.model", "from reconciler.commands import undo", "Layers:", "reconciler.manifests.model -> reconciler.commands.undo"),
        ("reconciler.manifests.model", "from reconciler.commands import undo", "No import cycles", ".manifests -> .commands"),
        # a cycle inside a package, where none is allowed any more: the router registry and the
        # router it names, the notification config and the built-in catalogue (issue 11 removed both)
        ("reconciler.engine.traffic.istio", "from reconciler.engine.traffic import routers", "No import cycles", ".routers -> .istio"),
        ("reconciler.notifications.triggers", "from reconciler.notifications import config", "No import cycles", ".triggers -> .config"),
        # a stage imports a later stage
        ("reconciler.pipeline.observe", "from reconciler.pipeline import apply", "Pipeline stages", "reconciler.pipeline.observe -> reconciler.pipeline.apply"),
        # a shared root module imports a subpackage
        ("reconciler.errors", "import reconciler.engine.state", "Shared modules", "reconciler.errors -> reconciler.engine.state"),
    ],
)
def test_a_seeded_import_breaks_its_contract(tmp_path, module, line, contract, edge):
    tree = _copy(tmp_path)
    _seed(tree, module, line)
    done = _lint_imports(tree)
    assert done.returncode == 1, done.stdout + done.stderr
    flat = " ".join(done.stdout.split())
    assert _status(flat, contract) == "BROKEN", done.stdout
    assert edge in done.stdout, done.stdout
    assert "0 broken" not in done.stdout


def _mypy(tree: Path, *files: str) -> subprocess.CompletedProcess[str]:
    # The configuration of the copy (pyproject.toml) with its own cache: only the named files.
    return subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tree / ".mypy_cache"), *files], cwd=tree, env=_env(tree),
                          capture_output=True, text=True, timeout=300)


def test_mypy_reports_a_seeded_type_error_and_a_strict_violation(tmp_path):
    tree = _copy(tmp_path)
    clean = _mypy(tree, "reconciler/suggest.py", "reconciler/kinds.py")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    _seed(tree, "reconciler.kinds", 'WRONG: int = "not a number"')  # an error at mypy's default level
    _seed(tree, "reconciler.suggest", "def untyped(name):\n    return name")  # allowed by default, not in a strict module
    done = _mypy(tree, "reconciler/suggest.py", "reconciler/kinds.py")
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'reconciler/kinds.py:' in done.stdout and "[assignment]" in done.stdout, done.stdout
    assert "reconciler/suggest.py:" in done.stdout and "[no-untyped-def]" in done.stdout, done.stdout


@pytest.mark.slow
def test_mypy_passes_on_the_tree():
    """What .ci/run runs; the cache (.mypy_cache in the checkout) makes a re-run take seconds."""
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, env=_env(ROOT), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout
