"""Aliases (``churn@production``): promotion through the quality gate, deletion, rollback.

Every change is one write transaction holding the alias row, the model's ``updated_at`` and the
audit entry; a refused promotion is audited too (in its own transaction, since the promotion
itself rolls back). After a change commits, ``ALIAS_CHANGED`` is published — in the server,
deployments that follow the alias move on it at once.

Rollback replays the audit log as an undo stack: every set/move/delete pushes the version it
replaced, every rollback pops one, so repeated rollbacks walk further back. Rollback is an
emergency action and is not subject to the quality gate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict, GateFailed, InvalidInput, NotFound
from ..events import ALIAS_CHANGED, EventBus
from ..refs import check_alias, check_version
from ..schemas import INT64_MAX
from ..store import audit
from ..store import models as m
from ..store.models import utcnow
from .gate import GateResult, evaluate_gate
from .records import alias_dict, aliases_of, find_model, find_version

if TYPE_CHECKING:
    from ..store.db import Database

ALIAS_ACTIONS = ("set_alias", "delete_alias", "rollback")


def holders(session: Session, model: m.RegisteredModel) -> dict[str, dict[str, Any]]:
    """``{alias: {"version", "metrics"}}`` of every alias of the model (the gate's champions)."""
    held = aliases_of(session, model.id)
    if not held:
        return {}
    rows = session.execute(
        select(m.ModelVersion.version, m.ModelVersion.metrics).where(
            m.ModelVersion.model_id == model.id,
            m.ModelVersion.version.in_(set(held.values())),
        )
    ).all()
    metrics = {version: values or {} for version, values in rows}
    return {
        alias: {"version": version, "metrics": metrics.get(version, {})}
        for alias, version in held.items()
    }


def stale_requests(session: Session, name: str, alias: str, *, keep: str | None = None) -> None:
    """Pending approvals of ``name@alias`` go stale: the alias moved (or a newer promotion was
    requested) after they were made."""
    pending = session.scalars(
        select(m.Approval).where(
            m.Approval.model_name == name,
            m.Approval.alias == alias,
            m.Approval.status == "pending",
        )
    ).all()
    for request in pending:
        if request.id != keep:
            request.status, request.decided_at = "stale", utcnow()


def _point(session: Session, model: m.RegisteredModel, alias: str, version: int) -> int | None:
    """Point ``alias`` at ``version``; the version it pointed at before (None: new alias)."""
    current = session.get(m.ModelAlias, (model.id, alias))
    previous = current.version if current else None
    if current is None:
        session.add(m.ModelAlias(model_id=model.id, alias=alias, version=version))
    else:
        current.version, current.updated_at = version, utcnow()
    model.updated_at = utcnow()
    return previous


def promotion_gate(
    session: Session, model: m.RegisteredModel, row: m.ModelVersion, alias: str
) -> GateResult:
    """The model's gate on pointing ``alias`` at ``row``, against every alias's holder."""
    return evaluate_gate(
        model.gate or {},
        alias,
        {"version": row.version, "metrics": row.metrics or {}},
        holders(session, model),
    )


def promote_in(
    session: Session,
    model: m.RegisteredModel,
    row: m.ModelVersion,
    alias: str,
    *,
    user: str,
    reason: str,
    force: bool,
    details: dict[str, Any] | None = None,
    keep_request: str | None = None,
) -> tuple[dict[str, Any], GateResult | None, bool]:
    """A promotion in ``session``: the result, the gate's decision and whether it refused.
    When it passes (or is forced), the alias moves and the move is audited with ``details``."""
    name, version = model.name, row.version
    if row.archived:
        raise Conflict(
            f"version {version} of model {name!r} is archived; unarchive it before "
            f"pointing {alias!r} at it"
        )
    current = session.get(m.ModelAlias, (model.id, alias))
    previous = current.version if current else None
    result = {
        "name": name,
        "alias": alias,
        "version": version,
        "previous_version": previous,
        "changed": previous != version,
        "forced": False,
        "gate": None,
    }
    if previous == version:
        return result, None, False
    gate = promotion_gate(session, model, row, alias)
    result["gate"] = gate.to_dict()
    refused = not gate.passed and not force
    if not refused:
        result["forced"] = not gate.passed
        _point(session, model, alias, version)
        stale_requests(session, name, alias, keep=keep_request)
        audit.record(
            session,
            model_name=name,
            action="set_alias",
            alias=alias,
            from_version=previous,
            to_version=version,
            reason=reason,
            forced=result["forced"],
            user=user,
            details={**({"gate": gate.to_dict()} if gate.applies else {}), **(details or {})},
        )
    return result, gate, refused


class Aliases:
    """Alias changes of every model, on one store, announced on one event bus."""

    def __init__(self, db: Database, events: EventBus):
        self.db = db
        self.events = events

    def _changed(self, name: str, alias: str, before: int | None, after: int | None, user: str):
        self.events.publish(
            ALIAS_CHANGED,
            model=name,
            alias=alias,
            from_version=before,
            to_version=after,
            user=user,
        )

    def list(self, name: str) -> list[dict[str, Any]]:
        with self.db.session() as session:
            return [alias_dict(a) for a in find_model(session, name).aliases]

    def set(
        self,
        name: str,
        alias: str,
        version: int | str,
        *,
        user: str = "",
        reason: str = "",
        force: bool = False,
    ) -> dict[str, Any]:
        """Point ``alias`` at ``version`` (a promotion), subject to the model's quality gate.

        A failing gate raises ``GateFailed`` (409, the comparison in the message) unless
        ``force`` with a ``reason``; the forced promotion is audited with ``forced=True``.
        """
        check_alias(alias)
        version = check_version(version)
        reason = (reason or "").strip()
        if force and not reason:
            raise InvalidInput("a reason is required to force a promotion past the quality gate")
        with self.db.write_session() as session:
            model = find_model(session, name)
            row = find_version(session, model, version)
            result, gate, refused = promote_in(
                session, model, row, alias, user=user, reason=reason, force=force
            )
            previous = result["previous_version"]
            if not result["changed"]:
                return result
        if not refused:
            self._changed(name, alias, previous, version, user)
            return result
        message = gate.message(name, version, alias)
        with self.db.session() as session:
            audit.record(
                session,
                model_name=name,
                action="promotion_refused",
                alias=alias,
                from_version=previous,
                to_version=version,
                reason=reason,
                user=user,
                details={"gate": gate.to_dict(), "message": message},
            )
        raise GateFailed(message, details={"gate": gate.to_dict(), "alias": alias})

    def delete(self, name: str, alias: str, *, user: str = "", reason: str = "") -> dict:
        check_alias(alias)
        with self.db.write_session() as session:
            model = find_model(session, name)
            current = session.get(m.ModelAlias, (model.id, alias))
            if current is None:
                raise NotFound(f"alias {alias!r} of model {name!r} not found")
            previous = current.version
            session.delete(current)
            model.updated_at = utcnow()
            stale_requests(session, name, alias)
            audit.record(
                session,
                model_name=name,
                action="delete_alias",
                alias=alias,
                from_version=previous,
                to_version=None,
                reason=reason,
                user=user,
            )
        self._changed(name, alias, previous, None, user)
        return {"name": name, "alias": alias, "version": None, "previous_version": previous}

    def rollback(self, name: str, alias: str, *, user: str = "", reason: str = "") -> dict:
        """Move ``alias`` back to the version it pointed at before its last change."""
        check_alias(alias)
        with self.db.write_session() as session:
            model = find_model(session, name)
            entries, _total = audit.query(
                session,
                model_name=name,
                alias=alias,
                actions=ALIAS_ACTIONS,
                newest_first=False,
                limit=INT64_MAX,
            )
            stack: list[int] = []
            for entry in entries:
                if entry["action"] == "rollback":
                    if stack:
                        stack.pop()
                elif entry["from_version"] is not None:
                    stack.append(entry["from_version"])
            if not stack:
                raise Conflict(
                    f"alias {alias!r} of model {name!r} has no earlier version to roll back to"
                )
            target = stack[-1]
            row = find_version(session, model, target)
            if row.archived:
                raise Conflict(
                    f"cannot roll {name}@{alias} back to version {target}: it is archived; "
                    "unarchive it first"
                )
            previous = _point(session, model, alias, target)
            stale_requests(session, name, alias)
            audit.record(
                session,
                model_name=name,
                action="rollback",
                alias=alias,
                from_version=previous,
                to_version=target,
                reason=reason,
                user=user,
            )
        self._changed(name, alias, previous, target, user)
        return {"name": name, "alias": alias, "version": target, "previous_version": previous}
