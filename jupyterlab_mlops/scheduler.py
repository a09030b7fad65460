"""One scheduler for every periodic job: the run queue, alias following, drift monitors, …

Each job is a function called every ``interval`` seconds in its own daemon thread, so a slow job
(a drift check over a large window) never delays another (the run queue). Jobs must be safe to
run from several processes against one store: they claim their work in the database, never
through state held here. ``trigger(name)`` wakes a job at once (a run was queued, an alias
moved) instead of waiting for its next tick.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    interval: float
    func: Callable[[], object]
    wake: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    runs: int = 0
    failures: int = 0
    #: when its last tick began and ended (UTC), failed or not: "is this process's scheduler
    #: alive, and has it looked at the store since …?"
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None


class Scheduler:
    """Runs registered jobs periodically in background threads until ``stop``."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._stopping = threading.Event()
        self._started = False

    def add_job(self, name: str, interval: float, func: Callable[[], object]) -> None:
        """Register ``func`` to run every ``interval`` seconds (``interval <= 0``: never)."""
        if name in self._jobs:
            raise ValueError(f"a job named {name!r} is already scheduled")
        job = Job(name, float(interval), func)
        self._jobs[name] = job
        if self._started:
            self._start_job(job)

    @property
    def jobs(self) -> dict[str, Job]:
        return dict(self._jobs)

    def status(self) -> dict[str, Any]:
        """Whether the jobs run in this process, and how each has fared (``GET /health``)."""
        return {
            "running": self._started,
            "jobs": [
                {
                    "name": job.name,
                    "interval_seconds": job.interval,
                    "runs": job.runs,
                    "failures": job.failures,
                    "last_started_at": job.last_started_at,
                    "last_finished_at": job.last_finished_at,
                }
                for job in self._jobs.values()
            ],
        }

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._stopping.clear()
        for job in self._jobs.values():
            self._start_job(job)

    def trigger(self, name: str) -> None:
        """Run job ``name`` as soon as its thread is free, instead of at its next tick."""
        job = self._jobs.get(name)
        if job is not None:
            job.wake.set()

    def run_once(self, name: str) -> None:
        """Run job ``name`` now in the caller's thread (tests, the CLI)."""
        self._run(self._jobs[name])

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        for job in self._jobs.values():
            job.wake.set()
        for job in self._jobs.values():
            if job.thread is not None:
                job.thread.join(timeout)
                job.thread = None
        self._started = False

    def _start_job(self, job: Job) -> None:
        if job.interval <= 0:
            return
        job.thread = threading.Thread(
            target=self._loop, args=(job,), name=f"mlops-{job.name}", daemon=True
        )
        job.thread.start()

    def _loop(self, job: Job) -> None:
        while not self._stopping.is_set():
            self._run(job)
            job.wake.wait(job.interval)
            job.wake.clear()

    def _run(self, job: Job) -> None:
        job.last_started_at = datetime.now(timezone.utc)
        try:
            job.func()
            job.runs += 1
        except Exception:  # one failed tick must not end the job
            job.failures += 1
            log.exception("scheduled job %s failed", job.name)
        finally:
            job.last_finished_at = datetime.now(timezone.utc)
