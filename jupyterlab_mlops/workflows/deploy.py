"""One-click deploy from a notebook: run → register → serve → healthy, a persisted workflow.

If the notebook's latest successful run registered a model (and no parameters are given), that
version is deployed. Otherwise the notebook is run headlessly (``runs.submit`` with the dialog's
parameters); the notebook registers what it produced (``mlops.register_model`` links the version
to the run) and the newest version registered by that run is deployed. A running deployment of
exactly that version and target is reused.

Each deploy is a workflow record (kind ``deploy``, subject: the notebook path, steps ``run``,
``register``, ``serve``, ``healthy``) whose steps keep what they produced (the run id, the
version, the deployment id), so a server that stops half-way loses nothing: the next one
resumes every unfinished deploy from its current step — a run already submitted is waited for,
not submitted again; a deployment already created is reused or restarted. The dialog polls
``GET /mlops/api/deploy/jobs/{id}``, which shows the record as a *job* (:func:`job_view`).

This module starts, shows, resumes and stops deploys; :mod:`.deploy_steps` does the steps.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, NotFound
from ..paths import relative_to_root, resolve_in_root
from ..serving.deployers import check_target
from .deploy_steps import KIND, STEPS, DeploySteps
from .records import WorkflowRecords

if TYPE_CHECKING:
    from ..registry.service import RegistryService
    from ..runs.service import RunService
    from ..serving.service import DeploymentService

__all__ = ["KIND", "STEPS", "DeployJobs", "job_view"]

# A deploy whose owner has not said anything for this long is taken over by another server.
STALE_AFTER = 120.0

# Deploys a thread of this process is advancing right now (several MLOps objects in one
# process — a test restarting "the server" — must not advance the same deploy twice).
_advancing: set[str] = set()
_advancing_lock = threading.Lock()


def job_view(workflow: dict[str, Any]) -> dict[str, Any]:
    """A deploy workflow as the job the dialog shows (``schemas.DeployJob``)."""
    inputs, outputs = workflow["inputs"], workflow["outputs"]
    steps = []
    for step in workflow["steps"]:
        status = "done" if step["status"] == "succeeded" else step["status"]
        detail = step["detail"]
        finished_at = step["finished_at"]
        if step["status"] == "running":
            detail = step["outputs"].get("progress") or detail
        elif step["status"] == "skipped" and step["started_at"] is None:
            status, finished_at = "pending", None  # never reached: the deploy failed before
        steps.append(
            {
                "name": step["name"],
                "status": status,
                "detail": detail or "",
                "started_at": step["started_at"],
                "finished_at": finished_at,
            }
        )
    status = {"succeeded": "succeeded", "failed": "failed", "cancelled": "failed"}.get(
        workflow["status"], "running"
    )
    return {
        "id": workflow["id"],
        "notebook_path": inputs.get("notebook_path", workflow["subject"]),
        "parameters": dict(inputs.get("parameters") or {}),
        "target": inputs.get("target", ""),
        "status": status,
        "steps": steps,
        "run_id": outputs.get("run_id"),
        "model": outputs.get("model"),
        "version": outputs.get("version"),
        "deployment_id": outputs.get("deployment_id"),
        "url": outputs.get("url"),
        "curl": outputs.get("curl"),
        "error": workflow["error"],
        "created_by": workflow["created_by"],
        "created_at": workflow["created_at"],
        "finished_at": workflow["finished_at"],
    }


class DeployJobs:
    """One-click deploys: start them, show them as jobs, resume the unfinished ones."""

    def __init__(
        self,
        records: WorkflowRecords,
        *,
        runs: RunService,
        registry: RegistryService,
        deployments: DeploymentService,
        root_dir: str | Path,
        default_target: str = "local",
        log: logging.Logger | None = None,
    ):
        self.records = records
        self.runs = runs
        self.registry = registry
        self.deployments = deployments
        self.root_dir = str(root_dir)
        self.default_target = default_target
        self.log = log or logging.getLogger(__name__)
        self._stopping = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        self.steps = DeploySteps(
            records,
            runs=runs,
            registry=registry,
            deployments=deployments,
            stopping=self._stopping,
            log=self.log,
        )

    # -- public -------------------------------------------------------------------------------

    def submit(
        self,
        path: str,
        parameters: dict[str, Any] | None = None,
        *,
        target: str | None = None,
        user: str = "",
    ) -> dict[str, Any]:
        """Start a deploy of notebook ``path``; returns its job (status ``running``). Bad
        input — not a notebook, an unknown target, an unknown or ill-typed parameter — is a
        400 here, before anything is recorded."""
        notebook = self._notebook(path)
        if parameters is not None and not isinstance(parameters, dict):
            raise InvalidInput("parameters must be an object", details={"field": "parameters"})
        target = check_target(target or self.default_target)
        if parameters:
            from ..runs import parameters as run_parameters

            declared = run_parameters.inspect_parameters(run_parameters.read_notebook(notebook))
            parameters = run_parameters.validate_parameters(declared, parameters)
        relative = relative_to_root(self.root_dir, notebook)
        workflow = self.records.create(
            KIND,
            list(STEPS),
            inputs={
                "notebook_path": relative,
                "parameters": dict(parameters or {}),
                "target": target,
            },
            subject=relative,
            user=user,
        )
        self._launch(workflow["id"])
        return self.get(workflow["id"])

    def plan(self, path: str) -> dict[str, Any]:
        """What a click would do: deploy the version the latest successful run registered, or
        run the notebook first (then the dialog asks for parameters)."""
        relative = relative_to_root(self.root_dir, self._notebook(path))
        run_id, registered = self.steps.latest_registered(relative)
        return {
            "notebook_path": relative,
            "needs_run": registered is None,
            "run_id": run_id or None,
            "model": registered["name"] if registered else None,
            "version": registered["version"] if registered else None,
        }

    def get(self, job_id: str) -> dict[str, Any]:
        try:
            return job_view(self.records.get(job_id, KIND))
        except NotFound:
            raise NotFound(f"no deploy job with id {job_id!r}") from None

    def list(self, *, offset: int = 0, limit: int = 50) -> dict[str, Any]:
        page = self.records.list(KIND, offset=offset, limit=limit)
        return {**page, "items": [job_view(item) for item in page["items"]]}

    def wait(self, job_id: str, timeout: float = 600.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(job_id)
            if job["status"] != "running":
                return job
            time.sleep(0.2)
        return self.get(job_id)

    # -- resuming and stopping ----------------------------------------------------------------

    def start(self) -> list[str]:
        """Server start-up: resume every unfinished deploy nobody else is advancing."""
        self._stopping.clear()
        return self.resume()

    def resume(self) -> list[str]:
        """Take over unfinished deploys whose owner is gone (or is this process and no longer
        advances them); returns their ids. Also the scheduler job ``workflows.deploy.resume``."""
        if self._stopping.is_set():
            return []
        orphans = set(self.records.orphans(KIND, stale_after=STALE_AFTER))
        resumed = []
        for workflow_id in self._unfinished():
            with _advancing_lock:
                if workflow_id in _advancing:
                    continue
            stale_after = 0.0 if workflow_id in orphans else STALE_AFTER
            if self.records.claim(workflow_id, stale_after=stale_after) and self._launch(
                workflow_id
            ):
                self.log.info("mlops: resuming one-click deploy %s", workflow_id)
                resumed.append(workflow_id)
        return resumed

    def _unfinished(self) -> list[str]:
        ids: list[str] = []
        for status in ("pending", "running"):
            offset = 0
            while True:
                page = self.records.list(KIND, status=status, offset=offset, limit=200)
                ids.extend(item["id"] for item in page["items"])
                offset += 200
                if offset >= page["total"]:
                    break
        return ids

    def stop(self, timeout: float = 10.0) -> None:
        """Leave every deploy where it is (at its next checkpoint) for the next server."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for thread in list(self._threads.values()):
            thread.join(max(0.0, deadline - time.monotonic()))

    def _launch(self, workflow_id: str) -> bool:
        with _advancing_lock:
            if workflow_id in _advancing:
                return False
            _advancing.add(workflow_id)
        thread = threading.Thread(
            target=self._advance_guarded,
            args=(workflow_id,),
            name=f"mlops-deploy-{workflow_id}",
            daemon=True,
        )
        self._threads[workflow_id] = thread
        thread.start()
        return True

    def _advance_guarded(self, workflow_id: str) -> None:
        try:
            self.steps.advance(workflow_id)
        except Exception:  # noqa: BLE001 - the store itself failed: the next server retries
            if not self._stopping.is_set():
                self.log.exception("mlops: one-click deploy %s could not be advanced", workflow_id)
        finally:
            with _advancing_lock:
                _advancing.discard(workflow_id)
            self._threads.pop(workflow_id, None)

    # -- look-ups -----------------------------------------------------------------------------

    def _notebook(self, path: str) -> Path:
        notebook = resolve_in_root(self.root_dir, path, regular_file=True)
        if notebook.suffix != ".ipynb" or not notebook.is_file():
            raise InvalidInput(f"{path!r} is not a notebook (.ipynb)", details={"field": "path"})
        return notebook
