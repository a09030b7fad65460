"""The monitors and their stored results: the only code that touches ``monitors`` and
``drift_results``.

A monitor row holds which deployment it watches, its validated config (``config.py``), its check
interval, whether it is enabled and how its last check went. A result row is one check's window:
its drift share, per-column statistics (with histograms, for the panel's detail view) and the
performance on labelled predictions. The deployment a monitor watches is read through the
injected :class:`~.ports.DeploymentLookup` (serving owns ``deployments``); open alert counts come
from the alerts module (it owns ``alerts``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from ..errors import NotFound
from ..store import models as m
from ..store.db import Database
from ..store.models import utcnow
from .ports import DeploymentLookup
from .report import json_safe


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def page(items: list, total: int, offset: int, limit: int) -> dict[str, Any]:
    return {"items": items, "total": total, "offset": offset, "limit": limit}


def deployment_or_none(deployments: DeploymentLookup, deployment_id: str | None) -> dict | None:
    if not deployment_id:
        return None
    try:
        return deployments.get(deployment_id)
    except NotFound:
        return None


def _finite_or_none(value: Any) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


class Monitors:
    """Monitor CRUD, check status, due monitors, and the results of their checks."""

    def __init__(
        self,
        db: Database,
        deployments: DeploymentLookup,
        open_alerts: Callable[[list[str]], dict[str, int]],
    ):
        self.db = db
        self.deployments = deployments
        self._open_alerts = open_alerts

    # -- dicts ----------------------------------------------------------------------------------

    @staticmethod
    def to_dict(
        row: m.Monitor,
        deployment: dict[str, Any] | None,
        latest: m.DriftResult | None = None,
        open_alerts: int = 0,
    ) -> dict[str, Any]:
        deployment = deployment or {}
        return {
            "id": row.id,
            "deployment_id": row.deployment_id,
            "deployment_name": deployment.get("name"),
            "model_ref": deployment.get("model_ref"),
            "model_name": deployment.get("model"),
            "model_version": deployment.get("version"),
            "deployment_status": deployment.get("status"),
            "status": row.status,
            "enabled": row.enabled,
            # A row stored before intervals were validated may hold Infinity: never emit it.
            "interval_seconds": _finite_or_none(row.interval_seconds),
            "last_checked_at": iso(row.last_checked_at),
            "drift_share": _finite_or_none(latest.drift_share) if latest else None,
            "drifted": latest.drifted if latest else None,
            "latest_result_id": latest.id if latest else None,
            "open_alerts": open_alerts,
            "config": json_safe(row.config or {}),
            "created_by": row.created_by,
            "created_at": iso(row.created_at),
        }

    @staticmethod
    def result_dict(row: m.DriftResult, *, columns: bool = False) -> dict[str, Any]:
        drifted_columns = [c["column"] for c in row.columns or [] if c.get("drifted")]
        result = {
            "id": row.id,
            "monitor_id": row.monitor_id,
            "deployment_id": row.deployment_id,
            "model_name": row.model_name,
            "model_version": row.model_version,
            "window_start": iso(row.window_start),
            "window_end": iso(row.window_end),
            "n_rows": row.n_rows,
            "drift_share": _finite_or_none(row.drift_share),
            "drifted": row.drifted,
            "n_drifted": len(drifted_columns),
            "drifted_columns": drifted_columns,
            "performance": row.performance or {},
            "created_at": iso(row.created_at),
        }
        if columns:
            result["columns"] = row.columns or []
        return result

    def _row(self, session, monitor_id: str) -> m.Monitor:
        row = session.get(m.Monitor, monitor_id) if isinstance(monitor_id, str) else None
        if row is None:
            raise NotFound(f"no drift monitor {monitor_id!r}")
        return row

    def _latest(self, session, monitor_id: str) -> m.DriftResult | None:
        return session.scalars(
            select(m.DriftResult)
            .where(m.DriftResult.monitor_id == monitor_id)
            .order_by(m.DriftResult.id.desc())
            .limit(1)
        ).first()

    def _views(self, session, rows: list[m.Monitor]) -> list[dict[str, Any]]:
        counts = self._open_alerts([row.id for row in rows]) if rows else {}
        deployments: dict[str, dict | None] = {}
        views = []
        for row in rows:
            if row.deployment_id not in deployments:
                deployments[row.deployment_id] = deployment_or_none(
                    self.deployments, row.deployment_id
                )
            views.append(
                self.to_dict(
                    row,
                    deployments[row.deployment_id],
                    self._latest(session, row.id),
                    counts.get(row.id, 0),
                )
            )
        return views

    # -- CRUD -----------------------------------------------------------------------------------

    def create(
        self,
        *,
        monitor_id: str,
        deployment_id: str,
        config: dict[str, Any],
        interval_seconds: float,
        enabled: bool,
        user: str,
    ) -> dict[str, Any]:
        with self.db.session() as session:
            row = m.Monitor(
                id=monitor_id,
                deployment_id=deployment_id,
                enabled=enabled,
                config=config,
                interval_seconds=interval_seconds,
                status="unknown",
                created_by=user,
            )
            session.add(row)
        return self.get(monitor_id)

    def list(
        self, *, deployment_id: str | None = None, offset: int = 0, limit: int = 50
    ) -> dict[str, Any]:
        with self.db.session() as session:
            condition = True if deployment_id is None else m.Monitor.deployment_id == deployment_id
            total = session.scalar(select(func.count()).select_from(m.Monitor).where(condition))
            rows = session.scalars(
                select(m.Monitor)
                .where(condition)
                .order_by(m.Monitor.created_at.desc(), m.Monitor.id)
                .offset(offset)
                .limit(limit)
            ).all()
            return page(self._views(session, list(rows)), total or 0, offset, limit)

    def get(self, monitor_id: str) -> dict[str, Any]:
        with self.db.session() as session:
            return self._views(session, [self._row(session, monitor_id)])[0]

    def latest_for_deployment(self, deployment_id: str) -> dict[str, Any] | None:
        with self.db.session() as session:
            row = session.scalars(
                select(m.Monitor)
                .where(m.Monitor.deployment_id == deployment_id)
                .order_by(m.Monitor.created_at.desc())
            ).first()
            return self._views(session, [row])[0] if row else None

    def deployment_of(self, monitor_id: str) -> str:
        with self.db.session() as session:
            return self._row(session, monitor_id).deployment_id

    def update(
        self,
        monitor_id: str,
        *,
        config: dict[str, Any] | None = None,
        interval_seconds: float | None = None,
        enabled: bool | None = None,
    ) -> dict[str, Any]:
        with self.db.session() as session:
            row = self._row(session, monitor_id)
            if config is not None:
                row.config = config
            if interval_seconds is not None:
                row.interval_seconds = interval_seconds
            if enabled is not None:
                if not enabled:
                    row.status = "disabled"
                elif not row.enabled:
                    row.status = "unknown"  # until its next check says more
                row.enabled = enabled
        return self.get(monitor_id)

    def pause(self, monitor_id: str) -> bool:
        """Stop checking an enabled monitor (status ``paused``); False if it was off already."""
        with self.db.session() as session:
            row = self._row(session, monitor_id)
            if not row.enabled:
                return False
            row.enabled = False
            row.status = "paused"
            return True

    def resume(self, monitor_id: str) -> bool:
        """Check a paused monitor again, at once; one a user disabled stays off."""
        with self.db.session() as session:
            row = self._row(session, monitor_id)
            if row.enabled or row.status != "paused":
                return False
            row.enabled = True
            row.status = "unknown"
            row.last_checked_at = None
            return True

    def check_soon(self, monitor_id: str) -> None:
        """Make the monitor due on the scheduler's next tick."""
        with self.db.session() as session:
            self._row(session, monitor_id).last_checked_at = None

    def delete(self, monitor_id: str) -> None:
        """The monitor and its results (its alerts are deleted first, by the alerts module)."""
        with self.db.session() as session:
            row = self._row(session, monitor_id)
            session.query(m.DriftResult).filter(m.DriftResult.monitor_id == monitor_id).delete()
            session.delete(row)

    def set_status(self, monitor_id: str, status: str, reason: str | None = None) -> None:
        """After a check: its status, when it ran, and the error that stopped it (if any)."""
        with self.db.session() as session:
            row = session.get(m.Monitor, monitor_id)
            if row is None:
                return
            row.status = status
            row.last_checked_at = utcnow()
            if reason:
                row.config = {**(row.config or {}), "last_error": reason}
            elif "last_error" in (row.config or {}):
                row.config = {k: v for k, v in row.config.items() if k != "last_error"}

    def due(self, now: datetime | None = None) -> list[str]:
        now = now or utcnow()
        with self.db.session() as session:
            rows = session.scalars(select(m.Monitor).where(m.Monitor.enabled.is_(True))).all()
            due = []
            for row in rows:
                interval = _finite_or_none(row.interval_seconds)
                if interval is None or interval <= 0:
                    continue  # a legacy row with an impossible interval: never due
                if (
                    row.last_checked_at is None
                    or row.last_checked_at + timedelta(seconds=min(interval, 1e9)) <= now
                ):
                    due.append(row.id)
            return due

    # -- results --------------------------------------------------------------------------------

    def add_result(self, **values: Any) -> dict[str, Any]:
        with self.db.session() as session:
            row = m.DriftResult(**values)
            session.add(row)
            session.flush()
            return self.result_dict(row)

    def results(self, monitor_id: str, *, offset: int = 0, limit: int = 100) -> dict[str, Any]:
        """The monitor's stored results as a time series (oldest first within the page)."""
        with self.db.session() as session:
            self._row(session, monitor_id)
            condition = m.DriftResult.monitor_id == monitor_id
            total = session.scalar(select(func.count()).select_from(m.DriftResult).where(condition))
            rows = session.scalars(
                select(m.DriftResult)
                .where(condition)
                .order_by(m.DriftResult.id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
            items = [self.result_dict(r) for r in reversed(rows)]
            return page(items, total or 0, offset, limit)

    def get_result(self, result_id: int) -> dict[str, Any]:
        with self.db.session() as session:
            row = session.get(m.DriftResult, result_id)
            if row is None:
                raise NotFound(f"no drift result {result_id}")
            return self.result_dict(row, columns=True)
