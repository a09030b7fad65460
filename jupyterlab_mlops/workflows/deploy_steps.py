"""The steps of a one-click deploy — run, register, serve, healthy — each resumable.

:class:`DeploySteps` advances one deploy workflow record (see :mod:`.deploy`). A step that
already finished is not done again; a step that was interrupted continues from what its record
kept: the run it submitted is waited for (found by its ``deploy_job`` trigger if its id was not
recorded yet), the deployment it created is reused once running or restarted. What the steps
need from the domains is their public services: ``runs`` (submit, get, list), ``registry``
(versions_by_run, resolve), ``deployments`` (find, create, get, restart, is_alive).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, MLOpsError, NotFound
from ..runs import TERMINAL_STATES
from ..serving.deployers.base import wait_healthy
from ..serving.examples import curl_command
from .records import WorkflowRecords

if TYPE_CHECKING:
    from ..registry.service import RegistryService
    from ..runs.service import RunService
    from ..serving.service import DeploymentService

KIND = "deploy"
STEPS = ("run", "register", "serve", "healthy")
RUN_POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 10.0
PROGRESS_SECONDS = 0.5
HEALTH_TIMEOUT = 30.0
# How long a resumed deploy waits for a deployment another thread is still starting.
STARTING_WAIT = 180.0


class Stopping(Exception):
    """The server is stopping: the deploy stays where it is, for the next server to resume."""


class DeploySteps:
    """Advances deploy workflows; ``stopping`` set means: stop at the next checkpoint."""

    def __init__(
        self,
        records: WorkflowRecords,
        *,
        runs: RunService,
        registry: RegistryService,
        deployments: DeploymentService,
        stopping: threading.Event,
        log: logging.Logger,
    ):
        self.records = records
        self.runs = runs
        self.registry = registry
        self.deployments = deployments
        self._stopping = stopping
        self.log = log

    def _check_stopping(self) -> None:
        if self._stopping.is_set():
            raise Stopping()

    def advance(self, workflow_id: str) -> None:
        """Take the deploy from where its record stands to succeeded or failed (or leave it
        where it is when the server stops)."""
        workflow = self.records.get(workflow_id, KIND)
        if workflow["status"] not in ("pending", "running"):
            return
        inputs, user = workflow["inputs"], workflow["created_by"]
        steps = {step["name"]: step for step in workflow["steps"]}
        current = "run"
        try:
            run_id, registered = self._run(workflow_id, inputs, steps["run"], user)
            current = "register"
            registered = self._register(workflow_id, steps["register"], run_id, registered)
            current = "serve"
            deployment = self._serve(workflow_id, inputs, steps["serve"], registered, user)
            current = "healthy"
            self._healthy(workflow_id, steps["healthy"], registered, deployment)
        except Stopping:
            return
        except Exception as err:  # noqa: BLE001 - reported in the workflow, never lost
            if self._stopping.is_set():
                return  # a failure while stopping is not the deploy's: resume it later
            message = err.message if isinstance(err, MLOpsError) else f"{type(err).__name__}: {err}"
            if not isinstance(err, MLOpsError):
                self.log.exception("one-click deploy %s failed", workflow_id)
            self.records.finish_step(workflow_id, current, "failed", detail=message, error=message)
            self.records.finish(workflow_id, "failed", error=message)
            return
        self.records.finish(workflow_id, "succeeded")

    def _start_step(self, workflow_id: str, step: dict[str, Any], detail: str = "") -> None:
        self._check_stopping()
        if step["status"] == "pending":
            self.records.start_step(workflow_id, step["name"], detail)

    def _run(
        self, workflow_id: str, inputs: dict, step: dict, user: str
    ) -> tuple[str, dict | None]:
        """(run id, version it registered if already known)."""
        outputs = step["outputs"]
        if step["status"] in ("succeeded", "skipped"):
            registered = (
                {"name": outputs["model"], "version": outputs["version"]}
                if outputs.get("model")
                else None
            )
            return outputs["run_id"], registered
        notebook_path = inputs["notebook_path"]
        run_id = outputs.get("run_id")
        if run_id is None and step["status"] == "pending" and not inputs.get("parameters"):
            latest, registered = self.latest_registered(notebook_path)
            if registered is not None:
                self.records.finish_step(
                    workflow_id,
                    "run",
                    "skipped",
                    detail=f"latest successful run {latest}",
                    outputs={
                        "run_id": latest,
                        "model": registered["name"],
                        "version": registered["version"],
                    },
                )
                self.records.set_outputs(workflow_id, run_id=latest)
                return latest, registered
        if run_id is None and step["status"] == "running":
            run_id = self._submitted_run(workflow_id, notebook_path)  # submitted, not recorded
        self._start_step(workflow_id, step, "submitting the notebook")
        if run_id is None:
            run = self.runs.submit(
                notebook_path,
                inputs.get("parameters") or {},
                user=user,
                trigger="deploy",
                trigger_details={"deploy_job": workflow_id},
            )
            run_id = run["id"]
            self.records.update_step(workflow_id, "run", run_id=run_id)
            self.records.set_outputs(workflow_id, run_id=run_id)
        self._wait_for_run(workflow_id, run_id)
        self.records.finish_step(
            workflow_id, "run", "succeeded", detail=f"run {run_id} succeeded", outputs={}
        )
        return run_id, None

    def _wait_for_run(self, workflow_id: str, run_id: str) -> None:
        last_detail, last_write = None, time.monotonic()
        while True:
            self._check_stopping()
            try:
                run = self.runs.get(run_id)
            except NotFound:
                raise MLOpsError(f"run {run_id} no longer exists", code="run_failed") from None
            status = run.get("status")
            if status in TERMINAL_STATES:
                break
            progress = run.get("progress") or {}
            detail = (
                f"run {run_id}: {status}, cell "
                f"{progress.get('cells_done') or 0}/{progress.get('cells_total') or 0}"
            )
            now = time.monotonic()
            if detail != last_detail:
                self.records.update_step(workflow_id, "run", progress=detail)
                last_detail, last_write = detail, now
            elif now - last_write > HEARTBEAT_SECONDS:
                self.records.heartbeat(workflow_id)
                last_write = now
            self._stopping.wait(RUN_POLL_SECONDS)
        if status != "succeeded":
            error = run.get("error") or {}
            reason = error.get("evalue") or run.get("status_reason") or status
            raise MLOpsError(f"run {run_id} {status}: {reason}", code="run_failed")

    def _register(
        self, workflow_id: str, step: dict, run_id: str, registered: dict | None
    ) -> dict[str, Any]:
        if step["status"] == "succeeded":
            return {"name": step["outputs"]["model"], "version": step["outputs"]["version"]}
        self._start_step(workflow_id, step)
        if registered is None:
            versions = self.registry.versions_by_run(run_id, include_archived=True, limit=1)
            if versions:
                registered = {"name": versions[0]["name"], "version": versions[0]["version"]}
        if registered is None:
            raise InvalidInput(
                f"run {run_id} registered no model: call "
                "mlops.register_model(model, 'name', X_sample=X) in the notebook"
            )
        self.records.set_outputs(
            workflow_id, model=registered["name"], version=registered["version"]
        )
        self.records.finish_step(
            workflow_id,
            "register",
            "succeeded",
            detail=f"{registered['name']}/{registered['version']}",
            outputs={"model": registered["name"], "version": registered["version"]},
        )
        return registered

    def _serve(
        self, workflow_id: str, inputs: dict, step: dict, registered: dict, user: str
    ) -> dict[str, Any]:
        if step["status"] == "succeeded":
            return self.deployments.get(step["outputs"]["deployment_id"], stats=False)
        target = inputs["target"]
        ref = f"{registered['name']}/{registered['version']}"
        self._start_step(workflow_id, step, f"deploying {ref} ({target})")
        deployment = None
        if step["outputs"].get("deployment_id"):  # created before the server stopped
            deployment = self._resume_deployment(workflow_id, step["outputs"]["deployment_id"])
        if deployment is None:
            deployment = self._reuse(registered, target)
        if deployment is None:
            deployment = self.deployments.create(
                ref,
                target,
                user=user,
                progress=self._progress(workflow_id, "serve"),
                on_created=lambda record: self.records.update_step(
                    workflow_id, "serve", deployment_id=record["id"]
                ),
            )
        self.records.set_outputs(workflow_id, deployment_id=deployment["id"])
        self.records.finish_step(
            workflow_id,
            "serve",
            "succeeded",
            detail=f"deployment {deployment['id']}",
            outputs={"deployment_id": deployment["id"]},
        )
        return deployment

    def _resume_deployment(self, workflow_id: str, deployment_id: str) -> dict | None:
        """The deployment a previous attempt created: reused once running, else restarted."""
        try:
            deployment = self.deployments.get(deployment_id, stats=False)
        except NotFound:
            return None
        deadline = time.monotonic() + STARTING_WAIT
        while deployment["status"] in ("pending", "starting") and time.monotonic() < deadline:
            self._check_stopping()
            self._stopping.wait(0.5)
            deployment = self.deployments.get(deployment_id, stats=False)
        if deployment["status"] == "written" or (
            deployment["status"] == "running" and self.deployments.is_alive(deployment)
        ):
            return deployment
        return self.deployments.restart(
            deployment_id, progress=self._progress(workflow_id, "serve")
        )

    def _reuse(self, registered: dict, target: str) -> dict | None:
        """A running deployment of exactly this version (a second click reuses it)."""
        for deployment in self.deployments.find(
            model=registered["name"],
            version=int(registered["version"]),
            target=target,
            status="running",
            pinned=True,
            limit=10,
        ):
            if self.deployments.is_alive(deployment):
                return deployment
        return None

    def _healthy(self, workflow_id: str, step: dict, registered: dict, deployment: dict) -> None:
        self._start_step(workflow_id, step)
        url = deployment["url"]
        if deployment["status"] == "running":
            wait_healthy(url, timeout=HEALTH_TIMEOUT)
        version = self.registry.resolve(f"{registered['name']}/{registered['version']}")
        curl = curl_command(url, version.get("signature") or {}, version.get("profile"))
        self.records.set_outputs(workflow_id, url=url, curl=curl)
        self.records.finish_step(
            workflow_id, "healthy", "succeeded", detail=url, outputs={"url": url, "curl": curl}
        )

    def latest_registered(self, notebook_path: str) -> tuple[str, dict | None]:
        """(run id, newest unarchived version it registered) of the notebook's latest
        successful run."""
        offset, size = 0, 50
        while True:
            page = self.runs.list(offset, size, notebook=notebook_path, status="succeeded")
            for run in page["items"]:
                if run["notebook_path"] != notebook_path:  # the filter is a substring match
                    continue
                versions = self.registry.versions_by_run(run["id"], include_archived=False, limit=1)
                if not versions:
                    return run["id"], None
                return run["id"], {"name": versions[0]["name"], "version": versions[0]["version"]}
            offset += size
            if offset >= page["total"]:
                return "", None

    def _submitted_run(self, workflow_id: str, notebook_path: str) -> str | None:
        """The run an interrupted attempt submitted before it could record the id."""
        page = self.runs.list(0, 50, notebook=notebook_path)
        for run in page["items"]:
            details = run.get("trigger_details") or {}
            if run.get("trigger") == "deploy" and details.get("deploy_job") == workflow_id:
                return run["id"]
        return None

    def _progress(self, workflow_id: str, step: str) -> Callable[[str], None]:
        """A progress callback that records the latest line (at most twice a second)."""
        last = [0.0]

        def progress(line: str) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_SECONDS:
                last[0] = now
                self.records.update_step(workflow_id, step, progress=line[:500])

        return progress
