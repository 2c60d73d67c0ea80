import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(autouse=True)
def _no_ambient_reconciler_env(monkeypatch):
    """A developer's RECONCILER_* variables must not leak into tests."""
    for key in list(os.environ):
        if key.startswith("RECONCILER_"):
            monkeypatch.delenv(key, raising=False)
pytest_plugins = ["tests.backends", "tests.realkube"]
