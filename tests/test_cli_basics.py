import subprocess
import sys


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "reconciler", "--help"], capture_output=True, text=True, check=True).stdout
    assert "get" in out and "list" in out


def test_parse_now_accepts_rfc3339_z():
    from reconciler.commands.common import parse_now

    assert parse_now("2026-01-01T00:00:00Z").isoformat() == "2026-01-01T00:00:00+00:00"


def test_parse_now_rejects_garbage():
    import pytest

    from reconciler.commands.common import parse_now
    from reconciler.errors import UsageError

    with pytest.raises(UsageError):
        parse_now("yesterday")
