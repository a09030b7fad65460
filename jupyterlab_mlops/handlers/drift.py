"""``/mlops/api/drift/…``: monitors, their results over time, alerts, and ad-hoc reports.

Thin: parse with the models of ``drift/schemas.py``, call ``mlops.monitors``, write JSON. Checks
and reports read the prediction log and compute statistics for up to seconds, so they run in a
thread.
"""

from __future__ import annotations

import time

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..drift.config import plain_methods
from ..drift.schemas import (
    Alert,
    AlertPage,
    AlertsQuery,
    Chart,
    CheckOutcome,
    DriftResultDetail,
    DriftResultPage,
    EmptyBody,
    Monitor,
    MonitorCreate,
    MonitorDeleted,
    MonitorPage,
    MonitorsQuery,
    MonitorUpdate,
    Report,
    ReportRequest,
    ResultsQuery,
)
from ..errors import InvalidInput
from .base import MLOpsHandler, in_thread
from .openapi import operation

MONITOR_ID = r"(?P<monitor_id>[A-Za-z0-9_\-]{1,64})"
NUMBER_ID = r"(?P<item_id>[0-9]{1,18})"
PREFIX = "/mlops/api/drift"


class MonitorsHandler(MLOpsHandler):
    @operation("Drift monitors, newest first", query=MonitorsQuery, response=MonitorPage)
    @web.authenticated
    @authorized
    def get(self) -> None:
        query = self.query_as(MonitorsQuery)
        self.write_json(
            self.mlops.monitors.list(
                deployment_id=query.deployment_id, offset=query.offset, limit=query.limit
            )
        )

    @operation(
        "Create a monitor on a deployment",
        request=MonitorCreate,
        response=Monitor,
        status=201,
        errors=(400, 403, 404),
    )
    @web.authenticated
    @authorized
    def post(self) -> None:
        body = self.body_as(MonitorCreate)
        monitor = self.mlops.monitors.create(
            body.deployment_id,
            config=body.config,
            interval_seconds=body.interval_seconds,
            enabled=body.enabled,
            user=self.username,
        )
        self.write_json(monitor, status=201)


class MonitorHandler(MLOpsHandler):
    @operation("One monitor", response=Monitor, errors=(404,))
    @web.authenticated
    @authorized
    def get(self, monitor_id: str) -> None:
        self.write_json(self.mlops.monitors.get(monitor_id))

    @operation(
        "Change a monitor's config, interval or on/off switch",
        request=MonitorUpdate,
        response=Monitor,
        errors=(400, 403, 404),
    )
    @web.authenticated
    @authorized
    def put(self, monitor_id: str) -> None:
        body = self.body_as(MonitorUpdate)
        changes = {name: getattr(body, name) for name in body.model_fields_set}
        self.write_json(self.mlops.monitors.update(monitor_id, changes, user=self.username))

    @operation("Delete a monitor, its results and its alerts", response=MonitorDeleted)
    @web.authenticated
    @authorized
    def delete(self, monitor_id: str) -> None:
        self.write_json(self.mlops.monitors.delete(monitor_id, user=self.username))


class MonitorCheckHandler(MLOpsHandler):
    @operation("Run a check now", request=EmptyBody, response=CheckOutcome, errors=(400, 404, 409))
    @web.authenticated
    @authorized
    async def post(self, monitor_id: str) -> None:
        self.body_as(EmptyBody)
        monitors = self.mlops.monitors
        monitors.get(monitor_id)  # a 404 at once, before the thread
        self.write_json(await in_thread(monitors.check, monitor_id, user=self.username))


class MonitorResultsHandler(MLOpsHandler):
    @operation(
        "A monitor's results over time (oldest first in the page)",
        query=ResultsQuery,
        response=DriftResultPage,
    )
    @web.authenticated
    @authorized
    def get(self, monitor_id: str) -> None:
        query = self.query_as(ResultsQuery)
        self.write_json(
            self.mlops.monitors.results(monitor_id, offset=query.offset, limit=query.limit)
        )


class MonitorChartHandler(MLOpsHandler):
    @operation(
        "A monitor's drift share over time as a Vega-Lite chart (the notebook widget's)",
        query=ResultsQuery,
        response=Chart,
    )
    @web.authenticated
    @authorized
    def get(self, monitor_id: str) -> None:
        query = self.query_as(ResultsQuery)
        self.write_json(
            self.mlops.monitors.history_chart(monitor_id, offset=query.offset, limit=query.limit)
        )


class ResultHandler(MLOpsHandler):
    @operation("One result with its per-column statistics", response=DriftResultDetail)
    @web.authenticated
    @authorized
    def get(self, item_id: str) -> None:
        self.write_json(self.mlops.monitors.get_result(int(item_id)))


class AlertsHandler(MLOpsHandler):
    @operation("Alerts, newest first", query=AlertsQuery, response=AlertPage)
    @web.authenticated
    @authorized
    def get(self) -> None:
        query = self.query_as(AlertsQuery)
        self.write_json(
            self.mlops.monitors.alerts(
                monitor_id=query.monitor_id,
                acknowledged=query.acknowledged,
                offset=query.offset,
                limit=query.limit,
            )
        )


class AlertAckHandler(MLOpsHandler):
    @operation("Acknowledge an alert", request=EmptyBody, response=Alert)
    @web.authenticated
    @authorized
    def post(self, item_id: str) -> None:
        self.body_as(EmptyBody)
        self.write_json(self.mlops.monitors.acknowledge(int(item_id), user=self.username))


class ReportHandler(MLOpsHandler):
    """Ad-hoc drift of a deployment's recent predictions (by model ref, name or id)."""

    @operation(
        "Drift of a deployment's recent predictions against its version's reference",
        request=ReportRequest,
        response=Report,
        errors=(400, 404, 409),
    )
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body_as(ReportRequest)
        target = body.deployment_id or body.model
        if not target:
            raise InvalidInput(
                "'model' (e.g. 'churn@production') or 'deployment_id' is required",
                details={"field": "model"},
            )
        window = body.window
        since = window.since if window else None
        if window is not None and window.seconds is not None:
            since = time.time() - window.seconds
        monitors = self.mlops.monitors
        monitors.find_deployment(target)  # 404 before the thread
        report = await in_thread(
            monitors.deployment_report,
            target,
            last_n=window.last_n if window else None,
            since=since,
            until=window.until if window else None,
            methods=plain_methods(body.methods),
            with_history=body.history,
            progress=False,
            min_rows=body.min_rows,
        )
        self.write_json(report.to_dict())


routes = [
    (rf"{PREFIX}/monitors", MonitorsHandler),
    (rf"{PREFIX}/monitors/{MONITOR_ID}", MonitorHandler),
    (rf"{PREFIX}/monitors/{MONITOR_ID}/check", MonitorCheckHandler),
    (rf"{PREFIX}/monitors/{MONITOR_ID}/results", MonitorResultsHandler),
    (rf"{PREFIX}/monitors/{MONITOR_ID}/chart", MonitorChartHandler),
    (rf"{PREFIX}/results/{NUMBER_ID}", ResultHandler),
    (rf"{PREFIX}/alerts", AlertsHandler),
    (rf"{PREFIX}/alerts/{NUMBER_ID}/ack", AlertAckHandler),
    (rf"{PREFIX}/report", ReportHandler),
]
