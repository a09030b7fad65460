"""Approvals: a promotion to a protected alias that waits for an approver.

An editor's promotion to a protected alias (``c.MLOps.protected_aliases``) does not move the
alias: it records a pending request with the gate's decision and the metrics of the candidate
and of the version the alias holds, side by side. An approver (never the requester) approves —
the alias moves in the same transaction, audited as a ``set_alias`` naming the request — or
rejects, with a reason. A request whose gate failed is approved only with an explicit override
and a reason. A request goes stale when the alias moves otherwise, or a newer promotion of the
same alias is requested. Every step is in the audit log; ``APPROVAL_REQUESTED`` and
``APPROVAL_DECIDED`` are published after their transaction commits (and ``ALIAS_CHANGED`` when an
approval moves the alias, so alias-following deployments follow).

The registry owns the ``approvals`` table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..errors import Conflict, Forbidden, GateFailed, InvalidInput, NotFound
from ..events import APPROVAL_DECIDED, APPROVAL_REQUESTED, EventBus
from ..refs import check_alias, check_version
from ..store import audit
from ..store import models as m
from ..store.models import utcnow
from .aliases import Aliases, promote_in, promotion_gate, stale_requests
from .records import find_model, find_version, iso, page

if TYPE_CHECKING:
    from ..store.db import Database

STATUSES = ("pending", "approved", "rejected", "stale")


def approval_dict(row: m.Approval) -> dict[str, Any]:
    return {
        "id": row.id,
        "model": row.model_name,
        "alias": row.alias,
        "version": row.version,
        "from_version": row.from_version,
        "status": row.status,
        "requested_by": row.requested_by,
        "reason": row.reason,
        "gate": (row.gate or {}).get("decision"),
        "comparison": (row.gate or {}).get("comparison"),
        "decided_by": row.decided_by,
        "decision_reason": row.decision_reason,
        "overridden": bool(row.overridden),
        "created_at": iso(row.created_at),
        "decided_at": iso(row.decided_at),
    }


def _version_metrics(session, model: m.RegisteredModel, version: int | None) -> dict | None:
    if version is None:
        return None
    row = find_version(session, model, version)
    return {"version": version, "metrics": dict(row.metrics or {})}


class Approvals:
    def __init__(self, db: Database, events: EventBus, aliases: Aliases):
        self.db = db
        self.events = events
        self.aliases = aliases

    def request(
        self, name: str, alias: str, version: int | str, *, user: str, reason: str = ""
    ) -> dict[str, Any]:
        """A pending request to point ``alias`` at ``version``, with the gate evaluated now."""
        check_alias(alias)
        version = check_version(version)
        with self.db.write_session() as session:
            model = find_model(session, name)
            row = find_version(session, model, version)
            if row.archived:
                raise Conflict(
                    f"version {version} of model {name!r} is archived; unarchive it before "
                    f"pointing {alias!r} at it"
                )
            current = session.get(m.ModelAlias, (model.id, alias))
            previous = current.version if current else None
            if previous == version:
                raise Conflict(f"{name}@{alias} already points at v{version}")
            gate = promotion_gate(session, model, row, alias)
            stale_requests(session, name, alias)  # a newer promotion supersedes them
            request = m.Approval(
                model_name=name,
                alias=alias,
                version=version,
                from_version=previous,
                status="pending",
                requested_by=user,
                reason=(reason or "").strip(),
                gate={
                    "decision": gate.to_dict(),
                    "comparison": {
                        "candidate": _version_metrics(session, model, version),
                        "current": _version_metrics(session, model, previous),
                    },
                },
                decision_reason="",
            )
            session.add(request)
            session.flush()
            audit.record(
                session,
                model_name=name,
                action="approval_requested",
                alias=alias,
                from_version=previous,
                to_version=version,
                reason=reason,
                user=user,
                details={"approval_id": request.id, "gate": gate.to_dict()},
            )
            result = approval_dict(request)
        self.events.publish(
            APPROVAL_REQUESTED,
            approval_id=result["id"],
            model=name,
            alias=alias,
            version=version,
            from_version=previous,
            gate_passed=result["gate"]["passed"],
            user=user,
        )
        return result

    def get(self, approval_id: str) -> dict[str, Any]:
        with self.db.session() as session:
            return approval_dict(self._row(session, approval_id))

    def list(
        self,
        *,
        status: str | None = None,
        model: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> dict[str, Any]:
        if status is not None and status not in STATUSES:
            raise InvalidInput(
                f"unknown status {status!r} (one of {', '.join(STATUSES)})",
                details={"field": "status"},
            )
        conditions = []
        if status is not None:
            conditions.append(m.Approval.status == status)
        if model is not None:
            conditions.append(m.Approval.model_name == model)
        with self.db.session() as session:
            total = session.scalar(select(func.count()).select_from(m.Approval).where(*conditions))
            rows = session.scalars(
                select(m.Approval)
                .where(*conditions)
                .order_by(m.Approval.created_at.desc(), m.Approval.id)
                .offset(offset)
                .limit(limit)
            ).all()
            return page([approval_dict(r) for r in rows], total or 0, offset, limit)

    @staticmethod
    def _row(session, approval_id: str, *, lock: bool = False) -> m.Approval:
        query = select(m.Approval).where(m.Approval.id == approval_id)
        row = session.scalars(query.with_for_update() if lock else query).first()
        if row is None:
            raise NotFound(f"no approval request {approval_id!r}")
        return row

    @staticmethod
    def _pending(row: m.Approval) -> None:
        if row.status != "pending":
            raise Conflict(
                f"approval request {row.id} is {row.status}"
                + (
                    " (the alias moved, or a newer promotion was requested)"
                    if row.status == "stale"
                    else ""
                )
            )

    def approve(
        self, approval_id: str, *, user: str, reason: str = "", override: bool = False
    ) -> dict[str, Any]:
        """Move the alias as requested; refused to the requester, and past a failed gate
        without ``override`` and a reason."""
        reason = (reason or "").strip()
        if override and not reason:
            raise InvalidInput(
                "a reason is required to override a failed quality gate",
                details={"field": "reason"},
            )
        with self.db.write_session() as session:
            row = self._row(session, approval_id, lock=True)
            self._pending(row)
            if row.requested_by == str(user):
                raise Forbidden(f"{user} may not approve their own request {row.id}")
            model = find_model(session, row.model_name)
            version = find_version(session, model, row.version)
            requested_gate = (row.gate or {}).get("decision") or {}
            gate_failed = requested_gate.get("passed") is False
            if gate_failed and not override:
                raise GateFailed(
                    f"the quality gate failed for request {row.id} "
                    f"({row.model_name} v{row.version} → {row.alias}); approving it needs an "
                    "override and a reason",
                    details={"gate": requested_gate, "approval_id": row.id},
                )
            result, gate, refused = promote_in(
                session,
                model,
                version,
                row.alias,
                user=user,
                reason=reason or row.reason,
                force=override,
                details={"approval_id": row.id, "requested_by": row.requested_by},
                keep_request=row.id,
            )
            if refused:
                raise GateFailed(
                    gate.message(row.model_name, row.version, row.alias),
                    details={"gate": gate.to_dict(), "approval_id": row.id},
                )
            row.status, row.decided_by, row.decided_at = "approved", user, utcnow()
            row.decision_reason, row.overridden = reason, bool(override and gate_failed)
            audit.record(
                session,
                model_name=row.model_name,
                action="approval_approved",
                alias=row.alias,
                from_version=result["previous_version"],
                to_version=row.version,
                reason=reason,
                forced=row.overridden,
                user=user,
                details={"approval_id": row.id, "requested_by": row.requested_by},
            )
            decided = approval_dict(row)
        if result["changed"]:
            self.aliases._changed(
                decided["model"],
                decided["alias"],
                result["previous_version"],
                decided["version"],
                user,
            )
        self._decided(decided, user)
        return decided

    def reject(self, approval_id: str, *, user: str, reason: str = "") -> dict[str, Any]:
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput(
                "a reason is required to reject a request", details={"field": "reason"}
            )
        with self.db.write_session() as session:
            row = self._row(session, approval_id, lock=True)
            self._pending(row)
            row.status, row.decided_by, row.decided_at = "rejected", user, utcnow()
            row.decision_reason = reason
            audit.record(
                session,
                model_name=row.model_name,
                action="approval_rejected",
                alias=row.alias,
                from_version=row.from_version,
                to_version=row.version,
                reason=reason,
                user=user,
                details={"approval_id": row.id, "requested_by": row.requested_by},
            )
            decided = approval_dict(row)
        self._decided(decided, user)
        return decided

    def _decided(self, decided: dict[str, Any], user: str) -> None:
        self.events.publish(
            APPROVAL_DECIDED,
            approval_id=decided["id"],
            status=decided["status"],
            model=decided["model"],
            alias=decided["alias"],
            version=decided["version"],
            reason=decided["decision_reason"],
            user=user,
        )
