import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def _session_cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("reconciler-cache")


@pytest.fixture(autouse=True)
def _no_ambient_reconciler_env(monkeypatch, _session_cache_dir):
    """A developer's RECONCILER_* variables must not leak into tests. The source cache
    (--cache-dir) is one folder for the session, not the developer's ~/.cache."""
    for key in list(os.environ):
        if key.startswith("RECONCILER_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(_session_cache_dir))
pytest_plugins = ["tests.backends", "tests.realkube"]
