"""``/mlops/api/drift/…``: monitors, their results over time, alerts, and ad-hoc reports.

Thin: parse, call ``mlops.monitors`` (or the report engine), write JSON. Checks and reports read
the prediction log and compute statistics for up to seconds, so they run in a thread.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import InvalidInput
from .base import MLOpsHandler, check_fields, in_thread

MONITOR_ID = r"(?P<monitor_id>[A-Za-z0-9_\-]{1,64})"
NUMBER_ID = r"(?P<item_id>[0-9]{1,18})"
PREFIX = "/mlops/api/drift"


def _timestamp(value: Any, what: str) -> float | None:
    """Unix seconds from a number or an ISO-8601 string."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    raise InvalidInput(f"{what} must be unix seconds or an ISO-8601 time, got {value!r}")


class MonitorsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        offset, limit = self.page_arguments()
        deployment_id = self.get_query_argument("deployment_id", None) or None
        self.write_json(
            self.mlops.monitors.list(deployment_id=deployment_id, offset=offset, limit=limit)
        )

    @web.authenticated
    @authorized
    def post(self) -> None:
        body = self.json_body()
        check_fields(body, {"deployment_id", "config", "interval_seconds", "enabled"})
        monitor = self.mlops.monitors.create(
            body.get("deployment_id"),
            config=body.get("config"),
            interval_seconds=body.get("interval_seconds"),
            enabled=body.get("enabled", True),
            user=self.username,
        )
        self.write_json(monitor, status=201)


class MonitorHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    def get(self, monitor_id: str) -> None:
        self.write_json(self.mlops.monitors.get(monitor_id))

    @web.authenticated
    @authorized
    def put(self, monitor_id: str) -> None:
        self.write_json(
            self.mlops.monitors.update(monitor_id, self.json_body(), user=self.username)
        )

    @web.authenticated
    @authorized
    def delete(self, monitor_id: str) -> None:
        self.write_json(self.mlops.monitors.delete(monitor_id, user=self.username))


class MonitorCheckHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def post(self, monitor_id: str) -> None:
        monitors = self.mlops.monitors
        monitors.get(monitor_id)  # a 404 at once, before the thread
        self.write_json(await in_thread(monitors.check, monitor_id, user=self.username))


class MonitorResultsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    def get(self, monitor_id: str) -> None:
        offset, limit = self.page_arguments(default_limit=100)
        self.write_json(self.mlops.monitors.results(monitor_id, offset=offset, limit=limit))


class ResultHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    def get(self, item_id: str) -> None:
        self.write_json(self.mlops.monitors.get_result(int(item_id)))


class AlertsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        offset, limit = self.page_arguments()
        acknowledged = self.get_query_argument("acknowledged", None)
        if acknowledged not in (None, "", "true", "false", "1", "0"):
            raise InvalidInput("query argument 'acknowledged' must be true or false")
        self.write_json(
            self.mlops.monitors.alerts(
                monitor_id=self.get_query_argument("monitor_id", None) or None,
                acknowledged=None if not acknowledged else acknowledged in ("true", "1"),
                offset=offset,
                limit=limit,
            )
        )


class AlertAckHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    def post(self, item_id: str) -> None:
        self.write_json(self.mlops.monitors.acknowledge(int(item_id), user=self.username))


class ReportHandler(MLOpsHandler):
    """Ad-hoc drift of a deployment's recent predictions (by model ref, name or id)."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        check_fields(body, {"model", "deployment_id", "window", "methods", "history"})
        target = body.get("deployment_id") or body.get("model")
        if not isinstance(target, str) or not target:
            raise InvalidInput("'model' (e.g. 'churn@production') or 'deployment_id' is required")
        window = body.get("window") or {}
        if not isinstance(window, dict) or set(window) - {"last_n", "since", "until", "seconds"}:
            raise InvalidInput("window must be {last_n?, since?, until?} or {seconds}")
        last_n = window.get("last_n")
        if last_n is not None and (
            isinstance(last_n, bool) or not isinstance(last_n, int) or last_n < 1
        ):
            raise InvalidInput("window.last_n must be a positive integer")
        since = _timestamp(window.get("since"), "window.since")
        until = _timestamp(window.get("until"), "window.until")
        seconds = window.get("seconds")
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
                raise InvalidInput("window.seconds must be a positive number")
            import time

            since = time.time() - float(seconds)
        methods = body.get("methods")
        if methods is not None and not isinstance(methods, str | dict):
            raise InvalidInput("methods must be null, a method name or {column: method}")
        monitors = self.mlops.monitors
        monitors.find_deployment(target)  # 404 before the thread
        report = await in_thread(
            monitors.deployment_report,
            target,
            last_n=last_n,
            since=since,
            until=until,
            methods=methods,
            with_history=bool(body.get("history", True)),
            progress=False,
        )
        self.write_json(report.to_dict())


routes = [
    (rf"{PREFIX}/monitors", MonitorsHandler),
    (rf"{PREFIX}/monitors/{MONITOR_ID}", MonitorHandler),
    (rf"{PREFIX}/monitors/{MONITOR_ID}/check", MonitorCheckHandler),
    (rf"{PREFIX}/monitors/{MONITOR_ID}/results", MonitorResultsHandler),
    (rf"{PREFIX}/results/{NUMBER_ID}", ResultHandler),
    (rf"{PREFIX}/alerts", AlertsHandler),
    (rf"{PREFIX}/alerts/{NUMBER_ID}/ack", AlertAckHandler),
    (rf"{PREFIX}/report", ReportHandler),
]
