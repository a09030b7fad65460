"""Liveness of running deployments: dead processes and containers, silent ``/health``, restarts.

The scheduler job ``serving.liveness`` calls :meth:`Liveness.check` every
``deployment_poll_interval`` seconds. A running local or docker deployment is dead when its
process is gone (``kill -9``), its container exited, died or was OOM-killed (``docker inspect``
state through the SDK), or it failed :data:`HEALTH_FAILURES` ``/health`` probes in a row. It is
then ``failed`` with the reason, and ``DEPLOYMENT_FAILED`` is published. With
``restart_policy: on-failure`` it is restarted after ``backoff_seconds × 2^n`` (n restarts so
far), at most ``max_restarts`` times; the count is the record's ``restarts``. A deployment a
user stops, deletes or restarts meanwhile is left alone.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import httpx

from ..errors import NotFound

if TYPE_CHECKING:
    from .service import DeploymentService

WATCHED = ("local", "docker")
HEALTH_TIMEOUT = 2.0
HEALTH_FAILURES = 3
MAX_BACKOFF_SECONDS = 300.0


def restart_policy(deployment: dict[str, Any]) -> dict[str, Any]:
    policy = (deployment.get("config") or {}).get("restart_policy") or {}
    return {"policy": "never", "max_restarts": 3, "backoff_seconds": 1.0, **policy}


class Liveness:
    """Finds dead deployments and applies their restart policy."""

    def __init__(self, service: DeploymentService):
        self.service = service
        self._health_failures: dict[str, int] = {}
        self._restart_due: dict[str, float] = {}

    def check(self) -> list[str]:
        dead = []
        for deployment in self.service.records.find(status="running", limit=100_000):
            if deployment["target"] not in WATCHED:
                continue
            reason = self._failure(deployment, probe=True)
            if reason is None:
                continue
            with self.service._lock(deployment["id"]):  # a stop in progress is not a death
                try:
                    current = self.service.records.get(deployment["id"])
                except NotFound:
                    continue
                if current["status"] != "running":
                    continue
                if reason.startswith("stopped answering"):
                    # a hung process would hold its port and memory: end it first
                    self.service.deployer(current["target"]).kill(current)
                else:
                    reason = self._failure(current, probe=False)
                    if reason is None:
                        continue
                self._fail(current, reason)
                dead.append(current["id"])
        self._restart_due_ones()
        return dead

    # -- detection ----------------------------------------------------------------------------

    def _failure(self, deployment: dict[str, Any], *, probe: bool) -> str | None:
        try:
            reason = self.service.deployer(deployment["target"]).failure(deployment)
        except Exception as err:  # noqa: BLE001 - an unreachable engine is not a dead container
            self.service.log.warning("liveness of %s: %s", deployment["id"], err)
            return None
        if reason is not None or not probe:
            return reason
        return self._probe(deployment)

    def _probe(self, deployment: dict[str, Any]) -> str | None:
        url = deployment.get("url")
        if not url:
            return None
        try:
            response = httpx.get(f"{url}/health", timeout=HEALTH_TIMEOUT, trust_env=False)
            problem = None if response.status_code == 200 else f"HTTP {response.status_code}"
        except httpx.HTTPError as err:
            problem = str(err) or type(err).__name__
        if problem is None:
            self._health_failures.pop(deployment["id"], None)
            return None
        count = self._health_failures.get(deployment["id"], 0) + 1
        self._health_failures[deployment["id"]] = count
        if count < HEALTH_FAILURES:
            return None
        self._health_failures.pop(deployment["id"], None)
        return f"stopped answering {url}/health ({count} probes in a row: {problem})"

    # -- reaction -----------------------------------------------------------------------------

    def _fail(self, deployment: dict[str, Any], reason: str) -> None:
        policy = restart_policy(deployment)
        restarts = int(deployment.get("restarts") or 0)
        if policy["policy"] == "on-failure":
            if restarts < policy["max_restarts"]:
                delay = min(policy["backoff_seconds"] * 2**restarts, MAX_BACKOFF_SECONDS)
                self._restart_due[deployment["id"]] = time.monotonic() + delay
                reason += (
                    f"; restart {restarts + 1} of {policy['max_restarts']} in {delay:g}s "
                    "(restart_policy on-failure)"
                )
            else:
                reason += f"; not restarted: {restarts} restarts made (max_restarts)"
        self.service._failed(deployment["id"], reason, pid=None)

    def _restart_due_ones(self) -> None:
        now = time.monotonic()
        for deployment_id, due in list(self._restart_due.items()):
            if due > now:
                continue
            self._restart_due.pop(deployment_id, None)
            with self.service._lock(deployment_id):
                try:
                    current = self.service.records.get(deployment_id)
                except NotFound:
                    continue
                if current["status"] != "failed":  # a user restarted or stopped it meanwhile
                    continue
                restarts = int(current.get("restarts") or 0) + 1
                try:
                    self.service._revive(deployment_id, restarts)
                except Exception as err:  # noqa: BLE001 - a failed restart is one more failure
                    current = self.service.records.get(deployment_id)
                    self._fail(current, f"restart {restarts} failed: {err}")
