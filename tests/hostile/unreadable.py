"""Run the CLI as if one path could not be read (EACCES): `python -m tests.hostile.unreadable PATH ARGS...`.

The tests run as root, and root reads a chmod 000 file anyway, so chmod cannot make a file
unreadable here. This launcher simulates it honestly at the operating-system boundary instead:
opening PATH (a file) or listing it (a directory) raises PermissionError(EACCES), exactly what
a non-root reconciler gets from a chmod 000 file. Everything else runs unchanged.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import sys


def main() -> None:
    target = os.path.realpath(sys.argv[1])
    real_open, real_os_open, real_scandir, real_listdir = io.open, os.open, os.scandir, os.listdir

    def refused(path) -> bool:
        try:
            return os.path.realpath(os.fsdecode(path)) == target
        except TypeError:
            return False  # a file descriptor

    def deny(path):
        return PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))

    def guarded_open(file, *args, **kwargs):
        if not isinstance(file, int) and refused(file):
            raise deny(file)
        return real_open(file, *args, **kwargs)

    def guarded_os_open(path, *args, **kwargs):
        if refused(path):
            raise deny(path)
        return real_os_open(path, *args, **kwargs)

    def guarded_scandir(path="."):
        if not isinstance(path, int) and refused(path):
            raise deny(path)
        return real_scandir(path)

    def guarded_listdir(path="."):
        if not isinstance(path, int) and refused(path):
            raise deny(path)
        return real_listdir(path)

    builtins.open = io.open = guarded_open
    os.open, os.scandir, os.listdir = guarded_os_open, guarded_scandir, guarded_listdir
    sys.argv = ["reconciler", *sys.argv[2:]]
    from reconciler.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
