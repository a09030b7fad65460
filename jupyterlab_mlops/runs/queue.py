"""The run queue is the ``runs`` table: claiming queued runs so each starts exactly once.

Any process that shares the store may start runs — the server, the CLI, a finishing worker —
so a claim must hold across processes, never through memory:

* **One run, one start.** The oldest queued run is chosen and moved to ``running`` in one write
  transaction, with the worker's pid recorded in that same transaction (the worker is started
  inside it), so a crash never leaves a run "running" without a pid and two processes never
  start the same run.
* **The concurrency limit holds across processes.** Counting the running runs and claiming the
  next one are serialised between claimers: SQLite takes the write lock at ``BEGIN IMMEDIATE``;
  PostgreSQL takes a transaction-scoped advisory lock; on other databases the chosen row is
  locked (``SELECT … FOR UPDATE``) and the move is conditional on it still being queued.

Executors reach this module only through the callables of their ``ExecutorContext``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from ..store.db import Database
from ..store.models import Run
from . import ACTIVE_STATES
from .processes import this_host

#: key of PostgreSQL's advisory lock that serialises claimers of one store
CLAIM_LOCK_KEY = zlib.crc32(b"jupyterlab_mlops.runs.queue")

#: ``start(run_id) -> pid``: starts the run's worker; ``OSError`` when it cannot
StartWorker = Callable[[str], int]


class RunQueue:
    """Claims on the queued runs of one store."""

    def __init__(self, db: Database):
        self.db = db

    def any_queued(self, executor: str) -> bool:
        """A plain read first, so an idle queue never takes the store's write lock."""
        with self.db.session() as session:
            return (
                session.scalar(
                    select(Run.id).where(Run.status == "queued", Run.executor == executor).limit(1)
                )
                is not None
            )

    def _serialise_claims(self, session: Session) -> None:
        if self.db.kind == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK_KEY})
        # SQLite: the write session began with BEGIN IMMEDIATE, which already serialises us.

    @staticmethod
    def _next_in_a_free_slot(session, executor: str, limit: int) -> Run | None:
        """The oldest queued run of ``executor``, locked, if fewer than ``limit`` are running."""
        running = session.scalar(
            select(func.count())
            .select_from(Run)
            .where(Run.status == "running", Run.executor == executor, Run.kind == "batch")
        )
        if running >= max(1, limit):
            return None
        return session.scalars(
            select(Run)
            .where(Run.status == "queued", Run.executor == executor)
            .order_by(Run.created_at, Run.id)
            .limit(1)
            .with_for_update()
        ).first()

    def claim_next(self, executor: str, limit: int, start: StartWorker) -> str | None:
        """Claim the oldest queued run of ``executor`` if fewer than ``limit`` are running.

        ``start(run_id)`` starts its worker and returns the pid; if it raises ``OSError`` the run
        is recorded as failed. Returns the claimed run's id (started or failed), or None.
        """
        if not self.any_queued(executor):
            return None
        with self.db.write_session() as session:
            self._serialise_claims(session)
            run = self._next_in_a_free_slot(session, executor, limit)
            if run is None:
                return None
            try:
                pid = start(run.id)
            except OSError as err:
                run.status = "failed"
                run.status_reason = f"could not start the worker process: {err}"
                run.finished_at = datetime.now(timezone.utc)
                return run.id
            run.status = "running"
            run.pid = pid
            run.host = this_host()
            run.started_at = datetime.now(timezone.utc)
            return run.id

    def claim_run(self, run_id: str, executor: str, limit: int, pid: int) -> bool:
        """Claim ``run_id`` for process ``pid`` (a CLI executing it itself) exactly as
        :meth:`claim_next` would: only if fewer than ``limit`` runs are running and it is the
        oldest queued run of its executor."""
        with self.db.write_session() as session:
            self._serialise_claims(session)
            oldest = self._next_in_a_free_slot(session, executor, limit)
            if oldest is None or oldest.id != run_id:
                return False
            oldest.status = "running"
            oldest.pid = pid
            oldest.host = this_host()
            oldest.started_at = datetime.now(timezone.utc)
            return True

    def claim_for_worker(self, run_id: str, pid: int, *, self_claiming: bool) -> bool:
        """May the worker process ``pid`` execute ``run_id``?

        Yes when an executor already claimed it for that pid; or, when the worker's executor
        leaves claiming to its workers (``self_claiming``, e.g. Dask), when it is still queued —
        then it is claimed here. No when it was cancelled or another process owns it.
        """
        with self.db.write_session() as session:
            run = session.get(Run, run_id, with_for_update=True)
            if run is None:
                return False
            if run.status == "running" and run.pid == pid:
                return True  # the local executor claimed it for us
            if run.status == "queued" and self_claiming:
                run.status = "running"
                run.pid = pid
                run.host = this_host()
                run.started_at = datetime.now(timezone.utc)
                return True
            return False

    def fail(self, run_id: str, reason: str, **values: Any) -> bool:
        """Mark a queued or running run failed (its executor could not run it)."""
        now = datetime.now(timezone.utc)
        with self.db.session() as session:
            result = session.execute(
                update(Run)
                .where(Run.id == run_id, Run.status.in_(ACTIVE_STATES))
                .values(status="failed", status_reason=reason, finished_at=now, **values)
            )
            return result.rowcount == 1
