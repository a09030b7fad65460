"""Telling people how runs, pipeline runs and scheduled runs ended.

Subscribed to ``run_finished`` and ``pipeline_finished``. What is told, and to whom, comes from
the schedule's or the pipeline's ``notify`` (``{"on": [...], "webhook": url, "email": [...],
"lab": true}``), else from the global default (``c.MLOps.notify_on``: failures only). A lab
notification is a row of the ``notifications`` table that every open lab on the store polls
(``GET /mlops/api/notifications?after=ID``) and shows with an "Open" action; webhooks and e-mail
go through :mod:`~jupyterlab_mlops.channels` in the background outbox, so a dead receiver is
logged and retried, and never fails the run. A run that is a pipeline step is told about as part
of its pipeline run, not on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from .. import channels
from ..errors import NotFound
from ..events import Event
from ..store.db import Database
from ..store.models import Notification, utcnow

LEVELS = {"succeeded": "success", "failed": "error", "timed_out": "error", "cancelled": "info"}


@dataclass(frozen=True)
class NotificationSettings:
    default_on: tuple[str, ...] = ("failed", "timed_out")
    webhook_url: str = ""
    email_to: tuple[str, ...] = ()
    smtp: channels.SmtpSettings = field(default_factory=channels.SmtpSettings)


def notification_dict(row: Notification) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "level": row.level,
        "title": row.title,
        "message": row.message,
        "link": dict(row.link or {}),
        "created_at": row.created_at.isoformat() if row.created_at else None,
    }


class Notifier:
    def __init__(
        self,
        db: Database,
        outbox: channels.Outbox,
        settings: NotificationSettings,
        *,
        run: Callable[[str], dict[str, Any]],
        schedule_notify: Callable[[str], dict[str, Any] | None],
    ):
        self.db = db
        self.outbox = outbox
        self.settings = settings
        self.run = run
        self.schedule_notify = schedule_notify

    # -- what to tell ---------------------------------------------------------------------------

    def _config(self, notify: dict[str, Any] | None) -> dict[str, Any]:
        notify = dict(notify or {})
        return {
            "on": tuple(notify.get("on") or self.settings.default_on),
            "webhook": notify.get("webhook") or self.settings.webhook_url,
            "email": list(notify.get("email") or self.settings.email_to),
            "lab": notify.get("lab", True),
        }

    def on_run_finished(self, event: Event) -> None:
        if event.get("trigger") == "pipeline":
            return
        try:
            run = self.run(event["run_id"])
        except NotFound:
            return
        status = run["status"]
        schedule_id = run.get("schedule_id") or (run.get("trigger_details") or {}).get(
            "schedule_id"
        )
        config = self._config(self.schedule_notify(schedule_id) if schedule_id else None)
        if status not in config["on"]:
            return
        where = f"scheduled run of {run['notebook_path']}" if schedule_id else run["notebook_path"]
        error = run.get("error") or {}
        reason = ": ".join(x for x in (error.get("ename"), error.get("evalue")) if x) or (
            run.get("status_reason") or ""
        )
        self.notify(
            config,
            kind="run",
            status=status,
            title=f"Run {status.replace('_', ' ')}: {where}",
            message=reason or f"run {run['id']} {status}",
            link={"run_id": run["id"], **({"schedule_id": schedule_id} if schedule_id else {})},
        )

    def on_pipeline_finished(self, event: Event) -> None:
        status = event["status"]
        schedule_id = event.get("schedule_id")
        scheduled = self.schedule_notify(schedule_id) if schedule_id else None
        config = self._config(scheduled or event.get("notify"))
        if status not in config["on"]:
            return
        self.notify(
            config,
            kind="pipeline_run",
            status=status,
            title=f"Pipeline {status.replace('_', ' ')}: {event['pipeline_path']}",
            message=event.get("error") or f"pipeline run {event['pipeline_run_id']} {status}",
            link={
                "pipeline_run_id": event["pipeline_run_id"],
                **({"schedule_id": schedule_id} if schedule_id else {}),
            },
        )

    # -- telling --------------------------------------------------------------------------------

    def notify(
        self,
        config: dict[str, Any],
        *,
        kind: str,
        status: str,
        title: str,
        message: str,
        link: dict[str, Any],
    ) -> None:
        if config["lab"]:
            with self.db.session() as session:
                session.add(
                    Notification(
                        kind=kind,
                        level=LEVELS.get(status, "info"),
                        title=title[:255],
                        message=message[:4000],
                        link=link,
                        created_at=utcnow(),
                    )
                )
        lines = [message, *[f"{key}: {value}" for key, value in link.items()]]
        if config["webhook"]:
            url, payload = config["webhook"], channels.slack_message(title, lines)
            self.outbox.submit(
                f"{kind} notification to {url}",
                lambda: channels.send_webhook(url, {**payload, "status": status, **link}),
            )
        if config["email"]:
            to, smtp = list(config["email"]), self.settings.smtp
            self.outbox.submit(
                f"{kind} notification to {', '.join(to)}",
                lambda: channels.send_email(smtp, to, f"[mlops] {title}", "\n".join(lines)),
            )

    def list(self, *, after: int | None = None, limit: int = 50) -> dict[str, Any]:
        """Lab notifications after id ``after``, oldest first; ``last_id`` to poll from next.
        Without ``after`` (a lab that just opened) nothing is returned: it starts from now."""
        with self.db.session() as session:
            if after is None:
                newest = session.scalar(select(Notification.id).order_by(Notification.id.desc()))
                return {"items": [], "last_id": newest or 0}
            rows = session.scalars(
                select(Notification)
                .where(Notification.id > after)
                .order_by(Notification.id)
                .limit(limit)
            ).all()
            items = [notification_dict(row) for row in rows]
        return {"items": items, "last_id": items[-1]["id"] if items else after}
