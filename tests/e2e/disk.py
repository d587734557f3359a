"""A small real filesystem that tests can fill up: a tmpfs mount (root only)."""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest


class SmallDisk:
    def __init__(self, path: Path):
        self.path = path
        self.filler = path / "filler"

    def fill(self) -> None:
        """Take every free byte (the way a neighbour's log file would)."""
        with open(self.filler, "ab", buffering=0) as f:  # unbuffered: no flush left to fail
            for block in (b"\0" * (1024 * 1024), b"\0" * 4096):
                try:
                    while True:
                        f.write(block)
                except OSError:
                    pass

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def available(self) -> int:
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize


@contextmanager
def small_disk(path: Path, size_mib: int) -> Iterator[SmallDisk]:
    """Mount a ``size_mib`` tmpfs at ``path``; skipped (with the reason) where mounting is not
    allowed, e.g. not root."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill up (needs root): {done.stderr.strip()}")
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
