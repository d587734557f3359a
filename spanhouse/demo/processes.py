"""The demo's child processes: started in process groups of their own, told by the kernel to
stop when the demo dies (``PR_SET_PDEATHSIG``, Linux), and stopped group by group: SIGTERM,
then SIGKILL for whatever is still there after a grace period."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

PR_SET_PDEATHSIG = 1


def _load_libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _load_libc()  # loaded before any fork: the child only calls into it


def _die_with(parent_pid: int):
    def preexec() -> None:
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:  # the demo died before prctl took effect
            os._exit(1)
    return preexec


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    log_path: Path
    log: IO = field(repr=False, default=None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Children:
    """Every process the demo started, in start order."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[Child] = []

    def start(self, name: str, argv: list[str], env: dict | None = None,
              stdout_pipe: bool = False, cwd: str | Path | None = None) -> Child:
        log_path = self.log_dir / f"{name}.log"
        log = open(log_path, "w", encoding="utf-8")
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else log, stderr=log,
            text=True, env={**os.environ, **(env or {})}, cwd=cwd,
            start_new_session=True, preexec_fn=_die_with(os.getpid()))
        child = Child(name, proc, log_path, log)
        self.started.append(child)
        return child

    def pids(self) -> dict[str, int]:
        return {c.name: c.pid for c in self.started}

    def stop(self, names: list[str] | None = None, grace_s: float = 5.0) -> None:
        """SIGTERM to each chosen child's process group, wait up to ``grace_s``, then SIGKILL."""
        chosen = [c for c in self.started if names is None or c.name in names]
        for child in chosen:
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for child in chosen:
            try:
                child.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for child in chosen:
            _signal_group(child, signal.SIGKILL)  # stragglers, and any grandchildren
            try:
                child.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            if child.log is not None:
                child.log.close()
                child.log = None


def _signal_group(child: Child, sig: int) -> None:
    try:
        os.killpg(child.pid, sig)  # start_new_session: the group id is the child's pid
    except (ProcessLookupError, PermissionError):
        pass
