"""The closed loop: drift alert → retraining run → gate on fresh labelled data → promotion.

A monitor whose config names a training notebook (``retrain``) starts this workflow on a new
alert (the ``ALERT_RAISED`` event; one workflow per check, anchored on its first alert — the
workflow's ``subject``). Its persisted steps (``workflows/records.py``, kind ``retrain``):

- ``run``: the notebook is submitted as a run (``trigger="drift"``; ``${prediction_log}`` and
  friends substituted in its parameters) — or, when the monitor names a ``pipeline``, a pipeline
  run is started; the step ends when the run (every step of the pipeline run) has finished (it
  runs in another process, so its status is polled) and registered a version of the model: the
  challenger.
- ``gate``: the champion (the version holding the deployment's alias) and the challenger both
  predict the freshest labelled predictions of the deployment, and the registry's gate rule
  (``compare`` metric, mode and ``min_delta`` of the model's gate; accuracy or RMSE by default)
  decides on those fresh numbers.
- ``promote``: a winning challenger gets the alias through ``registry.set_alias`` (so the model's
  stored gate applies too) and alias-following deployments move to it.

The workflow ends ``succeeded`` when the loop reached a decision (``outputs.state`` is
``promoted`` or ``refused``) and ``failed`` when it could not (the run failed, registered
nothing, or could not be submitted). Every step is also written to the alert
(``details.retrain``: state, steps, run id, versions, the gate's numbers — what the panel shows —
and ``retrain_run_id``) and to the model's audit log. The scheduler job ``workflows.retrain``
advances unfinished workflows; one whose server stopped is resumed by the next server
(:meth:`RetrainWorkflow.resume`), from the step it was at.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ..drift.config import retrain_parameters
from ..drift.report import json_safe
from ..errors import Conflict, Forbidden, GateFailed, MLOpsError, NotFound
from ..events import Event
from ..refs import parse_ref
from ..runs import TERMINAL_STATES
from ..serving.prediction_log import read_log
from ..store import audit
from ..store.models import utcnow
from .fresh_gate import compare_on_fresh_data
from .records import ACTIVE, WorkflowRecords

log = logging.getLogger(__name__)

KIND = "retrain"
STEPS = ["run", "gate", "promote"]
# Seconds without a heartbeat after which another process may take a retrain workflow over.
STALE_AFTER = 120.0
# How often the scheduler job polls the runs of unfinished retrain workflows.
POLL_SECONDS = 5.0
OPEN = ("pending", "running")
AUDIT_USER = "drift-monitor"


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _describe(err: Exception) -> str:
    return err.message if isinstance(err, MLOpsError) else f"{type(err).__name__}: {err}"


class RetrainWorkflow:
    """Starts, advances, resumes and waits for retrain workflows."""

    def __init__(
        self,
        records: WorkflowRecords,
        *,
        runs: Any,
        registry: Any,
        pipelines: Any = None,
        deployments: Any,
        monitors: Any,
        logger: logging.Logger | None = None,
    ):
        self.records = records
        self.runs = runs
        self.pipelines = pipelines
        self.registry = registry
        self.deployments = deployments
        self.monitors = monitors
        self.log = logger or log
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, workflow_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(workflow_id, threading.Lock())

    # -- what the alert shows -------------------------------------------------------------------

    def _note(self, alert_id: int, step: str, message: str, **fields: Any) -> dict[str, Any]:
        """A step on the alert's retrain record (the alert may be gone with its monitor)."""
        try:
            return self.monitors.record_retrain_step(alert_id, step, message, **fields)
        except NotFound:
            return {"steps": [], **fields}

    def _audit(self, model_name: str, action: str, **values: Any) -> None:
        values.setdefault("user", AUDIT_USER)
        values["details"] = json_safe(values.get("details") or {})
        with self.records.db.session() as session:
            audit.record(session, model_name=model_name, action=action, **values)

    def _record(self, workflow: Mapping[str, Any]) -> dict[str, Any]:
        alert_id = workflow["inputs"].get("alert_id")
        try:
            alert = self.monitors.get_alert(alert_id)
        except NotFound:
            alert = {"details": {}}
        record = (alert["details"] or {}).get("retrain")
        return record or {"state": workflow["outputs"].get("state"), "steps": []}

    def _fail(self, workflow_id: str, alert_id: int, step: str, message: str) -> None:
        self._note(alert_id, step, message, state="failed")
        self.records.finish(workflow_id, "failed", error=message, outputs={"state": "failed"})

    # -- start ----------------------------------------------------------------------------------

    def on_alert_raised(self, event: Event) -> None:
        """``ALERT_RAISED`` subscriber: one retraining per check, on its first new alert."""
        batch = list(event.get("alert_ids") or [event["alert_id"]])
        if event["alert_id"] != batch[0]:
            return
        self.start(
            monitor_id=event["monitor_id"],
            alert_ids=batch,
            drift_result_id=event.get("drift_result_id"),
        )

    def _previous(self, monitor_id: str) -> dict[str, Any] | None:
        """The monitor's latest retrain workflow that got as far as submitting a run."""
        for workflow in self.records.list(KIND, limit=200)["items"]:
            if workflow["inputs"].get("monitor_id") == monitor_id and (
                workflow["outputs"].get("run_id") or workflow["outputs"].get("pipeline_run_id")
            ):
                return workflow
        return None

    def start(
        self, *, monitor_id: str, alert_ids: list[int], drift_result_id: int | None = None
    ) -> dict[str, Any] | None:
        """Submit the monitor's retraining notebook for these new alerts (unless one is still
        in progress or the cooldown has not passed); the anchor alert's retrain record."""
        anchor = alert_ids[0]
        monitor = self.monitors.get(monitor_id)
        config = (monitor.get("config") or {}).get("retrain")
        if not config:
            return None
        previous = self._previous(monitor_id)
        if previous is not None:
            active = previous["status"] in ACTIVE
            age = (utcnow() - _parse_time(previous["created_at"])).total_seconds()
            if active or age < config["cooldown_seconds"]:
                started = previous["outputs"].get("run_id") or (
                    f"pipeline run {previous['outputs'].get('pipeline_run_id')}"
                )
                why = (
                    f"retraining run {started} is still in progress"
                    if active
                    else f"last retraining {age:.0f} s ago (cooldown "
                    f"{config['cooldown_seconds']:.0f} s)"
                )
                return self._note(
                    anchor, "skipped", f"retraining not started: {why}", state="skipped"
                )
        deployment = self.monitors.find_deployment(monitor["deployment_id"])
        alerts = []
        for alert_id in alert_ids:
            try:
                alerts.append(self.monitors.get_alert(alert_id))
            except NotFound:
                continue
        drift_share = None
        if drift_result_id is not None:
            drift_share = self.monitors.get_result(drift_result_id)["drift_share"]
        trigger_details = {
            "monitor_id": monitor_id,
            "deployment_id": deployment["id"],
            "deployment_name": deployment["name"],
            "model_name": deployment["model"],
            "model_version": deployment["version"],
            "drift_result_id": drift_result_id,
            "alert_ids": list(alert_ids),
            "rules": sorted({a["rule"] for a in alerts}),
            "drift_share": drift_share,
        }
        parameters = retrain_parameters(config["parameters"], deployment, monitor_id)
        user = monitor.get("created_by") or AUDIT_USER
        workflow = self.records.create(
            KIND,
            STEPS,
            inputs=json_safe(
                {
                    "alert_id": anchor,
                    "monitor_id": monitor_id,
                    "deployment_id": deployment["id"],
                    "model_name": deployment["model"],
                    "champion_version": deployment["version"],
                    "notebook": config.get("notebook"),
                    "pipeline": config.get("pipeline"),
                    "parameters": parameters,
                    "alias": config.get("alias"),
                    "min_labelled": config.get("min_labelled", 20),
                    "gate_window": config.get("gate_window", 1000),
                    "trigger_details": trigger_details,
                }
            ),
            subject=str(anchor),
            user=user,
        )
        workflow_id = workflow["id"]
        target = config.get("pipeline") or config["notebook"]
        self.records.start_step(workflow_id, "run", detail=f"submitting {target}")
        try:
            if config.get("pipeline"):
                started = self._start_pipeline(config["pipeline"], parameters, user)
                key, what, verb = "pipeline_run_id", f"pipeline run {started['id']}", "started"
            else:
                started = self.runs.submit(
                    config["notebook"],
                    parameters,
                    timeout=config.get("timeout"),
                    tags=["drift-retrain"],
                    user=user,
                    trigger="drift",
                    trigger_details=trigger_details,
                )
                key, what, verb = "run_id", f"run {started['id']}", "submitted"
        except Exception as err:  # noqa: BLE001 - any failure to submit ends the workflow
            message = _describe(err)
            self._audit(
                deployment["model"],
                "drift_retrain_failed",
                reason=f"could not submit {target}: {message}",
                details=trigger_details,
            )
            record = self._note(
                anchor, "submit_failed", message, state="failed", workflow_id=workflow_id
            )
            self.records.finish(workflow_id, "failed", error=message, outputs={"state": "failed"})
            return record
        started_id = {key: started["id"]}
        self.records.update_step(workflow_id, "run", **started_id)
        self.records.set_outputs(workflow_id, **started_id, state="submitted")
        self._audit(
            deployment["model"],
            "drift_retrain_submitted",
            reason=f"drift alert(s) {trigger_details['alert_ids']} started {what} of {target}",
            details={**trigger_details, **started_id, "parameters": parameters},
            user=user,
            from_version=deployment["version"],
        )
        return self._note(
            anchor,
            "submitted",
            f"{what} of {target} {verb} (trigger=drift)",
            state="submitted",
            **started_id,
            **{"pipeline" if config.get("pipeline") else "notebook": target},
            alias=config.get("alias"),
            champion_version=deployment["version"],
            workflow_id=workflow_id,
        )

    def _start_pipeline(self, pipeline: str, parameters: dict, user: str) -> dict[str, Any]:
        if self.pipelines is None:
            raise MLOpsError("retraining with a pipeline needs the pipelines service")
        return self.pipelines.start(pipeline, parameters, user=user, trigger="drift")

    # -- advance --------------------------------------------------------------------------------

    def advance(self, workflow_id: str, *, block: bool = False) -> dict[str, Any]:
        """Take the workflow as far as it can go now; the alert's retrain record."""
        lock = self._lock(workflow_id)
        if not lock.acquire(blocking=block):  # this process is advancing it already
            return self._record(self.records.get(workflow_id, KIND))
        try:
            workflow = self.records.get(workflow_id, KIND)
            if workflow["status"] in ACTIVE and self.records.claim(
                workflow_id, stale_after=STALE_AFTER
            ):
                try:
                    self._advance(workflow)
                except Exception as err:  # noqa: BLE001 - a broken step ends the workflow
                    self.log.exception("retrain workflow %s failed", workflow_id)
                    message = (
                        err.message
                        if isinstance(err, MLOpsError)
                        else f"{type(err).__name__}: {err}"
                    )
                    step = next(
                        (s["name"] for s in workflow["steps"] if s["status"] in OPEN), "run"
                    )
                    self._fail(workflow_id, workflow["inputs"]["alert_id"], step, message)
            return self._record(self.records.get(workflow_id, KIND))
        finally:
            lock.release()

    def _steps(self, workflow_id: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        workflow = self.records.get(workflow_id, KIND)
        return workflow, {step["name"]: step for step in workflow["steps"]}

    def _advance(self, workflow: dict[str, Any]) -> None:
        workflow_id = workflow["id"]
        workflow, steps = self._steps(workflow_id)
        if steps["run"]["status"] in OPEN and not self._finish_run(workflow, steps["run"]):
            return
        workflow, steps = self._steps(workflow_id)
        if workflow["status"] not in ACTIVE:
            return
        if steps["gate"]["status"] in OPEN and not self._gate(workflow):
            return
        workflow, steps = self._steps(workflow_id)
        if workflow["status"] in ACTIVE and steps["promote"]["status"] in OPEN:
            self._promote(workflow, steps["gate"]["outputs"])

    def _finish_run(self, workflow: dict[str, Any], step: dict[str, Any]) -> bool:
        """The run step: True once the run succeeded and registered the challenger."""
        workflow_id, inputs = workflow["id"], workflow["inputs"]
        alert_id, model = inputs["alert_id"], inputs["model_name"]
        pipeline_run_id = step["outputs"].get("pipeline_run_id") or workflow["outputs"].get(
            "pipeline_run_id"
        )
        if pipeline_run_id:
            return self._finish_pipeline(workflow, pipeline_run_id)
        run_id = step["outputs"].get("run_id") or workflow["outputs"].get("run_id")
        if not run_id:
            self._fail(
                workflow_id,
                alert_id,
                "submit_failed",
                "the server stopped before the retraining run was submitted",
            )
            return False
        run = self.runs.get(run_id)
        if run["status"] not in TERMINAL_STATES:
            self.records.heartbeat(workflow_id)
            return False
        details = {"run_id": run_id, "alert_id": alert_id}
        if run["status"] != "succeeded":
            message = f"retraining run {run_id} ended {run['status']}"
            if run.get("error_evalue"):
                message += f": {run.get('error_ename')}: {run.get('error_evalue')}"
            self._audit(model, "drift_retrain_failed", reason=message, details=details)
            self._fail(workflow_id, alert_id, "run_failed", message)
            return False
        return self._challenger(workflow, [run_id], f"run {run_id}", {"run_id": run_id})

    def _finish_pipeline(self, workflow: dict[str, Any], pipeline_run_id: str) -> bool:
        """The run step of a pipeline retraining: True once every step has finished, the
        pipeline run succeeded and one of its steps registered the challenger."""
        workflow_id, inputs = workflow["id"], workflow["inputs"]
        alert_id, model = inputs["alert_id"], inputs["model_name"]
        flow = self.pipelines.advance(pipeline_run_id)  # moved on here too: no wait for a job
        if flow["status"] in OPEN:
            self.records.heartbeat(workflow_id)
            return False
        details = {"pipeline_run_id": pipeline_run_id, "alert_id": alert_id}
        if flow["status"] != "succeeded":
            message = f"retraining pipeline run {pipeline_run_id} ended {flow['status']}"
            if flow.get("error"):
                message += f": {flow['error']}"
            self._audit(model, "drift_retrain_failed", reason=message, details=details)
            self._fail(workflow_id, alert_id, "run_failed", message)
            return False
        run_ids = [s["run_id"] for s in flow["steps"] if s.get("run_id")]
        return self._challenger(
            workflow, run_ids, f"pipeline run {pipeline_run_id}", details | {"run_ids": run_ids}
        )

    def _challenger(
        self, workflow: dict[str, Any], run_ids: list[str], what: str, outputs: dict[str, Any]
    ) -> bool:
        """The newest version of the model these runs registered becomes the challenger."""
        workflow_id, inputs = workflow["id"], workflow["inputs"]
        alert_id, model = inputs["alert_id"], inputs["model_name"]
        versions = [
            v
            for run_id in run_ids
            for v in self.registry.versions_by_run(run_id)
            if v["name"] == model
        ]
        if not versions:
            message = f"{what} succeeded but registered no version of {model!r}"
            self._audit(
                model, "drift_retrain_failed", reason=message, details={"alert_id": alert_id}
            )
            self._fail(workflow_id, alert_id, "no_challenger", message)
            return False
        challenger = max(int(v["version"]) for v in versions)
        message = f"{what} registered {model} v{challenger} (challenger)"
        self._note(alert_id, "registered", message, challenger_version=challenger)
        self.records.finish_step(
            workflow_id,
            "run",
            "succeeded",
            detail=message,
            outputs={**outputs, "challenger_version": challenger},
        )
        self.records.set_outputs(workflow_id, challenger_version=challenger)
        return True

    def _refuse(
        self, workflow_id: str, alert_id: int, step: str, message: str, **outputs: Any
    ) -> bool:
        """The gate said no: the loop ends with a decision (``refused``), nothing promoted."""
        self._note(alert_id, step, message, state="refused", **outputs)
        self.records.finish_step(
            workflow_id,
            "gate",
            "succeeded",
            detail=message,
            outputs=json_safe({"passed": False, **outputs}),
        )
        self.records.finish(workflow_id, "succeeded", outputs={"state": "refused"})
        return False

    def _gate(self, workflow: dict[str, Any]) -> bool:
        """The gate step on fresh labelled predictions: True when the challenger wins."""
        workflow_id, inputs = workflow["id"], workflow["inputs"]
        alert_id, model = inputs["alert_id"], inputs["model_name"]
        challenger_version = int(workflow["outputs"]["challenger_version"])
        self.records.start_step(workflow_id, "gate", detail="fresh labelled predictions")
        deployment = self.deployments.get(inputs["deployment_id"], stats=False)
        alias = inputs.get("alias") or parse_ref(deployment["model_ref"]).alias
        if alias is None:
            message = (
                f"{model} v{challenger_version} registered; not promoted: deployment "
                f"{deployment['name']} is pinned to {deployment['model_ref']} (no alias to move)"
            )
            self._audit(
                model,
                "drift_gate_refused",
                reason=message,
                to_version=challenger_version,
                details={"alert_id": alert_id},
            )
            return self._refuse(workflow_id, alert_id, "not_promoted", message)
        try:
            champion_version = int(self.registry.resolve(f"{model}@{alias}")["version"])
        except NotFound:
            champion_version = None
        labelled = read_log(
            deployment["prediction_log"], labelled=True, last_n=inputs.get("gate_window", 1000)
        )
        min_labelled = inputs.get("min_labelled", 20)
        if len(labelled) < min_labelled:
            message = (
                f"not promoted: {len(labelled)} labelled predictions in the log, the gate needs "
                f"{min_labelled} (send labels to /feedback)"
            )
            self._audit(
                model,
                "drift_gate_refused",
                reason=message,
                alias=alias,
                from_version=champion_version,
                to_version=challenger_version,
                details={"alert_id": alert_id, "n_labelled": int(len(labelled))},
            )
            return self._refuse(workflow_id, alert_id, "gate", message)
        outcome = compare_on_fresh_data(
            self.registry, model, alias, champion_version, challenger_version, labelled
        )
        summary, gate_record = outcome.summary, outcome.record
        audit_values = {
            "alias": alias,
            "from_version": champion_version,
            "to_version": challenger_version,
            "details": {"alert_id": alert_id, **gate_record},
        }
        if not outcome.passed:
            message = f"challenger refused: {summary}"
            self._audit(model, "drift_gate_refused", reason=message, **audit_values)
            return self._refuse(workflow_id, alert_id, "gate", message, gate=gate_record)
        message = f"challenger wins: {summary}"
        self._audit(model, "drift_gate_passed", reason=message, **audit_values)
        self._note(alert_id, "gate", message, gate=gate_record)
        self.records.finish_step(
            workflow_id,
            "gate",
            "succeeded",
            detail=message,
            outputs=json_safe(
                {
                    "passed": True,
                    "alias": alias,
                    "champion_version": champion_version,
                    "summary": summary,
                    "gate": gate_record,
                }
            ),
        )
        return True

    def _promote(self, workflow: dict[str, Any], gate: Mapping[str, Any]) -> None:
        workflow_id, inputs = workflow["id"], workflow["inputs"]
        alert_id, model = inputs["alert_id"], inputs["model_name"]
        challenger = int(workflow["outputs"]["challenger_version"])
        alias, champion = gate["alias"], gate.get("champion_version")
        self.records.start_step(workflow_id, "promote", detail=f"{model}@{alias} → v{challenger}")
        try:
            holder = self.registry.resolve(f"{model}@{alias}")["version"]
        except NotFound:
            holder = None
        if holder != challenger:  # (resumed after a restart: it may have moved already)
            try:
                result = self.registry.set_alias(
                    model,
                    alias,
                    challenger,
                    user=AUDIT_USER,
                    reason=f"drift retraining (alert {alert_id}): {gate.get('summary', '')}",
                )
            except (GateFailed, Forbidden) as err:
                refused_by = "quality gate" if isinstance(err, GateFailed) else "roles"
                message = f"the model's {refused_by} refused the promotion: {err.message}"
                self._note(alert_id, "promotion", message, state="refused")
                self.records.finish_step(workflow_id, "promote", "failed", error=message)
                self.records.finish(workflow_id, "succeeded", outputs={"state": "refused"})
                return
            if "approval" in result:  # a protected alias, and AUDIT_USER is an editor
                approval = result["approval"]
                message = (
                    f"{model}@{alias} is protected: the promotion of v{challenger} waits for an "
                    f"approver (request {approval['id']})"
                )
                self._note(alert_id, "promotion", message, state="awaiting_approval")
                self.records.finish_step(workflow_id, "promote", "succeeded", detail=message)
                self.records.finish(
                    workflow_id,
                    "succeeded",
                    outputs={"state": "awaiting_approval", "approval_id": approval["id"]},
                )
                return
        followed = []
        try:
            followed = self.deployments.sync_aliases(model)
        except MLOpsError as err:  # the alias follower retries
            self.log.warning("deployments did not follow %s@%s yet: %s", model, alias, err.message)
        moved = ", ".join(f"{d['name']} → v{d['version']}" for d in followed) or "none yet"
        message = (
            f"{model}@{alias} → v{challenger} (was v{champion}); deployments following: {moved}"
        )
        self._note(alert_id, "promotion", message, state="promoted", promoted_version=challenger)
        self.records.finish_step(
            workflow_id, "promote", "succeeded", detail=message, outputs={"version": challenger}
        )
        self.records.finish(
            workflow_id, "succeeded", outputs={"state": "promoted", "promoted_version": challenger}
        )

    # -- scheduling, restarts, waiting ----------------------------------------------------------

    def resume(self) -> list[str]:
        """Adopt the unfinished retrain workflows whose process is gone (server start)."""
        adopted = []
        for workflow_id in self.records.orphans(KIND, stale_after=STALE_AFTER):
            if self.records.claim(workflow_id, stale_after=0):
                adopted.append(workflow_id)
        if adopted:
            self.log.info("resuming %d retrain workflow(s): %s", len(adopted), adopted)
        return adopted

    def _unfinished(self) -> list[str]:
        ids: list[str] = []
        for status in ACTIVE:
            ids.extend(w["id"] for w in self.records.list(KIND, status=status, limit=200)["items"])
        return ids

    def advance_all(self) -> list[dict[str, Any]]:
        """The scheduler job ``workflows.retrain``: every unfinished retrain workflow as far
        as it can go (its run polled); their alerts' retrain records."""
        self.resume()
        return [self.advance(workflow_id) for workflow_id in self._unfinished()]

    def _for_alert(self, alert_id: int) -> dict[str, Any] | None:
        return self.records.latest(KIND, str(alert_id))

    def advance_alert(self, alert_id: int) -> dict[str, Any]:
        workflow = self._for_alert(alert_id)
        if workflow is None:
            return (self.monitors.get_alert(alert_id)["details"] or {}).get("retrain") or {}
        return self.advance(workflow["id"], block=True)

    def wait(self, alert_id: int, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the alert's retraining run, then take the gate decision; the alert dict."""
        workflow = self._for_alert(alert_id)
        outputs = (workflow or {}).get("outputs", {})
        run_id = outputs.get("run_id")
        if not run_id and not outputs.get("pipeline_run_id"):
            self.monitors.get_alert(alert_id)  # a 404 for an unknown alert
            raise Conflict(f"alert {alert_id} started no retraining run")
        deadline = None if timeout is None else time.monotonic() + timeout
        if run_id:
            self.runs.wait(run_id, timeout=timeout)
        while True:
            self.advance(workflow["id"], block=True)
            if self.records.get(workflow["id"])["status"] not in ACTIVE:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"retraining of alert {alert_id} still undecided")
            time.sleep(0.5)  # another process holds the workflow: it decides soon
        return self.monitors.get_alert(alert_id)
