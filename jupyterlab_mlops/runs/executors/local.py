"""The embedded default: each run is a local worker subprocess, at most N at once.

The queue is the ``runs`` table. ``dispatch`` claims the oldest queued run inside a write
transaction (SQLite ``BEGIN IMMEDIATE``), starts its worker and records the pid in that same
transaction, so two processes (the server, a CLI, a finishing worker) can never start the same
run twice or exceed the limit together, and a crash never leaves a run "running" without a pid.
Workers run in their own session: they survive the process that started them, and a finishing
worker dispatches the next queued run itself, so the queue drains even without a server.

In a long-lived process (the server) one *standby* worker is kept warm — started, with papermill
and the store already imported, waiting for a run id on stdin — so a run does not pay for
Python's start-up and imports (seconds on a busy machine). It is started after the first run,
so servers that never run notebooks never pay for it.
"""

from __future__ import annotations

import subprocess
import threading
from datetime import datetime, timezone

from sqlalchemy import func, select

from ...store.models import Run
from .base import Executor, this_host, worker_command


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, service):
        super().__init__(service)
        self._children: list[subprocess.Popen] = []
        self._standby: subprocess.Popen | None = None
        self._lock = threading.Lock()

    @property
    def max_concurrent(self) -> int:
        return max(1, int(self.mlops.max_concurrent_runs))

    def launch(self, run_ids: list[str]) -> None:
        self.dispatch()

    def tick(self) -> None:
        self._reap()
        self.dispatch()

    def dispatch(self) -> list[str]:
        """Start queued runs while fewer than ``max_concurrent`` are running; return their ids."""
        started: list[str] = []
        while True:
            run_id = self._claim_next()
            if run_id is None:
                break
            started.append(run_id)
        if started and self.service.long_lived:
            self._ensure_standby()
        return started

    def _spawn(self, run_id: str | None) -> subprocess.Popen:
        name = run_id or "standby"
        with open(self.service.log_path(name), "ab") as log:
            return subprocess.Popen(
                worker_command(run_id),
                env=self.service.worker_environment(run_id),
                cwd=str(self.mlops.root_dir),
                stdin=subprocess.PIPE if run_id is None else subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _ensure_standby(self) -> None:
        with self._lock:
            if self._standby is None or self._standby.poll() is not None:
                try:
                    self._standby = self._spawn(None)
                except OSError:
                    self._standby = None

    def _take_standby(self, run_id: str) -> subprocess.Popen | None:
        """Hand ``run_id`` to the warm standby worker, if there is a live one."""
        child, self._standby = self._standby, None
        if child is None or child.poll() is not None or child.stdin is None:
            return None
        try:
            child.stdin.write(f"{run_id}\n".encode())
            child.stdin.close()
        except OSError:
            child.kill()
            return None
        return child

    def _any_queued(self) -> bool:
        """A plain read first, so an idle queue never takes the store's write lock."""
        with self.mlops.db.session() as session:
            return (
                session.scalar(
                    select(Run.id).where(Run.status == "queued", Run.executor == self.name).limit(1)
                )
                is not None
            )

    def _claim_next(self) -> str | None:
        if not self._any_queued():
            return None
        with self._lock, self.mlops.db.write_session() as session:
            running = session.scalar(
                select(func.count())
                .select_from(Run)
                .where(Run.status == "running", Run.executor == self.name, Run.kind == "batch")
            )
            if running >= self.max_concurrent:
                return None
            run = session.scalars(
                select(Run)
                .where(Run.status == "queued", Run.executor == self.name)
                .order_by(Run.created_at, Run.id)
                .limit(1)
            ).first()
            if run is None:
                return None
            now = datetime.now(timezone.utc)
            try:
                child = self._take_standby(run.id) or self._spawn(run.id)
            except OSError as err:
                run.status = "failed"
                run.status_reason = f"could not start the worker process: {err}"
                run.finished_at = now
                return run.id
            self._children.append(child)
            run.status = "running"
            run.pid = child.pid
            run.host = this_host()
            run.started_at = datetime.now(timezone.utc)
            return run.id

    def _reap(self) -> None:
        with self._lock:
            self._children = [c for c in self._children if c.poll() is None]

    def stop(self) -> None:
        with self._lock:
            standby, self._standby = self._standby, None
        if standby is not None and standby.poll() is None:
            standby.kill()
            standby.wait(timeout=10)
        self._reap()
