"""``RunService`` (``mlops.runs``): submit, list, get, cancel, wait, reproduce, sweeps, recovery.

State machine: ``queued → running → succeeded | failed | cancelled | timed_out``. Every move out
of ``running`` is a conditional update (``WHERE status = 'running'``), so the worker, a cancel
and the timeout/orphan checks can race without ever overwriting each other's final state.
A run is recorded in one transaction with its provenance, after everything was validated:
bad input leaves nothing behind.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload
from traitlets.utils.importstring import import_item

from ..errors import Conflict, InvalidInput, MLOpsError, NotFound
from ..paths import relative_to_root, resolve_in_root
from ..store.artifacts import sha256_bytes
from ..store.models import Run, RunArtifact, RunGroup, RunMetric, RunParam
from . import ALL_STATES, TERMINAL_STATES, parameters, provenance
from .executors.base import Executor, kill_process_tree, process_alive, this_host

MAX_SWEEP_RUNS = 256
TIMEOUT_GRACE_SECONDS = 10.0
MONITOR_INTERVAL_SECONDS = 1.0
SERVER_RESTARTED = "server restarted"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def run_to_dict(run: Run, *, detail: bool = False) -> dict[str, Any]:
    latest: dict[str, float] = {}
    for metric in run.metrics:  # ordered by id: the last logged value wins
        latest[metric.key] = metric.value
    error = None
    if run.error_ename or run.error_evalue or run.error_cell_index is not None:
        error = {
            "cell_index": run.error_cell_index,
            "ename": run.error_ename,
            "evalue": run.error_evalue,
        }
    data: dict[str, Any] = {
        "id": run.id,
        "kind": run.kind,
        "notebook_path": run.notebook_path,
        "status": run.status,
        "status_reason": run.status_reason,
        "parameters": run.parameters,
        "kernel_name": run.kernel_name,
        "timeout_seconds": run.timeout_seconds,
        "tags": run.tags,
        "input_files": run.input_files,
        "trigger": run.trigger,
        "trigger_details": run.trigger_details,
        "schedule_id": run.schedule_id,
        "reproduces_run_id": run.reproduces_run_id,
        "group_id": run.group_id,
        "created_by": run.created_by,
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_seconds": run.duration_seconds,
        "executor": run.executor,
        "host": run.host,
        "pid": run.pid,
        "progress": {
            "cells_done": run.cells_done,
            "cells_total": run.cells_total,
            "current_cell": run.current_cell,
        },
        "error": error,
        "input_notebook_sha256": run.input_notebook_sha256,
        "output_notebook_sha256": run.output_notebook_sha256,
        "output_notebook_path": run.output_notebook_path,
        "metrics": latest,
    }
    if detail:
        data["provenance"] = run.provenance
        data["comparison"] = run.comparison or None
        data["metric_history"] = [
            {"key": m.key, "value": m.value, "step": m.step, "logged_at": _iso(m.logged_at)}
            for m in run.metrics
        ]
        data["logged_params"] = {p.key: p.value for p in run.params}
        data["outputs"] = dict(run.outputs or {})
        data["artifacts"] = [
            {
                "name": a.name,
                "sha256": a.sha256,
                "size": a.size,
                "kind": a.kind,
                "created_at": _iso(a.created_at),
            }
            for a in run.artifacts
        ]
    return data


def group_to_dict(group: RunGroup, runs: list[Run]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.status] = counts.get(run.status, 0) + 1
    best = None
    if group.metric:
        scored = []
        for run in runs:
            values = [m.value for m in run.metrics if m.key == group.metric]
            if run.status == "succeeded" and values:
                scored.append((values[-1], run))
        if scored:
            pick = max if group.mode == "max" else min
            value, run = pick(scored, key=lambda item: item[0])
            best = {"run_id": run.id, "value": value, "parameters": run.parameters}
    active = counts.get("queued", 0) + counts.get("running", 0)
    return {
        "id": group.id,
        "name": group.name,
        "notebook_path": group.notebook_path,
        "grid": group.grid,
        "metric": group.metric,
        "mode": group.mode,
        "created_by": group.created_by,
        "created_at": _iso(group.created_at),
        "status": "running" if active else "finished",
        "counts": counts,
        "total": len(runs),
        "best": best,
        "runs": [run_to_dict(r) for r in runs],
    }


class RunService:
    """Runs of notebooks: the one place that knows their rules."""

    def __init__(self, mlops):
        self.mlops = mlops
        self.log = mlops.log
        self._executor: Executor | None = None
        self._executor_lock = threading.Lock()
        self._monitor: threading.Thread | None = None
        self._stop = threading.Event()
        #: True in a long-lived process (the server): keep a warm standby worker
        self.long_lived = False

    # -- set-up -------------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        return Path(self.mlops.root_dir).resolve()

    @property
    def executor(self) -> Executor:
        with self._executor_lock:
            if self._executor is None:
                cls = import_item(self.mlops.executor_class)
                if not (isinstance(cls, type) and issubclass(cls, Executor)):
                    raise InvalidInput(
                        f"c.MLOps.executor_class {self.mlops.executor_class!r} is not an Executor"
                    )
                self._executor = cls(self)
            return self._executor

    def worker_environment(self, run_id: str | None) -> dict[str, str]:
        """Environment of a worker process (and of its kernel, which inherits it).

        ``run_id`` is None for a standby worker, which sets ``MLOPS_RUN_ID`` when given a run.
        """
        env = dict(os.environ)
        env.pop("MLOPS_RUN_ID", None)
        env.update(self.mlops.child_environment())
        if run_id is not None:
            env["MLOPS_RUN_ID"] = run_id
        env.update(
            {
                "MLOPS_OUTPUT_DIR": self.mlops.output_dir,
                "MLOPS_MAX_CONCURRENT_RUNS": str(self.mlops.max_concurrent_runs),
                "MLOPS_EXECUTOR_CLASS": self.mlops.executor_class,
                "MLOPS_DASK_SCHEDULER_ADDRESS": self.mlops.dask_scheduler_address,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.pop("JPY_SESSION_NAME", None)
        return env

    def log_path(self, run_id: str) -> Path:
        """The worker's own log (papermill/kernel start-up problems land here)."""
        path = self.mlops.data_dir / "logs" / "runs" / f"{run_id}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def start(self) -> None:
        """In the server: recover orphans, then watch queue, timeouts and dead workers."""
        self.recover()
        self.long_lived = True
        if self._monitor is None:
            self._stop.clear()
            self._monitor = threading.Thread(
                target=self._monitor_loop, name="mlops-runs-monitor", daemon=True
            )
            self._monitor.start()

    def stop(self) -> None:
        self._stop.set()
        if self._monitor is not None:
            self._monitor.join(timeout=5)
            self._monitor = None
        if self._executor is not None:
            self._executor.stop()

    def _monitor_loop(self) -> None:
        while not self._stop.wait(MONITOR_INTERVAL_SECONDS):
            try:
                self.tick()
            except Exception:  # keep watching; a transient DB error must not stop the queue
                self.log.warning("mlops: run monitor tick failed", exc_info=True)

    # -- submit -------------------------------------------------------------------------------

    def inspect(self, notebook_path: str) -> dict[str, Any]:
        """``GET /notebooks/parameters``: the notebook's parameters and kernel."""
        path = self._notebook_file(notebook_path)
        nb = parameters.read_notebook(path)
        return parameters.describe_notebook(nb, relative_to_root(self.root, path))

    def _notebook_file(self, notebook_path: str) -> Path:
        path = resolve_in_root(self.root, notebook_path)
        if path.suffix != ".ipynb":
            raise InvalidInput(f"{notebook_path!r} is not a notebook (.ipynb)")
        if not path.is_file():
            raise InvalidInput(f"{notebook_path!r} is not a file")
        return path

    def _input_files(self, input_files: Any) -> dict[str, Path]:
        if input_files is None:
            return {}
        if not isinstance(input_files, list | tuple) or not all(
            isinstance(f, str) for f in input_files
        ):
            raise InvalidInput("input_files must be a list of paths")
        files: dict[str, Path] = {}
        for item in input_files:
            path = resolve_in_root(self.root, item)
            if not path.is_file():
                raise InvalidInput(f"input file {item!r} is not a file")
            files[relative_to_root(self.root, path)] = path
        return files

    @staticmethod
    def _timeout(value: Any, default: float) -> float | None:
        if value is None or value == "":
            return default if default and default > 0 else None
        try:
            timeout = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"timeout must be a number of seconds, got {value!r}") from None
        if isinstance(value, bool) or not math.isfinite(timeout) or timeout <= 0:
            raise InvalidInput(f"timeout must be a positive number of seconds, got {value!r}")
        return timeout

    @staticmethod
    def _tags(tags: Any) -> list[str]:
        if tags is None:
            return []
        if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
            raise InvalidInput("tags must be a list of strings")
        return [t for t in tags if t.strip()]

    def _prepare(
        self,
        notebook_path: str,
        values: dict[str, Any] | None,
        *,
        kernel_name: str | None,
        timeout: Any,
        tags: Any,
        input_files: Any,
        from_text: bool,
    ) -> dict[str, Any]:
        """Validate everything about a submission; nothing is written."""
        path = self._notebook_file(notebook_path)
        data = path.read_bytes()
        nb = parameters.read_notebook(path)
        declared = parameters.inspect_parameters(nb)
        resolved = parameters.validate_parameters(declared, values, from_text=from_text)
        if kernel_name is not None and (not isinstance(kernel_name, str) or not kernel_name):
            raise InvalidInput("kernel_name must be a non-empty string")
        nb_kernel = (nb.get("metadata", {}).get("kernelspec") or {}).get("name")
        kernel = provenance.kernel_info(kernel_name or nb_kernel or "python3")
        return {
            "path": path,
            "data": data,
            "declared": declared,
            "parameters": resolved,
            "kernel": kernel,
            "timeout": self._timeout(timeout, self.mlops.default_timeout),
            "tags": self._tags(tags),
            "input_files": self._input_files(input_files),
        }

    def _new_run(
        self,
        prepared: dict[str, Any],
        params: dict[str, Any],
        base_provenance: dict[str, Any],
        *,
        user: str,
        trigger: str,
        trigger_details: dict[str, Any],
        **extra: Any,
    ) -> Run:
        path: Path = prepared["path"]
        prov = dict(base_provenance)
        prov["parameters"] = params
        files = {
            **prepared["input_files"],
            **provenance.parameter_paths(self.root, path.parent, params),
        }
        prov["inputs"] = {
            **provenance.input_hashes(self.root, files),
            **{k: None for k in prepared.get("missing_inputs", [])},
        }
        return Run(
            kind="batch",
            notebook_path=relative_to_root(self.root, path),
            status="queued",
            parameters=params,
            kernel_name=prepared["kernel"]["name"],
            timeout_seconds=prepared["timeout"],
            tags=prepared["tags"],
            input_files=sorted(prepared["input_files"]) + prepared.get("missing_inputs", []),
            trigger=trigger,
            trigger_details=trigger_details or {},
            created_by=user,
            executor=self.executor.name,
            input_notebook_sha256=prov["notebook_sha256"],
            provenance=prov,
            **extra,
        )

    def _base_provenance(self, prepared: dict[str, Any], user: str) -> dict[str, Any]:
        sha = self.mlops.artifacts.put_bytes(prepared["data"])  # the exact input notebook
        return provenance.collect(
            root=self.root,
            notebook_path=prepared["path"],
            notebook_sha256=sha,
            parameters=prepared["parameters"],
            kernel=prepared["kernel"],
            input_files=prepared["input_files"],
            user=user,
        )

    def submit(
        self,
        notebook_path: str,
        parameters: dict[str, Any] | None = None,
        *,
        kernel_name: str | None = None,
        timeout: float | None = None,
        tags: list[str] | None = None,
        input_files: list[str] | None = None,
        user: str = "",
        trigger: str = "user",
        trigger_details: dict[str, Any] | None = None,
        from_text: bool = False,
        schedule_id: str | None = None,
    ) -> dict[str, Any]:
        """Validate, record (queued, with provenance) and hand to the executor."""
        prepared = self._prepare(
            notebook_path,
            parameters,
            kernel_name=kernel_name,
            timeout=timeout,
            tags=tags,
            input_files=input_files,
            from_text=from_text,
        )
        self.executor.check_available()
        base = self._base_provenance(prepared, user)
        with self.mlops.db.session() as session:
            run = self._new_run(
                prepared,
                prepared["parameters"],
                base,
                user=user,
                trigger=trigger,
                trigger_details=trigger_details or {},
                schedule_id=schedule_id,
            )
            session.add(run)
            session.flush()
            run_id = run.id
        self.executor.launch([run_id])
        return self.get(run_id)

    def check(
        self,
        notebook_path: str,
        parameters: dict[str, Any] | None = None,
        kernel_name: str | None = None,
    ) -> dict[str, Any]:
        """What :meth:`submit` would run, validated, with nothing recorded: the root-relative
        notebook path and the coerced parameters (schedules and monitors check this when
        they are created, long before their first run)."""
        prepared = self._prepare(
            notebook_path,
            parameters,
            kernel_name=kernel_name,
            timeout=None,
            tags=None,
            input_files=None,
            from_text=False,
        )
        return {
            "notebook_path": relative_to_root(self.root, prepared["path"]),
            "parameters": prepared["parameters"],
        }

    # -- read ---------------------------------------------------------------------------------

    def _load(self, session, run_id: str) -> Run:
        if not isinstance(run_id, str) or not run_id:
            raise NotFound("no such run: (empty id)")
        run = session.get(
            Run,
            run_id,
            options=[
                selectinload(Run.metrics),
                selectinload(Run.params),
                selectinload(Run.artifacts),
            ],
        )
        if run is None:
            raise NotFound(f"no such run: {run_id}")
        return run

    def get(self, run_id: str) -> dict[str, Any]:
        with self.mlops.db.session() as session:
            return run_to_dict(self._load(session, run_id), detail=True)

    def list(
        self,
        offset: int = 0,
        limit: int = 50,
        *,
        notebook: str | None = None,
        status: str | list[str] | None = None,
        group_id: str | None = None,
        kind: str | None = None,
        tag: str | None = None,
        schedule_id: str | None = None,
    ) -> dict[str, Any]:
        """Newest first, paginated; filter by notebook (substring), status, group, kind, tag,
        schedule."""
        query = select(Run)
        if schedule_id:
            query = query.where(Run.schedule_id == schedule_id)
        if notebook:
            query = query.where(Run.notebook_path.contains(notebook, autoescape=True))
        if status:
            statuses = status.split(",") if isinstance(status, str) else list(status)
            statuses = [s.strip() for s in statuses if s.strip()]
            unknown = [s for s in statuses if s not in ALL_STATES]
            if unknown:
                raise InvalidInput(
                    f"unknown status {unknown[0]!r} (one of: {', '.join(ALL_STATES)})"
                )
            query = query.where(Run.status.in_(statuses))
        if group_id:
            query = query.where(Run.group_id == group_id)
        if kind:
            query = query.where(Run.kind == kind)
        ordered = query.options(selectinload(Run.metrics)).order_by(
            Run.created_at.desc(), Run.id.desc()
        )
        with self.mlops.db.session() as session:
            if tag:  # tags are a JSON list: filter in Python (portable across databases)
                rows = [r for r in session.scalars(ordered).all() if tag in (r.tags or [])]
                total = len(rows)
                rows = rows[offset : offset + limit]
            else:
                total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
                rows = session.scalars(ordered.offset(offset).limit(limit)).all()
            items = [run_to_dict(r) for r in rows]
        return {"items": items, "total": total, "offset": offset, "limit": limit}

    def output_notebook(self, run_id: str) -> bytes:
        """The executed notebook's bytes, verified against their sha256."""
        run = self.get(run_id)
        if not run["output_notebook_sha256"]:
            raise NotFound(f"run {run_id} has no output notebook (status: {run['status']})")
        return self.mlops.artifacts.get_bytes(run["output_notebook_sha256"])

    def materialize_output(self, run_id: str) -> str:
        """Write the output notebook under the root (to open it in the lab); its relative path."""
        run = self.get(run_id)
        sha = run["output_notebook_sha256"]
        if not sha:
            raise NotFound(f"run {run_id} has no output notebook (status: {run['status']})")
        target = output_location(self.mlops, run_id, run["notebook_path"])
        if not target.is_file() or sha256_bytes(target.read_bytes()) != sha:
            self.mlops.artifacts.get_file(sha, target)
        rel = relative_to_root(self.root, target)
        if run["output_notebook_path"] != rel:
            with self.mlops.db.session() as session:
                session.execute(
                    update(Run).where(Run.id == run_id).values(output_notebook_path=rel)
                )
        return rel

    def wait(
        self,
        run_id: str,
        timeout: float | None = None,
        *,
        poll: float = 0.25,
        on_progress: Any = None,
    ) -> dict[str, Any]:
        """Block until the run is finished (``TimeoutError`` after ``timeout`` seconds)."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run = self.get(run_id)
            if on_progress is not None:
                on_progress(run)
            if run["status"] in TERMINAL_STATES:
                return run
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} is still {run['status']} after {timeout}s")
            self.tick()
            time.sleep(poll)

    # -- state changes ------------------------------------------------------------------------

    def finish(self, run_id: str, status: str, **values: Any) -> bool:
        """Move a running run to a final state, unless something else already did."""
        now = datetime.now(timezone.utc)
        with self.mlops.db.write_session() as session:  # read-then-write: lock at BEGIN
            started = session.scalar(select(Run.started_at).where(Run.id == run_id))
            values.setdefault("finished_at", now)
            if started is not None:
                values.setdefault("duration_seconds", (now - started).total_seconds())
            result = session.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == "running")
                .values(status=status, **values)
            )
            return result.rowcount == 1

    def cancel(self, run_id: str, *, user: str = "") -> dict[str, Any]:
        """Cancel a queued run, or kill a running one's whole process tree."""
        now = datetime.now(timezone.utc)
        with self.mlops.db.write_session() as session:
            run = self._load(session, run_id)
            if run.kind != "batch":
                raise Conflict(f"run {run_id} is an interactive session; it ends with its kernel")
            if run.status in TERMINAL_STATES:
                raise Conflict(f"run {run_id} already finished: {run.status}")
            was_running = run.status == "running"
            before = run_to_dict(run)
            run.status = "cancelled"
            run.status_reason = f"cancelled by {user}" if user else "cancelled"
            run.finished_at = now
            if run.started_at is not None:
                run.duration_seconds = (now - run.started_at).total_seconds()
        if was_running:
            self.executor.kill(before)
        self.executor.launch([])
        return self.get(run_id)

    def tick(self) -> None:
        """Start queued runs, enforce timeouts, fail runs whose process died."""
        self.executor.tick()
        self._check_running(reason=None)

    def recover(self) -> list[str]:
        """On server start: runs left running on this host whose process is gone → failed."""
        return self._check_running(reason=SERVER_RESTARTED)

    def _check_running(self, reason: str | None) -> list[str]:
        host = this_host()
        now = datetime.now(timezone.utc)
        with self.mlops.db.session() as session:
            rows = session.execute(
                select(
                    Run.id, Run.kind, Run.pid, Run.started_at, Run.timeout_seconds, Run.executor
                ).where(Run.status == "running", Run.host == host)
            ).all()
        changed = []
        for run_id, kind, pid, started_at, timeout, _executor in rows:
            worker_id = run_id if kind == "batch" else None
            if not process_alive(pid, started_at, worker_id):
                if kind == "interactive":
                    why = reason or "the kernel process ended"
                else:
                    why = reason or "the worker process exited unexpectedly"
                if self.finish(run_id, "failed", status_reason=why):
                    changed.append(run_id)
                continue
            if (
                kind == "batch"
                and timeout
                and started_at is not None
                and now > started_at + timedelta(seconds=timeout + TIMEOUT_GRACE_SECONDS)
            ):
                if self.finish(run_id, "timed_out", status_reason=f"timed out after {timeout:g}s"):
                    kill_process_tree(pid, started_at, run_id)
                    changed.append(run_id)
        if changed and reason is None:
            self.executor.launch([])
        return changed

    # -- reproduce ----------------------------------------------------------------------------

    def reproduce(self, run_id: str, *, user: str = "") -> dict[str, Any]:
        """Re-run the stored input notebook with the same parameters and kernel.

        The comparison (outputs per cell, environment) is stored on the new run when it ends.
        """
        with self.mlops.db.session() as session:
            original = self._load(session, run_id)
            if original.kind != "batch" or not original.input_notebook_sha256:
                raise Conflict(f"run {run_id} has no stored input notebook to reproduce")
            source = run_to_dict(original, detail=True)
        data = self.mlops.artifacts.get_bytes(source["input_notebook_sha256"])
        path = resolve_in_root(self.root, source["notebook_path"], must_exist=False)
        present, missing = {}, []
        for item in source["input_files"]:
            candidate = resolve_in_root(self.root, item, must_exist=False)
            if candidate.is_file():
                present[item] = candidate
            else:
                missing.append(item)
        kernel = provenance.kernel_info(source["kernel_name"] or "python3")
        prepared = {
            "path": path,
            "data": data,
            "parameters": source["parameters"],
            "kernel": kernel,
            "timeout": source["timeout_seconds"],
            "tags": source["tags"],
            "input_files": present,
            "missing_inputs": missing,
        }
        self.executor.check_available()
        base = self._base_provenance(prepared, user)
        with self.mlops.db.session() as session:
            run = self._new_run(
                prepared,
                source["parameters"],
                base,
                user=user,
                trigger="reproduce",
                trigger_details={"run_id": run_id},
                reproduces_run_id=run_id,
            )
            run.notebook_path = source["notebook_path"]
            session.add(run)
            session.flush()
            new_id = run.id
        self.executor.launch([new_id])
        return self.get(new_id)

    # -- sweeps -------------------------------------------------------------------------------

    def sweep(
        self,
        notebook_path: str,
        grid: dict[str, list[Any]],
        *,
        metric: str | None = None,
        mode: str = "max",
        name: str = "",
        kernel_name: str | None = None,
        timeout: float | None = None,
        tags: list[str] | None = None,
        input_files: list[str] | None = None,
        user: str = "",
        from_text: bool = False,
    ) -> dict[str, Any]:
        """One run per combination of the grid, recorded together as a group."""
        if not isinstance(grid, dict) or not grid:
            raise InvalidInput("grid must be an object mapping parameter names to lists of values")
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise InvalidInput(f"grid[{key!r}] must be a non-empty list of values")
        if mode not in ("max", "min"):
            raise InvalidInput(f"mode must be 'max' or 'min', got {mode!r}")
        if metric is not None and (not isinstance(metric, str) or not metric.strip()):
            raise InvalidInput("metric must be a non-empty string")
        size = math.prod(len(v) for v in grid.values())
        if size > MAX_SWEEP_RUNS:
            raise InvalidInput(f"the grid has {size} combinations; the limit is {MAX_SWEEP_RUNS}")
        prepared = self._prepare(
            notebook_path,
            None,
            kernel_name=kernel_name,
            timeout=timeout,
            tags=tags,
            input_files=input_files,
            from_text=from_text,
        )
        names = list(grid)
        coerced = {
            key: [
                parameters.validate_parameters(prepared["declared"], {key: v}, from_text=from_text)[
                    key
                ]
                for v in values
            ]
            for key, values in grid.items()
        }
        self.executor.check_available()
        base = self._base_provenance(prepared, user)
        with self.mlops.db.session() as session:
            group = RunGroup(
                name=name or Path(notebook_path).stem,
                notebook_path=relative_to_root(self.root, prepared["path"]),
                grid=coerced,
                metric=metric,
                mode=mode,
                created_by=user,
            )
            session.add(group)
            session.flush()
            run_ids = []
            for combo in itertools.product(*(coerced[k] for k in names)):
                params = dict(zip(names, combo, strict=True))
                run = self._new_run(
                    prepared,
                    params,
                    base,
                    user=user,
                    trigger="sweep",
                    trigger_details={"group_id": group.id},
                    group_id=group.id,
                )
                session.add(run)
                session.flush()
                run_ids.append(run.id)
            group_id = group.id
        self.executor.launch(run_ids)
        return self.get_sweep(group_id)

    def get_sweep(self, group_id: str) -> dict[str, Any]:
        with self.mlops.db.session() as session:
            group = session.get(RunGroup, group_id)
            if group is None:
                raise NotFound(f"no such sweep: {group_id}")
            runs = session.scalars(
                select(Run)
                .where(Run.group_id == group_id)
                .options(selectinload(Run.metrics))
                .order_by(Run.created_at, Run.id)
            ).all()
            return group_to_dict(group, list(runs))

    def list_sweeps(self, offset: int = 0, limit: int = 50) -> dict[str, Any]:
        with self.mlops.db.session() as session:
            total = session.scalar(select(func.count()).select_from(RunGroup)) or 0
            groups = session.scalars(
                select(RunGroup).order_by(RunGroup.created_at.desc()).offset(offset).limit(limit)
            ).all()
            ids = [g.id for g in groups]
        items = []
        for group_id in ids:
            summary = self.get_sweep(group_id)
            summary.pop("runs")
            items.append(summary)
        return {"items": items, "total": total, "offset": offset, "limit": limit}

    # -- tracking (from inside notebooks) -----------------------------------------------------

    def start_interactive(self, notebook_path: str, *, user: str = "") -> dict[str, Any]:
        """A run for a live kernel session, so metrics logged outside batch runs are kept."""
        path = resolve_in_root(self.root, notebook_path, must_exist=False)
        rel = relative_to_root(self.root, path)
        sha = None
        if path.is_file():
            sha = self.mlops.artifacts.put_file(path)
        prov = {
            "notebook_path": rel,
            "notebook_sha256": sha,
            "parameters": {},
            "kernel": {
                "name": None,
                "language": "python",
                "language_version": provenance.python_info()["version"],
            },
            "python": provenance.python_info(),
            "packages": provenance.installed_packages(),
            "platform": provenance.platform_info(),
            "git": provenance.git_info(path.parent if path.parent.is_dir() else self.root),
            "inputs": {},
            "user": user,
            "recorded_at": datetime.now(timezone.utc).isoformat(),
        }
        now = datetime.now(timezone.utc)
        with self.mlops.db.session() as session:
            run = Run(
                kind="interactive",
                notebook_path=rel,
                status="running",
                created_by=user,
                started_at=now,
                pid=os.getpid(),
                host=this_host(),
                executor="interactive",
                input_notebook_sha256=sha,
                provenance=prov,
                trigger="interactive",
            )
            session.add(run)
            session.flush()
            run_id = run.id
        return self.get(run_id)

    def _check_loggable(self, session, run_id: str) -> Run:
        run = session.get(Run, run_id)
        if run is None:
            raise NotFound(f"no such run: {run_id}")
        if run.status in TERMINAL_STATES:
            raise Conflict(f"run {run_id} already finished ({run.status}); cannot log to it")
        return run

    @staticmethod
    def _key(key: Any) -> str:
        if not isinstance(key, str) or not key.strip() or len(key) > 255:
            raise InvalidInput("a metric/param key must be a non-empty string (≤ 255 chars)")
        return key.strip()

    def log_metric(
        self, run_id: str, key: str, value: Any, step: int | None = None
    ) -> dict[str, Any]:
        key = self._key(key)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"metric {key!r} must be a number, got {value!r}") from None
        if isinstance(value, bool) or not math.isfinite(number):
            raise InvalidInput(f"metric {key!r} must be a finite number, got {value!r}")
        with self.mlops.db.write_session() as session:
            self._check_loggable(session, run_id)
            if step is None:
                step = session.scalar(
                    select(func.count())
                    .select_from(RunMetric)
                    .where(RunMetric.run_id == run_id, RunMetric.key == key)
                )
            metric = RunMetric(run_id=run_id, key=key, value=number, step=int(step))
            session.add(metric)
        return {"run_id": run_id, "key": key, "value": number, "step": int(step)}

    def log_param(self, run_id: str, key: str, value: Any) -> dict[str, Any]:
        key = self._key(key)
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        with self.mlops.db.write_session() as session:
            self._check_loggable(session, run_id)
            existing = session.scalars(
                select(RunParam).where(RunParam.run_id == run_id, RunParam.key == key)
            ).first()
            if existing is None:
                session.add(RunParam(run_id=run_id, key=key, value=text))
            else:
                existing.value = text
        return {"run_id": run_id, "key": key, "value": text}

    def log_artifact(
        self, run_id: str, path: str | os.PathLike, name: str | None = None, kind: str = "file"
    ) -> dict[str, Any]:
        file = Path(path)
        if not file.is_file():
            raise NotFound(f"no such file: {path}")
        sha = self.mlops.artifacts.put_file(file)
        size = file.stat().st_size
        with self.mlops.db.write_session() as session:
            self._check_loggable(session, run_id)
            session.add(
                RunArtifact(run_id=run_id, name=name or file.name, sha256=sha, size=size, kind=kind)
            )
        return {"run_id": run_id, "name": name or file.name, "sha256": sha, "size": size}

    def close_interactive(self, run_id: str) -> bool:
        return self.finish(run_id, "succeeded", status_reason="the kernel session ended")


def output_location(mlops, run_id: str, notebook_path: str) -> Path:
    """``<root>/<output_dir>/<run_id>/<notebook name>`` — visible in the lab's file browser."""
    root = Path(mlops.root_dir).resolve()
    base = Path(mlops.output_dir)
    if not base.is_absolute():
        base = root / base
    base = base.resolve()
    if base != root and root not in base.parents:
        raise MLOpsError(f"c.MLOps.output_dir {mlops.output_dir!r} is outside the server root")
    return base / run_id / Path(notebook_path).name
