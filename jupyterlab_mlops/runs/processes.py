"""Worker processes on this machine: the worker's command line, liveness, killing a tree.

A run is executed by ``python -m jupyterlab_mlops.runs.worker RUN_ID`` (papermill in its own
process, in its own session). A pid alone does not identify a worker — pids are reused — so a
worker is recognised by its command line (which names its run, or ``--standby`` for the warm
worker that was handed the run), and any other process (an interactive run's kernel) by its
start time. Shared by the executors and the run supervision; knows nothing of the store.
"""

from __future__ import annotations

import socket
import sys
from datetime import datetime
from typing import Any

import psutil

KILL_WAIT_SECONDS = 10.0
STANDBY = "--standby"
WORKER_MODULE = "jupyterlab_mlops.runs.worker"


def worker_command(run_id: str | None) -> list[str]:
    """The worker for ``run_id``; ``None``: a standby worker that reads its run id on stdin."""
    return [sys.executable, "-m", WORKER_MODULE, run_id or STANDBY]


def this_host() -> str:
    return socket.gethostname()


def _process(
    pid: int | None, started_at: datetime | None, run_id: str | None = None
) -> psutil.Process | None:
    """The live process with this pid, unless the pid now belongs to another process.

    A worker is recognised by its command line (it names the run); for other processes (an
    interactive run's kernel, a CLI executing its run itself) the start time is compared, with a
    wide margin because VM clocks can be stepped.
    """
    if not pid:
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        if run_id is not None:  # a worker started for this run, or a standby worker given it
            cmdline = proc.cmdline()
            if run_id in cmdline or STANDBY in cmdline:
                return proc
            # else a process executing the run itself (the CLI): known by its start time
        if started_at is not None and proc.create_time() > started_at.timestamp() + 60.0:
            return None  # a newer process got the same pid
        return proc
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def process_alive(pid: int | None, started_at: datetime | None, run_id: str | None = None) -> bool:
    return _process(pid, started_at, run_id) is not None


def kill_process_tree(
    pid: int | None, started_at: datetime | None, run_id: str | None = None
) -> bool:
    """Kill a worker and everything below it (the kernel and anything it started)."""
    proc = _process(pid, started_at, run_id)
    if proc is None:
        return False
    try:
        tree = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = [proc]
    for p in tree:  # the parent first, so it cannot restart a kernel it sees dying
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    _gone, alive = psutil.wait_procs(tree, timeout=KILL_WAIT_SECONDS)
    return not alive


def kill_children() -> None:
    """Kill every process below this one (a worker stopping its kernel on a timeout)."""
    for child in psutil.Process().children(recursive=True):
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


def parse_time(value: Any) -> datetime | None:
    """A run dict's ISO timestamp (or a datetime) as a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)
