"""Waiting for and stopping the processes a cluster, a test stack or a benchmark runs, each in its own process
group, so that what it started (Rasa's Duckling child, uvicorn's workers) goes with it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable

# How long a process may take to finish what it is doing after SIGTERM before it is killed.
STOP_GRACE_SECONDS = 20


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the process's group, then SIGKILL if it has not ended within the grace period."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        kill_group(process)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL to the process's group, as a crash or a lost machine: nothing of it gets to clean up."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def wait_ready(
    names: Iterable[str],
    process_of: Callable[[str], subprocess.Popen],
    ready: Callable[[str], bool],
    log_tail: Callable[[str], str],
    timeout: float,
) -> None:
    """Until every named process answers `ready`; a process that exits first, or the timeout, raises with its log."""
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            if process_of(name).poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{log_tail(name)}")
            if ready(name):
                pending.discard(name)
        time.sleep(0.3)
    if pending:
        first = sorted(pending)[0]
        raise RuntimeError(f"not ready after {timeout}s: {sorted(pending)}\n{log_tail(first)}")
