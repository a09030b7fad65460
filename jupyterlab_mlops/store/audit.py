"""The audit log's one writer and reader: who changed what, when, and why.

Every alias move, refused promotion, archive, gate change and drift-driven decision is one
append-only ``AuditEntry``. Domains call :func:`record` inside their own transaction, so the
entry commits (or rolls back) with the change it describes; nobody builds ``AuditEntry`` rows
by hand.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from .models import AuditEntry


def record(
    session: Session,
    *,
    model_name: str,
    action: str,
    user: str = "",
    alias: str | None = None,
    from_version: int | None = None,
    to_version: int | None = None,
    reason: str = "",
    forced: bool = False,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in ``session``'s transaction."""
    entry = AuditEntry(
        model_name=model_name,
        action=action,
        alias=alias,
        from_version=from_version,
        to_version=to_version,
        reason=(reason or "").strip(),
        forced=bool(forced),
        details=dict(details or {}),
        user=user or "",
    )
    session.add(entry)
    return entry


def to_dict(row: AuditEntry) -> dict[str, Any]:
    return {
        "id": row.id,
        "model_name": row.model_name,
        "action": row.action,
        "alias": row.alias,
        "from_version": row.from_version,
        "to_version": row.to_version,
        "reason": row.reason,
        "forced": bool(row.forced),
        "details": dict(row.details or {}),
        "user": row.user,
        "created_at": row.created_at.isoformat() if row.created_at else None,
    }


def query(
    session: Session,
    *,
    model_name: str | None = None,
    alias: str | None = None,
    action: str | None = None,
    actions: tuple[str, ...] | None = None,
    since: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
    newest_first: bool = True,
) -> tuple[list[dict[str, Any]], int]:
    """Entries matching every given filter, and how many there are in all."""
    conditions = []
    if model_name is not None:
        conditions.append(AuditEntry.model_name == model_name)
    if alias is not None:
        conditions.append(AuditEntry.alias == alias)
    if action is not None:
        conditions.append(AuditEntry.action == action)
    if actions is not None:
        conditions.append(AuditEntry.action.in_(actions))
    if since is not None:
        conditions.append(AuditEntry.created_at >= since)
    where = and_(*conditions) if conditions else True
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(where)) or 0
    order = AuditEntry.id.desc() if newest_first else AuditEntry.id
    rows = session.scalars(
        select(AuditEntry).where(where).order_by(order).offset(offset).limit(limit)
    ).all()
    return [to_dict(row) for row in rows], total
