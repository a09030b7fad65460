"""The alerts table: opening alerts from fired rules, acknowledging, listing, delivering them.

A rule that fires on a check opens an alert unless the same rule (for the same column) is still
open on that monitor, in which case the open one counts the repeat instead. New alerts are
written with their ``drift_alert`` audit entry in one transaction, delivered through the
monitor's channels (``channels.py``; a failed delivery is recorded, never raised) and announced
on the event bus (``ALERT_RAISED``), where the retrain workflow listens. The retrain workflow
reports its progress back into the alert (``details.retrain``, ``retrain_run_id``) through
:meth:`Alerts.record_retrain_step`, which is what the panel shows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from ..channels import SmtpSettings
from ..errors import NotFound
from ..events import ALERT_RAISED
from ..store import audit
from ..store import models as m
from ..store.db import Database
from ..store.models import utcnow
from . import channels
from .monitors import deployment_or_none, iso, page
from .ports import DeploymentLookup, DriftSettings, EventPublisher
from .report import json_safe

log = logging.getLogger(__name__)


class Alerts:
    def __init__(
        self,
        db: Database,
        deployments: DeploymentLookup,
        *,
        events: EventPublisher | None = None,
        settings: DriftSettings | None = None,
    ):
        self.db = db
        self.deployments = deployments
        self.events = events
        self.settings = settings or DriftSettings()

    @staticmethod
    def to_dict(row: m.Alert, deployment_name: str | None = None) -> dict[str, Any]:
        return {
            "id": row.id,
            "monitor_id": row.monitor_id,
            "deployment_id": row.deployment_id,
            "deployment_name": deployment_name,
            "drift_result_id": row.drift_result_id,
            "rule": row.rule,
            "severity": row.severity,
            "message": row.message,
            "details": row.details or {},
            "acknowledged": row.acknowledged,
            "retrain_run_id": row.retrain_run_id,
            "delivered": row.delivered or {},
            "created_at": iso(row.created_at),
        }

    def _names(self, ids: set[str | None]) -> dict[str, str]:
        names = {}
        for deployment_id in {i for i in ids if i}:
            deployment = deployment_or_none(self.deployments, deployment_id)
            if deployment is not None:
                names[deployment_id] = deployment["name"]
        return names

    def _row(self, session, alert_id: int) -> m.Alert:
        row = session.get(m.Alert, alert_id)
        if row is None:
            raise NotFound(f"no alert {alert_id}")
        return row

    # -- open -----------------------------------------------------------------------------------

    def open(
        self,
        monitor_id: str,
        deployment: Mapping[str, Any],
        result_id: int,
        fired: list[dict],
        *,
        context: Mapping[str, Any],
        user: str,
    ) -> tuple[list[dict], int]:
        """New alerts for rules not already open (and their audit entry); repeats are counted
        on the open alert. Returns (new alert dicts, number of repeats)."""
        created: list[m.Alert] = []
        repeated = 0
        with self.db.session() as session:
            open_rows = session.scalars(
                select(m.Alert).where(
                    m.Alert.monitor_id == monitor_id, m.Alert.acknowledged.is_(False)
                )
            ).all()
            open_keys = {(r.rule, (r.details or {}).get("column")): r for r in open_rows}
            for alert in fired:
                key = (alert["rule"], alert["details"].get("column"))
                existing = open_keys.get(key)
                if existing is not None:
                    details = dict(existing.details or {})
                    details["occurrences"] = int(details.get("occurrences", 1)) + 1
                    details["last_seen_at"] = utcnow().isoformat()
                    details["last_result_id"] = result_id
                    details["last_value"] = json_safe(alert["details"].get("value"))
                    existing.details = details
                    repeated += 1
                    continue
                row = m.Alert(
                    monitor_id=monitor_id,
                    drift_result_id=result_id,
                    deployment_id=deployment["id"],
                    rule=alert["rule"],
                    severity=alert["severity"],
                    message=alert["message"],
                    details=json_safe({**alert["details"], "occurrences": 1}),
                    delivered={"log": True, "panel": True},
                )
                session.add(row)
                session.flush()
                open_keys[key] = row
                created.append(row)
            if created:
                audit.record(
                    session,
                    model_name=deployment["model"],
                    action="drift_alert",
                    reason="; ".join(r.message for r in created)[:2000],
                    details=json_safe({**context, "alert_ids": [r.id for r in created]}),
                    user=user or "drift-monitor",
                    to_version=deployment["version"],
                )
            new = [self.to_dict(r, deployment["name"]) for r in created]
        return new, repeated

    def announce(self, alerts: list[dict], result_id: int) -> None:
        """``ALERT_RAISED`` for each new alert (after they committed). ``alert_ids`` names the
        whole batch of one check, so a subscriber can act once per check (the retrain
        workflow starts on the first)."""
        if self.events is None:
            return
        batch = [a["id"] for a in alerts]
        for alert in alerts:
            self.events.publish(
                ALERT_RAISED,
                alert_id=alert["id"],
                monitor_id=alert["monitor_id"],
                deployment_id=alert["deployment_id"],
                rule=alert["rule"],
                alert_ids=batch,
                drift_result_id=result_id,
            )

    # -- delivery -------------------------------------------------------------------------------

    def smtp_settings(self, override: Mapping[str, Any] | None = None) -> dict[str, Any]:
        settings = dict(self.settings.smtp)
        settings.update({k: v for k, v in (override or {}).items() if k in ("host", "port")})
        return settings

    def deliver(self, configured: Mapping, context: dict, alerts: list[dict]) -> dict[str, Any]:
        """Send ``alerts`` through the monitor's channels (and the server-wide webhook)."""
        delivered: dict[str, Any] = {}
        webhook_url = (configured.get("webhook") or {}).get("url") or self.settings.webhook_url
        if webhook_url:
            delivered["webhook"] = channels.send_webhook(
                webhook_url, channels.slack_payload(context, alerts)
            )
        email = configured.get("email")
        if email:
            subject, body = channels.alert_text(context, alerts)
            delivered["email"] = channels.send_email(
                SmtpSettings(**self.smtp_settings(email)), email["to"], subject, body
            )
        for channel, outcome in delivered.items():
            if not outcome.get("ok"):
                log.warning("drift alert delivery via %s failed: %s", channel, outcome.get("error"))
        if delivered:
            with self.db.session() as session:
                for alert in alerts:
                    row = session.get(m.Alert, alert["id"])
                    if row is not None:
                        row.delivered = {**(row.delivered or {}), **delivered}
        return delivered

    # -- read and acknowledge -------------------------------------------------------------------

    def list(
        self,
        *,
        monitor_id: str | None = None,
        acknowledged: bool | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> dict[str, Any]:
        conditions = []
        if monitor_id is not None:
            conditions.append(m.Alert.monitor_id == monitor_id)
        if acknowledged is not None:
            conditions.append(m.Alert.acknowledged.is_(acknowledged))
        with self.db.session() as session:
            total = session.scalar(select(func.count()).select_from(m.Alert).where(*conditions))
            rows = session.scalars(
                select(m.Alert)
                .where(*conditions)
                .order_by(m.Alert.id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
            names = self._names({r.deployment_id for r in rows})
            items = [self.to_dict(r, names.get(r.deployment_id)) for r in rows]
        return page(items, total or 0, offset, limit)

    def get(self, alert_id: int) -> dict[str, Any]:
        with self.db.session() as session:
            row = self._row(session, alert_id)
            names = self._names({row.deployment_id})
            return self.to_dict(row, names.get(row.deployment_id))

    def acknowledge(self, alert_id: int, *, user: str = "") -> dict[str, Any]:
        with self.db.session() as session:
            row = self._row(session, alert_id)
            if not row.acknowledged:
                row.acknowledged = True
                row.details = {
                    **(row.details or {}),
                    "acknowledged_by": user,
                    "acknowledged_at": utcnow().isoformat(),
                }
            names = self._names({row.deployment_id})
            return self.to_dict(row, names.get(row.deployment_id))

    def open_counts(self, monitor_ids: list[str]) -> dict[str, int]:
        """Unacknowledged alerts per monitor."""
        with self.db.session() as session:
            rows = session.execute(
                select(m.Alert.monitor_id, func.count())
                .where(m.Alert.monitor_id.in_(monitor_ids), m.Alert.acknowledged.is_(False))
                .group_by(m.Alert.monitor_id)
            ).all()
        return {monitor_id: count for monitor_id, count in rows}

    def delete_for_monitor(self, monitor_id: str) -> None:
        with self.db.session() as session:
            session.query(m.Alert).filter(m.Alert.monitor_id == monitor_id).delete()

    # -- the retrain record the workflow keeps on the alert ------------------------------------

    def record_retrain_step(
        self, alert_id: int, step: str, message: str, **fields: Any
    ) -> dict[str, Any]:
        """Record a step in the alert's ``details.retrain`` (and ``fields``: state, run id, …).

        A step already recorded under that name is replaced in place, so a workflow resumed
        after a restart that redoes a step does not list it twice."""
        entry = {"at": utcnow().isoformat(), "step": step, "message": message}
        with self.db.session() as session:
            row = self._row(session, alert_id)
            details = dict(row.details or {})
            retrain = dict(details.get("retrain") or {"steps": []})
            steps = list(retrain.get("steps") or [])
            names = [s.get("step") for s in steps]
            if step in names:
                steps[names.index(step)] = entry
            else:
                steps.append(entry)
            retrain["steps"] = steps
            retrain.update(json_safe(fields))
            details["retrain"] = retrain
            row.details = details
            if fields.get("run_id"):
                row.retrain_run_id = fields["run_id"]
            return retrain
