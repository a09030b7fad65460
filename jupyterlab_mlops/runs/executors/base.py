"""The executor interface, and the process helpers every executor shares.

A run is executed by ``python -m jupyterlab_mlops.runs.worker RUN_ID`` (papermill in its own
process). The queue lives in the database, so the server, the CLI and workers can all hand runs
to an executor; the executor only decides where and when a queued run's worker process starts.
"""

from __future__ import annotations

import socket
import sys
from abc import ABC, abstractmethod
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from ..service import RunService

KILL_WAIT_SECONDS = 10.0
STANDBY = "--standby"


def worker_command(run_id: str | None) -> list[str]:
    """The worker for ``run_id``; ``None``: a standby worker that reads its run id on stdin."""
    return [sys.executable, "-m", "jupyterlab_mlops.runs.worker", run_id or STANDBY]


def this_host() -> str:
    return socket.gethostname()


def _process(
    pid: int | None, started_at: datetime | None, run_id: str | None = None
) -> psutil.Process | None:
    """The live process with this pid, unless the pid now belongs to another process.

    A worker is recognised by its command line (it names the run); for other processes (an
    interactive run's kernel) the start time is compared, with a wide margin because VM clocks
    can be stepped.
    """
    if not pid:
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        if run_id is not None:  # a worker started for this run, or a standby worker given it
            cmdline = proc.cmdline()
            return proc if run_id in cmdline or STANDBY in cmdline else None
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


class Executor(ABC):
    """Starts worker processes for queued runs. One instance per ``RunService``."""

    #: stored in ``Run.executor``; a run is only ever handled by executors of its kind
    name: str = "base"

    def __init__(self, service: RunService):
        self.service = service
        self.mlops = service.mlops

    def check_available(self) -> None:
        """Raise ``Unavailable`` when runs cannot be executed (checked before recording one)."""
        return None

    @abstractmethod
    def launch(self, run_ids: list[str]) -> None:
        """Newly queued runs exist: start what may start now (the rest stays queued)."""

    def tick(self) -> None:
        """Periodic housekeeping (reap children, start queued runs)."""
        return None

    def kill(self, run: dict[str, Any]) -> bool:
        """Stop a running run's process tree. The run's state was already updated."""
        if run.get("host") != this_host():
            return False
        return kill_process_tree(
            run.get("pid"), _parse_time(run.get("started_at")), run_id=run["id"]
        )

    def stop(self) -> None:
        """Release resources (connections); running workers keep running."""
        return None


def _parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)
