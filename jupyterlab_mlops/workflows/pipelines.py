"""Pipeline runs: a DAG of notebook runs, persisted as a workflow, with retries and repair.

A pipeline run is a workflow record (kind ``pipeline``) whose steps are the pipeline's steps.
:meth:`PipelineService.advance` moves it forward from what the store says — submit the steps whose
dependencies are done (independent steps run side by side, within the run queue's concurrency),
collect finished runs and their outputs, retry after a backoff, skip what an upstream failure
makes pointless — so it can be called from any process, any number of times: a scheduler job and
the ``run_finished`` event both call it. Whoever advances a pipeline run claims it in the store,
so two processes never submit the same step twice. :meth:`repair` re-runs only the failed or
cancelled steps and everything downstream of them, reusing the outputs of the steps that had
succeeded, as a new attempt of the same pipeline run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Conflict, InvalidInput, MLOpsError, NotFound
from ..events import PIPELINE_FINISHED, EventBus
from ..paths import relative_to_root, resolve_in_root
from . import pipeline_spec
from .pipeline_spec import PipelineSpec
from .records import TERMINAL, WorkflowRecords

log = logging.getLogger(__name__)

KIND = "pipeline"
RUN_TERMINAL = ("succeeded", "failed", "cancelled", "timed_out")
STEP_DONE = ("succeeded", "failed", "skipped", "cancelled")
# A pipeline run whose owner has not advanced it for this long is taken over by another process.
STALE_AFTER = 60.0


@dataclass(frozen=True)
class PipelineRuns:
    """What pipelines need from the runs domain (wired in app.py)."""

    # submit(notebook_path, parameters, kernel_name=, timeout=, user=, trigger=,
    #        trigger_details=) -> run dict
    submit: Callable[..., dict[str, Any]]
    get: Callable[[str], dict[str, Any]]  # run detail, with "outputs" it logged
    cancel: Callable[..., dict[str, Any]]


class PipelineService:
    def __init__(
        self,
        records: WorkflowRecords,
        runs: PipelineRuns,
        *,
        root_dir: str,
        events: EventBus | None = None,
    ):
        self.records = records
        self.runs = runs
        self.root_dir = root_dir
        self.events = events
        # Threads of this process (the scheduler job, event handlers, REST calls) advance one
        # pipeline run at a time; other processes are kept out by the claim in the store.
        self._advancing = threading.RLock()

    # -- reading -------------------------------------------------------------------------------

    def load(self, pipeline_path: str) -> tuple[str, PipelineSpec]:
        path = resolve_in_root(
            self.root_dir, pipeline_path, regular_file=True, field="pipeline_path"
        )
        shown = relative_to_root(self.root_dir, path)
        spec = pipeline_spec.load(path, shown)
        for step in spec.steps:
            notebook = (
                (path.parent / step.notebook)
                if not Path(step.notebook).is_absolute()
                else (Path(step.notebook))
            )
            resolve_in_root(
                self.root_dir, str(notebook), regular_file=True, field=f"steps.{step.name}.notebook"
            )
        return shown, spec

    def view(self, flow: dict[str, Any]) -> dict[str, Any]:
        """The pipeline-run shape of the REST API and the DAG view."""
        spec = PipelineSpec.model_validate(flow["inputs"]["spec"])
        steps = []
        for record in flow["steps"]:
            step = spec.step(record["name"])
            outputs = record["outputs"] or {}
            steps.append(
                {
                    "name": record["name"],
                    "notebook": outputs.get("notebook") or step.notebook,
                    "depends_on": list(step.depends_on),
                    "status": record["status"],
                    "run_id": outputs.get("run_id"),
                    "attempt": record["attempt"],
                    "tries": int(outputs.get("tries") or 0),
                    "reused": bool(outputs.get("reused")),
                    "outputs": outputs.get("outputs") or {},
                    "error": record["error"],
                    "started_at": record["started_at"],
                    "finished_at": record["finished_at"],
                    "previous_runs": [
                        item.get("run_id")
                        for item in outputs.get("previous") or []
                        if item.get("run_id")
                    ],
                }
            )
        return {
            "id": flow["id"],
            "pipeline_path": flow["subject"],
            "name": spec.name or Path(flow["subject"]).name.removesuffix(pipeline_spec.SUFFIX),
            "status": flow["status"],
            "attempt": max((s["attempt"] for s in flow["steps"]), default=1),
            "parameters": flow["inputs"].get("parameters", {}),
            "trigger": flow["inputs"].get("trigger", "manual"),
            "schedule_id": flow["inputs"].get("schedule_id"),
            "error": flow["error"],
            "created_by": flow["created_by"],
            "created_at": flow["created_at"],
            "updated_at": flow["updated_at"],
            "finished_at": flow["finished_at"],
            "steps": steps,
        }

    def get(self, run_id: str) -> dict[str, Any]:
        return self.view(self.records.get(run_id, kind=KIND))

    def list(
        self, *, pipeline_path: str | None = None, offset: int = 0, limit: int = 50
    ) -> dict[str, Any]:
        page = self.records.list(KIND, subject=pipeline_path, offset=offset, limit=limit)
        return {**page, "items": [self.view(flow) for flow in page["items"]]}

    # -- starting and advancing ----------------------------------------------------------------

    def start(
        self,
        pipeline_path: str,
        parameters: dict[str, Any] | None = None,
        *,
        user: str = "",
        trigger: str = "manual",
        schedule_id: str | None = None,
    ) -> dict[str, Any]:
        shown, spec, given = self._checked(pipeline_path, parameters)
        flow = self.records.create(
            KIND,
            pipeline_spec.order(spec),
            inputs={
                "spec": spec.model_dump(mode="json"),
                "parameters": {**spec.parameters, **given},
                "trigger": trigger,
                "schedule_id": schedule_id,
                "directory": str(Path(shown).parent),
            },
            subject=shown,
            user=user,
        )
        return self.advance(flow["id"])

    def check(self, pipeline_path: str, parameters: dict[str, Any] | None = None) -> dict:
        """What :meth:`start` would run, validated (for schedules): root-relative path and
        the given parameters, or a 400 naming what is wrong."""
        shown, _spec, given = self._checked(pipeline_path, parameters)
        return {"pipeline_path": shown, "parameters": given}

    def status(self, run_id: str) -> str:
        return self.records.get(run_id, kind=KIND)["status"]

    def _checked(self, pipeline_path: str, parameters: dict[str, Any] | None):
        shown, spec = self.load(pipeline_path)
        given = dict(parameters or {})
        unknown = sorted(set(given) - set(spec.parameters))
        if unknown:
            raise InvalidInput(
                f"unknown pipeline parameter {unknown[0]!r} (declared: "
                f"{', '.join(sorted(spec.parameters)) or 'none'})",
                details={"field": f"parameters.{unknown[0]}", "parameter": unknown[0]},
            )
        return shown, spec, given

    def advance_all(self) -> None:
        """Advance every unfinished pipeline run this process owns or may take over."""
        for status in ("pending", "running"):
            page = self.records.list(KIND, status=status, limit=500)
            for flow in page["items"]:
                try:
                    self.advance(flow["id"])
                except MLOpsError as err:
                    log.warning("pipeline run %s: %s", flow["id"], err.message)

    def advance(self, run_id: str) -> dict[str, Any]:
        with self._advancing:
            return self._advance(run_id)

    def _advance(self, run_id: str) -> dict[str, Any]:
        flow = self.records.get(run_id, kind=KIND)
        if flow["status"] in TERMINAL or not self.records.claim(run_id, stale_after=STALE_AFTER):
            return self.view(flow)
        spec = PipelineSpec.model_validate(flow["inputs"]["spec"])
        for _ in range(len(spec.steps) + 1):  # settle everything that can move now
            if not self._step_once(flow, spec):
                break
            flow = self.records.get(run_id, kind=KIND)
        steps = {s["name"]: s for s in flow["steps"]}
        if all(s["status"] in STEP_DONE for s in steps.values()):
            failed = sorted(n for n, s in steps.items() if s["status"] != "succeeded")
            if failed:
                flow = self.records.finish(
                    run_id, "failed", error=f"steps not succeeded: {', '.join(failed)}"
                )
            else:
                flow = self.records.finish(run_id, "succeeded")
            self._announce(flow, spec)
        return self.view(flow)

    def _announce(self, flow: dict[str, Any], spec: PipelineSpec) -> None:
        if self.events is not None:
            self.events.publish(
                PIPELINE_FINISHED,
                pipeline_run_id=flow["id"],
                status=flow["status"],
                pipeline_path=flow["subject"],
                schedule_id=flow["inputs"].get("schedule_id"),
                error=flow["error"],
                notify=spec.notify.model_dump() if spec.notify else None,
            )

    def _step_once(self, flow: dict[str, Any], spec: PipelineSpec) -> bool:
        """One pass over the steps; whether anything changed."""
        run_id = flow["id"]
        steps = {s["name"]: s for s in flow["steps"]}
        outputs = {
            name: (s["outputs"] or {}).get("outputs") or {}
            for name, s in steps.items()
            if s["status"] == "succeeded"
        }
        changed = False
        for name in pipeline_spec.order(spec):
            record, step = steps[name], spec.step(name)
            state = record["outputs"] or {}
            if record["status"] == "running":
                changed |= self._collect(run_id, step, record)
            elif record["status"] == "pending":
                upstream = [steps[d]["status"] for d in step.depends_on]
                if any(s not in STEP_DONE for s in upstream):
                    continue
                if step.run_if == "all_success" and any(s != "succeeded" for s in upstream):
                    self.records.finish_step(
                        run_id, name, "skipped", detail="an upstream step did not succeed"
                    )
                    changed = True
                    continue
                if float(state.get("not_before") or 0) > time.time():
                    continue
                self._submit(flow, step, record, outputs)
                changed = True
        return changed

    def _submit(self, flow, step, record, outputs) -> None:
        run_id, name = flow["id"], step.name
        directory = flow["inputs"].get("directory") or "."
        notebook = str(Path(directory) / step.notebook) if directory != "." else step.notebook
        tries = int((record["outputs"] or {}).get("tries") or 0) + 1
        self.records.start_step(run_id, name, f"running {notebook}")
        try:
            parameters = pipeline_spec.resolve(
                step.parameters, outputs, flow["inputs"].get("parameters", {})
            )
            run = self.runs.submit(
                notebook,
                parameters,
                kernel_name=step.kernel_name,
                timeout=step.timeout,
                user=flow["created_by"],
                trigger="pipeline",
                trigger_details={
                    "pipeline_run_id": run_id,
                    "step": name,
                    "attempt": record["attempt"],
                    "try": tries,
                },
            )
        except MLOpsError as err:
            self.records.finish_step(
                run_id,
                name,
                "failed",
                error=err.message,
                outputs={"tries": tries, "notebook": notebook},
            )
            return
        self.records.update_step(run_id, name, run_id=run["id"], tries=tries, notebook=notebook)

    def _collect(self, run_id: str, step, record) -> bool:
        state = record["outputs"] or {}
        try:
            run = self.runs.get(state["run_id"])
        except (KeyError, NotFound):
            self.records.finish_step(run_id, step.name, "failed", error="its run is gone")
            return True
        if run["status"] not in RUN_TERMINAL:
            return False
        if run["status"] == "succeeded":
            self.records.finish_step(
                run_id, step.name, "succeeded", outputs={"outputs": run.get("outputs") or {}}
            )
            return True
        reason = (run.get("error") or {}).get("evalue") or run.get("status_reason") or run["status"]
        tries = int(state.get("tries") or 1)
        if tries <= step.retries and run["status"] != "cancelled":
            backoff = step.retry_backoff * (2 ** (tries - 1))
            self.records.set_step(
                run_id,
                step.name,
                "pending",
                outputs={"not_before": time.time() + backoff, "last_error": reason},
            )
            return True
        status = "cancelled" if run["status"] == "cancelled" else "failed"
        self.records.finish_step(run_id, step.name, status, error=f"run {run['id']} {reason}")
        return True

    # -- cancel and repair ---------------------------------------------------------------------

    def cancel(self, run_id: str, *, user: str = "") -> dict[str, Any]:
        with self._advancing:
            return self._cancel(run_id, user)

    def _cancel(self, run_id: str, user: str) -> dict[str, Any]:
        flow = self.records.get(run_id, kind=KIND)
        if flow["status"] in TERMINAL:
            raise Conflict(f"pipeline run {run_id} already {flow['status']}")
        for record in flow["steps"]:
            active_run = (record["outputs"] or {}).get("run_id")
            if record["status"] == "running" and active_run:
                try:
                    self.runs.cancel(active_run, user=user)
                except MLOpsError as err:
                    log.info("cancelling run %s: %s", active_run, err.message)
        flow = self.records.finish(run_id, "cancelled", error=f"cancelled by {user or 'a user'}")
        self._announce(flow, PipelineSpec.model_validate(flow["inputs"]["spec"]))
        return self.view(flow)

    def repair(self, run_id: str, *, user: str = "") -> dict[str, Any]:
        with self._advancing:
            return self._repair(run_id, user)

    def _repair(self, run_id: str, user: str) -> dict[str, Any]:
        flow = self.records.get(run_id, kind=KIND)
        if flow["status"] not in ("failed", "cancelled"):
            raise Conflict(
                f"pipeline run {run_id} is {flow['status']}: only a failed or cancelled "
                "pipeline run can be repaired"
            )
        spec = PipelineSpec.model_validate(flow["inputs"]["spec"])
        broken = {s["name"] for s in flow["steps"] if s["status"] in ("failed", "cancelled")}
        rerun = broken | pipeline_spec.descendants(spec, broken)
        rerun |= {s["name"] for s in flow["steps"] if s["status"] == "skipped"}
        for record in flow["steps"]:
            if record["name"] not in rerun and record["status"] == "succeeded":
                self.records.update_step(run_id, record["name"], reused=True)
        self.records.reset_steps(run_id, rerun)
        log.info("pipeline run %s repaired by %s: re-running %s", run_id, user, sorted(rerun))
        return self._advance(run_id)
