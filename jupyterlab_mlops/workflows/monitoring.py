"""Every deployment is monitored from the start: its drift monitor follows its lifecycle.

Serving and drift do not know each other; this workflow listens to serving's events (wired in
``app.py`` wherever the deployments service is built, so REST, the CLI, the magics and the
one-click deploy all go through it) and calls the drift service:

- ``deployment_created`` → a monitor with the default config (window, rules: drift share > 0.5,
  mean shift ≥ 20 %, missing rate > 5 %, performance drop > 10 % once labels exist) and the
  default interval (``c.MLOps.monitor_interval``), unless the deployment's config says
  ``"monitor": false`` or the deployment already has one;
- ``deployment_stopped`` → its monitors are paused (a monitor a user disabled stays disabled);
- ``deployment_restarted`` → paused monitors check again from the next tick;
- ``deployment_switched`` (alias following moved it to another version) → the monitors are due
  at once: checks always compare with the profile of the version served *now*.

Deleting a deployment deletes its monitors, results and alerts with it (foreign keys).
A failure here is logged by the event bus and never fails the deployment.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..drift.service import MonitorService
    from ..events import Event
    from ..serving.service import DeploymentService

log = logging.getLogger(__name__)


class DeploymentMonitoring:
    """Creates, pauses, resumes and re-references the monitors of deployments."""

    def __init__(
        self,
        monitors: MonitorService,
        deployments: DeploymentService,
        logger: logging.Logger | None = None,
    ):
        self.monitors = monitors
        self.deployments = deployments
        self.log = logger or log

    def _monitors_of(self, deployment_id: str) -> list[dict[str, Any]]:
        return self.monitors.list(deployment_id=deployment_id, limit=100)["items"]

    def ensure(self, deployment_id: str, *, user: str = "") -> dict[str, Any] | None:
        """The deployment's monitor, created with the defaults if it has none; None when its
        config says ``"monitor": false``."""
        deployment = self.deployments.get(deployment_id, stats=False)
        if deployment["config"].get("monitor") is False:
            return None
        existing = self._monitors_of(deployment_id)
        if existing:
            return existing[0]
        monitor = self.monitors.create(deployment_id, user=user)
        self.log.info(
            "deployment %s (%s v%s) monitored by %s with the default rules",
            deployment["name"],
            deployment["model"],
            deployment["version"],
            monitor["id"],
        )
        return monitor

    # -- event handlers (subscribed by app.py) ---------------------------------------------------

    def on_created(self, event: Event) -> None:
        if event.get("monitor", True) is False:
            return
        self.ensure(event["deployment_id"], user=event.get("user", ""))

    def on_stopped(self, event: Event) -> None:
        for monitor in self._monitors_of(event["deployment_id"]):
            self.monitors.pause(monitor["id"], user=event.get("user", ""))

    def on_restarted(self, event: Event) -> None:
        for monitor in self._monitors_of(event["deployment_id"]):
            self.monitors.resume(monitor["id"], user=event.get("user", ""))

    def on_switched(self, event: Event) -> None:
        for monitor in self._monitors_of(event["deployment_id"]):
            self.monitors.check_soon(monitor["id"])
            self.log.info(
                "monitor %s: reference moved from %s v%s to v%s",
                monitor["id"],
                event["model"],
                event["from_version"],
                event["to_version"],
            )
