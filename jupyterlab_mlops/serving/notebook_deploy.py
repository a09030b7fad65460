"""One-click deploy from a notebook: run → register → serve → healthy, as a background job.

If the notebook's latest successful run registered a model, that version is deployed. Otherwise
the notebook is run headlessly (``mlops.runs.submit`` with the dialog's parameters); the notebook
registers what it produced (``mlops.register_model`` links the version to the run), and the newest
version registered by that run is deployed locally. Jobs live in memory in the server (they are
progress reports, not records: the run and the deployment are the records); the dialog polls
``GET /mlops/api/deploy/jobs/{id}``.
"""

from __future__ import annotations

import json
import shlex
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..errors import InvalidInput, MLOpsError, NotFound
from ..paths import relative_to_root, resolve_in_root
from ..store import models as m

if TYPE_CHECKING:
    from ..app import MLOps

STEPS = ("run", "register", "serve", "healthy")
SUCCESS = ("succeeded", "success", "completed", "done", "finished")
ACTIVE_RUN = ("queued", "pending", "starting", "running")
MAX_JOBS = 200
RUN_POLL_SECONDS = 0.5


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def example_record(signature: dict[str, Any], profile: dict[str, Any] | None = None) -> dict:
    """One plausible input row from a signature (profile means where known), for the curl call."""
    columns = (profile or {}).get("columns") or {}
    row: dict[str, Any] = {}
    for spec in signature.get("inputs") or []:
        name, kind = spec.get("name"), spec.get("kind", "numeric")
        if kind == "categorical":
            row[name] = (spec.get("categories") or [""])[0]
        elif kind == "boolean":
            row[name] = False
        else:
            mean = (columns.get(name) or {}).get("mean")
            value = round(float(mean), 4) if isinstance(mean, int | float) else 0.0
            row[name] = int(round(value)) if "int" in str(spec.get("dtype", "")) else value
    return row


def curl_command(url: str, signature: dict[str, Any], profile: dict | None = None) -> str:
    body = json.dumps({"records": [example_record(signature, profile)]})
    return (
        f"curl -s -X POST {url}/predict -H 'Content-Type: application/json' -d {shlex.quote(body)}"
    )


