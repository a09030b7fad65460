"""The store of workflow records: create, advance step by step, finish, find orphans.

Only this module touches the ``workflows`` and ``workflow_steps`` tables. A workflow's steps are
declared when it is created (names in order); each then goes ``pending → running →
succeeded | failed | skipped``, and the workflow ends ``succeeded``, ``failed`` or
``cancelled``. Every change is one write transaction taken at BEGIN (``write_session``), so
concurrent writers queue instead of failing. Whoever advances a workflow claims it (``owner`` =
``host:pid``) and beats a heartbeat, so after a restart :meth:`WorkflowRecords.orphans` returns
exactly the workflows whose owner is gone.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from ..errors import InvalidInput, NotFound
from ..store.db import Database
from ..store.models import Workflow, WorkflowStep, utcnow

ACTIVE = ("pending", "running")
TERMINAL = ("succeeded", "failed", "cancelled")
STEP_STATES = ("pending", "running", "succeeded", "failed", "skipped", "cancelled")


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def step_dict(step: WorkflowStep) -> dict[str, Any]:
    return {
        "name": step.name,
        "status": step.status,
        "detail": step.detail,
        "error": step.error,
        "outputs": dict(step.outputs or {}),
        "attempt": step.attempt,
        "started_at": _iso(step.started_at),
        "finished_at": _iso(step.finished_at),
    }


def workflow_dict(row: Workflow) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "subject": row.subject,
        "inputs": dict(row.inputs or {}),
        "outputs": dict(row.outputs or {}),
        "error": row.error,
        "created_by": row.created_by,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "finished_at": _iso(row.finished_at),
        "steps": [step_dict(step) for step in row.steps],
    }


class WorkflowRecords:
    """Persisted workflows of every kind."""

    def __init__(self, db: Database, *, owner: str | None = None):
        self.db = db
        self.owner = owner or this_process()

    # -- create and read ----------------------------------------------------------------------

    def create(
        self,
        kind: str,
        steps: list[str],
        *,
        inputs: dict[str, Any] | None = None,
        subject: str = "",
        user: str = "",
    ) -> dict[str, Any]:
        if len(set(steps)) != len(steps) or not steps:
            raise InvalidInput(f"a workflow needs distinct step names, got {steps!r}")
        with self.db.write_session() as session:
            row = Workflow(
                kind=kind,
                status="pending",
                subject=subject,
                inputs=dict(inputs or {}),
                outputs={},
                created_by=user,
                owner=self.owner,
                heartbeat_at=utcnow(),
            )
            row.steps = [WorkflowStep(position=i, name=name) for i, name in enumerate(steps)]
            session.add(row)
            session.flush()
            return workflow_dict(row)

    def _row(self, session, workflow_id: str, kind: str | None = None) -> Workflow:
        row = session.get(Workflow, workflow_id)
        if row is None or (kind is not None and row.kind != kind):
            raise NotFound(f"no {kind or 'workflow'} {workflow_id!r}")
        return row

    def get(self, workflow_id: str, kind: str | None = None) -> dict[str, Any]:
        with self.db.session() as session:
            return workflow_dict(self._row(session, workflow_id, kind))

    def list(
        self,
        kind: str,
        *,
        subject: str | None = None,
        status: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> dict[str, Any]:
        condition = Workflow.kind == kind
        if subject is not None:
            condition = and_(condition, Workflow.subject == subject)
        if status is not None:
            condition = and_(condition, Workflow.status == status)
        with self.db.session() as session:
            total = session.scalar(select(func.count()).select_from(Workflow).where(condition))
            rows = session.scalars(
                select(Workflow)
                .where(condition)
                .order_by(Workflow.created_at.desc(), Workflow.id)
                .offset(offset)
                .limit(limit)
            ).all()
            items = [workflow_dict(row) for row in rows]
        return {"items": items, "total": total or 0, "offset": offset, "limit": limit}

    def latest(self, kind: str, subject: str) -> dict[str, Any] | None:
        page = self.list(kind, subject=subject, limit=1)
        return page["items"][0] if page["items"] else None

    # -- advance ------------------------------------------------------------------------------

    def _step(self, row: Workflow, name: str) -> WorkflowStep:
        for step in row.steps:
            if step.name == name:
                return step
        raise NotFound(f"workflow {row.id} has no step {name!r}")

    def start_step(self, workflow_id: str, name: str, detail: str = "") -> dict[str, Any]:
        now = utcnow()
        with self.db.write_session() as session:
            row = self._row(session, workflow_id)
            step = self._step(row, name)
            if step.status in ("succeeded", "failed", "skipped"):
                step.attempt += 1
            step.status, step.detail, step.error = "running", detail, None
            step.started_at, step.finished_at = now, None
            row.status, row.updated_at, row.heartbeat_at = "running", now, now
            row.owner = self.owner
            session.flush()
            return workflow_dict(row)

    def finish_step(
        self,
        workflow_id: str,
        name: str,
        status: str = "succeeded",
        *,
        detail: str | None = None,
        error: str | None = None,
        outputs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if status not in STEP_STATES:
            raise InvalidInput(f"unknown step status {status!r}")
        now = utcnow()
        with self.db.write_session() as session:
            row = self._row(session, workflow_id)
            step = self._step(row, name)
            step.status, step.error = status, error
            if detail is not None:
                step.detail = detail
            if outputs:
                step.outputs = {**(step.outputs or {}), **outputs}
            step.started_at = step.started_at or now
            step.finished_at = now
            row.updated_at, row.heartbeat_at = now, now
            session.flush()
            return workflow_dict(row)

    def update_step(self, workflow_id: str, name: str, **outputs: Any) -> None:
        """Record intermediate outputs of a running step (a run id, a deployment id)."""
        with self.db.write_session() as session:
            row = self._row(session, workflow_id)
            step = self._step(row, name)
            step.outputs = {**(step.outputs or {}), **outputs}
            row.updated_at = row.heartbeat_at = utcnow()

    def set_step(
        self, workflow_id: str, name: str, status: str, *, outputs: dict[str, Any] | None = None
    ) -> None:
        """Put a step back to ``status`` without a new attempt (a retry waiting its backoff)."""
        if status not in STEP_STATES:
            raise InvalidInput(f"unknown step status {status!r}")
        with self.db.write_session() as session:
            row = self._row(session, workflow_id)
            step = self._step(row, name)
            step.status = status
            if outputs:
                step.outputs = {**(step.outputs or {}), **outputs}
            row.updated_at = row.heartbeat_at = utcnow()

    def reset_steps(self, workflow_id: str, names: set[str] | list[str]) -> dict[str, Any]:
        """A new attempt of an ended workflow: ``names`` go back to pending (attempt + 1, their
        previous run kept in ``outputs.previous``); the workflow runs again."""
        now = utcnow()
        with self.db.write_session() as session:
            row = self._row(session, workflow_id)
            for step in row.steps:
                if step.name in names:
                    previous = {k: v for k, v in (step.outputs or {}).items() if k != "previous"}
                    history = [*((step.outputs or {}).get("previous") or []), previous]
                    step.status, step.error, step.detail = "pending", None, ""
                    step.attempt += 1
                    step.outputs = {"previous": history}
                    step.started_at = step.finished_at = None
            row.status, row.error, row.finished_at = "running", None, None
            row.updated_at = row.heartbeat_at = now
            row.owner = self.owner
            session.flush()
            return workflow_dict(row)

    def set_outputs(self, workflow_id: str, **outputs: Any) -> None:
        with self.db.write_session() as session:
            row = self._row(session, workflow_id)
            row.outputs = {**(row.outputs or {}), **outputs}
            row.updated_at = utcnow()

    def finish(
        self,
        workflow_id: str,
        status: str,
        *,
        error: str | None = None,
        outputs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if status not in TERMINAL:
            raise InvalidInput(f"a workflow ends {', '.join(TERMINAL)}, not {status!r}")
        now = utcnow()
        with self.db.write_session() as session:
            row = self._row(session, workflow_id)
            row.status, row.error = status, error
            if outputs:
                row.outputs = {**(row.outputs or {}), **outputs}
            for step in row.steps:
                if step.status in ("pending", "running"):
                    step.status = "skipped" if step.status == "pending" else status
                    step.finished_at = now
            row.updated_at = row.finished_at = now
            session.flush()
            return workflow_dict(row)

    # -- ownership, for restarts --------------------------------------------------------------

    def heartbeat(self, workflow_id: str) -> None:
        with self.db.write_session() as session:
            session.execute(
                update(Workflow)
                .where(Workflow.id == workflow_id, Workflow.owner == self.owner)
                .values(heartbeat_at=utcnow())
            )

    def claim(self, workflow_id: str, *, stale_after: float) -> bool:
        """Take over a workflow whose owner has not beaten for ``stale_after`` seconds (or is
        this process): one process wins, in the database, however many try."""
        cutoff = utcnow() - timedelta(seconds=stale_after)
        with self.db.write_session() as session:
            result = session.execute(
                update(Workflow)
                .where(
                    Workflow.id == workflow_id,
                    Workflow.status.in_(ACTIVE),
                    or_(
                        Workflow.owner == self.owner,
                        Workflow.owner.is_(None),
                        Workflow.heartbeat_at.is_(None),
                        Workflow.heartbeat_at < cutoff,
                    ),
                )
                .values(owner=self.owner, heartbeat_at=utcnow())
            )
            return bool(result.rowcount)

    def orphans(self, kind: str, *, stale_after: float) -> list[str]:
        """Unfinished workflows of ``kind`` nobody is advancing: a restarted server resumes
        them. Those of a previous process on this host are orphans at once."""
        cutoff = utcnow() - timedelta(seconds=stale_after)
        host = self.owner.split(":", 1)[0]
        with self.db.session() as session:
            rows = session.execute(
                select(Workflow.id, Workflow.owner, Workflow.heartbeat_at).where(
                    Workflow.kind == kind, Workflow.status.in_(ACTIVE)
                )
            ).all()
        found = []
        for workflow_id, owner, beat in rows:
            if owner == self.owner:
                continue
            same_host_dead = (
                owner is not None
                and owner.split(":", 1)[0] == host
                and not _pid_alive(owner.split(":", 1)[1])
            )
            if owner is None or beat is None or beat < cutoff or same_host_dead:
                found.append(workflow_id)
        return found


def _pid_alive(pid_text: str) -> bool:
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
