"""The ``runs`` and ``run_groups`` tables as dicts: reading runs and moving them to a final state.

``run_to_dict`` / ``group_to_dict`` are the one shape of a run and a sweep for every interface
(REST, CLI, magics, the notebook API; ``runs/schemas.py`` describes them). Every move out of
``running`` is a conditional update (``WHERE status = 'running'``), so the worker, a cancel and
the timeout/orphan checks can race without ever overwriting each other's final state.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from ..errors import Conflict, InvalidInput, NotFound
from ..store.db import Database
from ..store.models import Run, RunGroup
from . import ALL_STATES, TERMINAL_STATES
from .parameters import summarize


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def run_to_dict(run: Run, *, detail: bool = False) -> dict[str, Any]:
    latest: dict[str, float] = {}
    for metric in run.metrics:  # ordered by id: the last logged value wins
        latest[metric.key] = metric.value
    error = None
    if run.error_ename or run.error_evalue or run.error_cell_index is not None:
        error = {
            "cell_index": run.error_cell_index,
            "ename": run.error_ename,
            "evalue": run.error_evalue,
        }
    parameters, truncated = (run.parameters, False) if detail else summarize(run.parameters or {})
    data: dict[str, Any] = {
        "id": run.id,
        "kind": run.kind,
        "notebook_path": run.notebook_path,
        "status": run.status,
        "status_reason": run.status_reason,
        "parameters": parameters,
        "parameters_truncated": truncated,
        "kernel_name": run.kernel_name,
        "timeout_seconds": run.timeout_seconds,
        "tags": run.tags,
        "input_files": run.input_files,
        "trigger": run.trigger,
        "trigger_details": run.trigger_details,
        "schedule_id": run.schedule_id,
        "reproduces_run_id": run.reproduces_run_id,
        "group_id": run.group_id,
        "created_by": run.created_by,
        "created_at": iso(run.created_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "duration_seconds": run.duration_seconds,
        "executor": run.executor,
        "host": run.host,
        "pid": run.pid,
        "progress": {
            "cells_done": run.cells_done,
            "cells_total": run.cells_total,
            "current_cell": run.current_cell,
        },
        "error": error,
        "input_notebook_sha256": run.input_notebook_sha256,
        "output_notebook_sha256": run.output_notebook_sha256,
        "output_notebook_path": run.output_notebook_path,
        "metrics": latest,
        "memory_limit_bytes": run.memory_limit_bytes,
        "cpus": run.cpus,
        "peak_memory_bytes": run.peak_memory_bytes,
        "cpu_seconds": run.cpu_seconds,
    }
    if detail:
        data["provenance"] = run.provenance
        data["comparison"] = run.comparison or None
        data["metric_history"] = [
            {"key": m.key, "value": m.value, "step": m.step, "logged_at": iso(m.logged_at)}
            for m in run.metrics
        ]
        data["logged_params"] = {p.key: p.value for p in run.params}
        data["outputs"] = dict(run.outputs or {})
        data["artifacts"] = [
            {
                "name": a.name,
                "sha256": a.sha256,
                "size": a.size,
                "kind": a.kind,
                "created_at": iso(a.created_at),
            }
            for a in run.artifacts
        ]
    return data


def group_to_dict(group: RunGroup, runs: list[Run], *, detail: bool = True) -> dict[str, Any]:
    """A sweep; in lists (``detail=False``) its grid and best parameters are summarised."""
    shown = (lambda value: value) if detail else (lambda value: summarize(value)[0])
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.status] = counts.get(run.status, 0) + 1
    best = None
    if group.metric:
        scored = []
        for run in runs:
            values = [m.value for m in run.metrics if m.key == group.metric]
            if run.status == "succeeded" and values:
                scored.append((values[-1], run))
        if scored:
            pick = max if group.mode == "max" else min
            value, run = pick(scored, key=lambda item: item[0])
            best = {"run_id": run.id, "value": value, "parameters": shown(run.parameters)}
    active = counts.get("queued", 0) + counts.get("running", 0)
    return {
        "id": group.id,
        "name": group.name,
        "notebook_path": group.notebook_path,
        "grid": shown(group.grid),
        "metric": group.metric,
        "mode": group.mode,
        "created_by": group.created_by,
        "created_at": iso(group.created_at),
        "status": "running" if active else "finished",
        "counts": counts,
        "total": len(runs),
        "best": best,
        "runs": [run_to_dict(r) for r in runs],
    }


def load_run(session: Session, run_id: str) -> Run:
    """The run with its metrics, params and artifacts loaded, or ``NotFound``."""
    if not isinstance(run_id, str) or not run_id:
        raise NotFound("no such run: (empty id)")
    run = session.get(
        Run,
        run_id,
        options=[
            selectinload(Run.metrics),
            selectinload(Run.params),
            selectinload(Run.artifacts),
        ],
    )
    if run is None:
        raise NotFound(f"no such run: {run_id}")
    return run


def parse_statuses(status: str | list[str] | None) -> list[str]:
    """``"queued,running"`` or a list → the states, refusing unknown ones."""
    if not status:
        return []
    statuses = status.split(",") if isinstance(status, str) else list(status)
    statuses = [s.strip() for s in statuses if s.strip()]
    unknown = [s for s in statuses if s not in ALL_STATES]
    if unknown:
        raise InvalidInput(
            f"unknown status {unknown[0]!r} (one of: {', '.join(ALL_STATES)})",
            details={"field": "status"},
        )
    return statuses


class RunRecords:
    """Reads of runs, and their final-state transitions."""

    def __init__(self, db: Database):
        self.db = db

    def get(self, run_id: str) -> dict[str, Any]:
        with self.db.session() as session:
            return run_to_dict(load_run(session, run_id), detail=True)

    def list(
        self,
        offset: int = 0,
        limit: int = 50,
        *,
        notebook: str | None = None,
        status: str | list[str] | None = None,
        group_id: str | None = None,
        kind: str | None = None,
        tag: str | None = None,
        schedule_id: str | None = None,
    ) -> dict[str, Any]:
        """Newest first, paginated; filter by notebook (substring), status, group, kind, tag,
        schedule."""
        query = select(Run)
        if schedule_id:
            query = query.where(Run.schedule_id == schedule_id)
        if notebook:
            query = query.where(Run.notebook_path.contains(notebook, autoescape=True))
        statuses = parse_statuses(status)
        if statuses:
            query = query.where(Run.status.in_(statuses))
        if group_id:
            query = query.where(Run.group_id == group_id)
        if kind:
            query = query.where(Run.kind == kind)
        ordered = query.options(selectinload(Run.metrics)).order_by(
            Run.created_at.desc(), Run.id.desc()
        )
        with self.db.session() as session:
            if tag:  # tags are a JSON list: filter in Python (portable across databases)
                rows = [r for r in session.scalars(ordered).all() if tag in (r.tags or [])]
                total = len(rows)
                rows = rows[offset : offset + limit]
            else:
                total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
                rows = session.scalars(ordered.offset(offset).limit(limit)).all()
            items = [run_to_dict(r) for r in rows]
        return {"items": items, "total": total, "offset": offset, "limit": limit}

    def running_on(self, host: str) -> list[tuple]:
        """``(id, kind, pid, started_at, timeout_seconds)`` of the runs running on ``host``."""
        with self.db.session() as session:
            return list(
                session.execute(
                    select(Run.id, Run.kind, Run.pid, Run.started_at, Run.timeout_seconds).where(
                        Run.status == "running", Run.host == host
                    )
                ).all()
            )

    def running_elsewhere(self, host: str) -> list[tuple]:
        """``(id, started_at, heartbeat_at)`` of the batch runs running on other hosts."""
        with self.db.session() as session:
            return list(
                session.execute(
                    select(Run.id, Run.started_at, Run.heartbeat_at).where(
                        Run.status == "running", Run.kind == "batch", Run.host != host
                    )
                ).all()
            )

    def heartbeat(self, run_id: str) -> str | None:
        """A worker is alive: record it while the run is running; the run's status (None: gone)."""
        now = datetime.now(timezone.utc)
        with self.db.session() as session:
            result = session.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == "running")
                .values(heartbeat_at=now)
            )
            if result.rowcount == 1:
                return "running"
            return session.scalar(select(Run.status).where(Run.id == run_id))

    _FINAL = (Run.id, Run.status, Run.notebook_path, Run.trigger, Run.finished_at)

    def finished_since(self, since: datetime) -> list[tuple]:
        """``(id, status, notebook_path, trigger, finished_at)`` of runs finished since then."""
        with self.db.session() as session:
            return list(
                session.execute(
                    select(*self._FINAL).where(
                        Run.status.in_(TERMINAL_STATES), Run.finished_at >= since
                    )
                ).all()
            )

    def final_state(self, run_id: str) -> tuple | None:
        """``(id, status, notebook_path, trigger, finished_at)`` if the run is finished."""
        with self.db.session() as session:
            return session.execute(
                select(*self._FINAL).where(Run.id == run_id, Run.status.in_(TERMINAL_STATES))
            ).first()

    def report_progress(self, run_id: str, done: int, total: int, current: int | None) -> None:
        """Cells done of a running run (a worker reports each cell's start and end)."""
        with self.db.session() as session:
            session.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == "running")
                .values(cells_done=done, cells_total=total, current_cell=current)
            )

    def set_output_path(self, run_id: str, path: str) -> None:
        with self.db.session() as session:
            session.execute(update(Run).where(Run.id == run_id).values(output_notebook_path=path))

    def finish(self, run_id: str, status: str, **values: Any) -> bool:
        """Move a running run to a final state, unless something else already did."""
        now = datetime.now(timezone.utc)
        with self.db.write_session() as session:  # read-then-write: lock at BEGIN
            started = session.scalar(select(Run.started_at).where(Run.id == run_id))
            values.setdefault("finished_at", now)
            if started is not None:
                values.setdefault("duration_seconds", (now - started).total_seconds())
            result = session.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == "running")
                .values(status=status, **values)
            )
            return result.rowcount == 1

    def cancel(self, run_id: str, *, user: str = "") -> dict[str, Any]:
        """Mark a queued or running batch run cancelled; the run as it was before."""
        now = datetime.now(timezone.utc)
        with self.db.write_session() as session:
            run = load_run(session, run_id)
            if run.kind != "batch":
                raise Conflict(f"run {run_id} is an interactive session; it ends with its kernel")
            if run.status in TERMINAL_STATES:
                raise Conflict(f"run {run_id} already finished: {run.status}")
            before = run_to_dict(run)
            run.status = "cancelled"
            run.status_reason = f"cancelled by {user}" if user else "cancelled"
            run.finished_at = now
            if run.started_at is not None:
                run.duration_seconds = (now - run.started_at).total_seconds()
        return before