class DeployJobs:
    """Background one-click deploy jobs with step-by-step progress."""

    def __init__(self, mlops: MLOps):
        self.mlops = mlops
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    # -- public -------------------------------------------------------------------------------

    def submit(
        self,
        path: str,
        parameters: dict[str, Any] | None = None,
        *,
        target: str | None = None,
        user: str = "",
    ) -> dict[str, Any]:
        notebook = resolve_in_root(self.mlops.root_dir, path)
        if notebook.suffix != ".ipynb" or not notebook.is_file():
            raise InvalidInput(f"{path!r} is not a notebook (.ipynb)")
        if parameters is not None and not isinstance(parameters, dict):
            raise InvalidInput("parameters must be an object")
        target = target or "local"
        from .service import TARGETS

        if target not in TARGETS:
            raise InvalidInput(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
        if parameters:
            # Refuse an unknown name or a bad value now (400), not later as a failed job.
            from ..runs import parameters as run_parameters

            declared = run_parameters.inspect_parameters(run_parameters.read_notebook(notebook))
            parameters = run_parameters.validate_parameters(declared, parameters)
        job_id = uuid.uuid4().hex[:12]
        job = {
            "id": job_id,
            "notebook_path": relative_to_root(self.mlops.root_dir, notebook),
            "parameters": dict(parameters or {}),
            "target": target,
            "status": "running",
            "steps": [
                {
                    "name": step,
                    "status": "pending",
                    "detail": "",
                    "started_at": None,
                    "finished_at": None,
                }
                for step in STEPS
            ],
            "run_id": None,
            "model": None,
            "version": None,
            "deployment_id": None,
            "url": None,
            "curl": None,
            "error": None,
            "created_by": user,
            "created_at": _now(),
            "finished_at": None,
        }
        with self._lock:
            self._jobs[job_id] = job
            while len(self._jobs) > MAX_JOBS:
                oldest = next(iter(self._jobs))
                if self._jobs[oldest]["status"] == "running":
                    break
                del self._jobs[oldest]
        threading.Thread(
            target=self._work, args=(job_id, user), name=f"mlops-deploy-{job_id}", daemon=True
        ).start()
        return self.get(job_id)

    def plan(self, path: str) -> dict[str, Any]:
        """What a click would do: deploy the version the latest successful run registered, or
        run the notebook first (then the dialog asks for parameters)."""
        notebook = resolve_in_root(self.mlops.root_dir, path)
        if notebook.suffix != ".ipynb" or not notebook.is_file():
            raise InvalidInput(f"{path!r} is not a notebook (.ipynb)")
        relative = relative_to_root(self.mlops.root_dir, notebook)
        run_id, registered = self._latest_registered(relative)
        return {
            "notebook_path": relative,
            "needs_run": registered is None,
            "run_id": run_id or None,
            "model": registered["name"] if registered else None,
            "version": registered["version"] if registered else None,
        }

    def get(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise NotFound(f"no deploy job with id {job_id!r}")
            return json.loads(json.dumps(job))

    def list(self, *, offset: int = 0, limit: int = 50) -> dict[str, Any]:
        with self._lock:
            jobs = list(reversed(self._jobs.values()))
            items = json.loads(json.dumps(jobs[offset : offset + limit]))
        return {"items": items, "total": len(jobs), "offset": offset, "limit": limit}

    def wait(self, job_id: str, timeout: float = 600.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(job_id)
            if job["status"] != "running":
                return job
            time.sleep(0.2)
        return self.get(job_id)

    # -- the job ------------------------------------------------------------------------------

    def _set(self, job_id: str, **fields: Any) -> None:
        with self._lock:
            self._jobs[job_id].update(fields)

    def _step(self, job_id: str, name: str, status: str, detail: str = "") -> None:
        with self._lock:
            for step in self._jobs[job_id]["steps"]:
                if step["name"] == name:
                    if status == "running" and step["started_at"] is None:
                        step["started_at"] = _now()
                    if status in ("done", "skipped", "failed"):
                        step["finished_at"] = _now()
                    step["status"] = status
                    if detail:
                        step["detail"] = detail

    def _latest_registered(self, notebook_path: str) -> tuple[str, dict | None]:
        """(run id, newest version it registered) of the notebook's latest successful run."""
        with self.mlops.db.session() as session:
            run = session.scalars(
                select(m.Run)
                .where(m.Run.notebook_path == notebook_path, m.Run.status.in_(SUCCESS))
                .order_by(m.Run.created_at.desc())
                .limit(1)
            ).first()
            if run is None:
                return "", None
            row = session.execute(
                select(m.RegisteredModel.name, m.ModelVersion.version)
                .join(m.ModelVersion.model)
                .where(m.ModelVersion.run_id == run.id, m.ModelVersion.archived.is_(False))
                .order_by(m.ModelVersion.created_at.desc(), m.ModelVersion.version.desc())
                .limit(1)
            ).first()
            return run.id, ({"name": row[0], "version": row[1]} if row else None)

    def _work(self, job_id: str, user: str) -> None:
        job = self.get(job_id)
        current = "run"
        try:
            run_id, registered = (
                self._latest_registered(job["notebook_path"])
                if not job["parameters"]
                else ("", None)
            )
            if registered is not None:
                self._step(job_id, "run", "skipped", f"latest successful run {run_id}")
                self._set(job_id, run_id=run_id)
            else:
                self._step(job_id, "run", "running", "submitting the notebook")
                run_id = self._run(job_id, job, user)
                self._step(job_id, "run", "done", f"run {run_id} succeeded")
            current = "register"
            self._step(job_id, "register", "running")
            if registered is None:
                _, registered = self._registered_by(run_id)
            if registered is None:
                raise InvalidInput(
                    f"run {run_id} of {job['notebook_path']} registered no model: call "
                    "mlops.register_model(model, 'name', X_sample=X) in the notebook"
                )
            ref = f"{registered['name']}/{registered['version']}"
            self._set(job_id, model=registered["name"], version=registered["version"])
            self._step(job_id, "register", "done", ref)
            current = "serve"
            self._step(job_id, "serve", "running", f"deploying {ref} ({job['target']})")
            deployment = self._reuse(registered, job["target"])
            if deployment is None:
                deployment = self.mlops.deployments.create(
                    ref,
                    job["target"],
                    user=user,
                    progress=lambda line: self._step(job_id, "serve", "running", line),
                )
            self._set(job_id, deployment_id=deployment["id"])
            self._step(job_id, "serve", "done", f"deployment {deployment['id']}")
            current = "healthy"
            self._step(job_id, "healthy", "running")
            url = deployment["url"]
            if deployment["status"] == "running":
                from .deployers.base import wait_healthy

                wait_healthy(url, timeout=30)
            version = self.mlops.registry.resolve(ref)
            self._set(
                job_id,
                url=url,
                curl=curl_command(url, version.get("signature") or {}, version.get("profile")),
            )
            self._step(job_id, "healthy", "done", url)
            self._set(job_id, status="succeeded", finished_at=_now())
        except Exception as err:  # noqa: BLE001 - reported in the job, never lost
            message = err.message if isinstance(err, MLOpsError) else f"{type(err).__name__}: {err}"
            if not isinstance(err, MLOpsError):
                self.mlops.log.exception("deploy job %s failed", job_id)
            self._step(job_id, current, "failed", message)
            self._set(job_id, status="failed", error=message, finished_at=_now())

    def _run(self, job_id: str, job: dict[str, Any], user: str) -> str:
        run = self.mlops.runs.submit(
            job["notebook_path"],
            job["parameters"],
            user=user,
            trigger="deploy",
            trigger_details={"deploy_job": job_id},
        )
        run_id = run["id"]
        self._set(job_id, run_id=run_id)
        while True:
            run = self.mlops.runs.get(run_id)
            status = run.get("status")
            if status not in ACTIVE_RUN:
                break
            done, total = run.get("cells_done") or 0, run.get("cells_total") or 0
            self._step(job_id, "run", "running", f"run {run_id}: {status}, cell {done}/{total}")
            time.sleep(RUN_POLL_SECONDS)
        if status not in SUCCESS:
            reason = run.get("error_evalue") or run.get("status_reason") or status
            raise MLOpsError(f"run {run_id} {status}: {reason}", code="run_failed")
        return run_id

    def _registered_by(self, run_id: str) -> tuple[str, dict | None]:
        with self.mlops.db.session() as session:
            row = session.execute(
                select(m.RegisteredModel.name, m.ModelVersion.version)
                .join(m.ModelVersion.model)
                .where(m.ModelVersion.run_id == run_id)
                .order_by(m.ModelVersion.created_at.desc(), m.ModelVersion.version.desc())
                .limit(1)
            ).first()
        return run_id, ({"name": row[0], "version": row[1]} if row else None)

    def _reuse(self, registered: dict, target: str) -> dict | None:
        """A running deployment of exactly this version (a second click reuses it)."""
        with self.mlops.db.session() as session:
            row = session.scalars(
                select(m.Deployment).where(
                    m.Deployment.model_name == registered["name"],
                    m.Deployment.version == registered["version"],
                    m.Deployment.target == target,
                    m.Deployment.status == "running",
                    ~m.Deployment.model_ref.contains("@"),
                )
            ).first()
            if row is None:
                return None
            deployment = self.mlops.deployments.to_dict(row)
        if self.mlops.deployments.deployer(target).is_alive(deployment | {"model_name": ""}):
            return deployment
        return None
