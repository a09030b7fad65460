"""``RunService`` (``mlops.runs``): the one entry point of the runs domain.

A thin facade over the domain's modules — ``submission`` (validate and record new runs),
``records`` (read runs, final-state transitions), ``queue`` (claims), ``sweeps``,
``interactive`` (tracking from code), ``supervision`` (timeouts, dead workers, recovery) and
``announcements`` (``RUN_FINISHED``) — plus the executor that starts workers. State machine:
``queued → running → succeeded | failed | cancelled | timed_out``.

It is given what it needs (the store, the artifact store, :class:`RunSettings`, an executor
factory, the event bus), never the composition root; ``tick`` is the periodic job the server's
scheduler runs (start queued runs, enforce timeouts, fail dead runs, announce finished ones).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..access import ALLOW_ALL, Access
from ..errors import Conflict, NotFound
from ..events import EventBus
from ..paths import locate_in_root, relative_to_root, write_at
from ..store.artifacts import ArtifactStore, sha256_bytes
from ..store.db import Database
from . import TERMINAL_STATES
from .announcements import FinishedRuns
from .executors.base import Executor, ExecutorContext
from .interactive import Tracking
from .live import LiveCells
from .queue import RunQueue
from .records import RunRecords, load_run, run_to_dict
from .settings import RunSettings
from .submission import Submissions
from .supervision import SERVER_RESTARTED, Supervisor, check_heartbeats
from .sweeps import Sweeps, check_grid

__all__ = ["SERVER_RESTARTED", "RunService"]

#: seconds between two ticks of the ``runs.queue`` scheduler job
TICK_SECONDS = 1.0

ExecutorFactory = Callable[[ExecutorContext], Executor]

# Started by something a user created earlier (and was allowed to create then).
AUTOMATIC_TRIGGERS = frozenset({"schedule", "pipeline", "drift"})


class RunService:
    """Runs of notebooks: the one place that knows their rules."""

    tick_seconds = TICK_SECONDS

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        settings: RunSettings,
        *,
        executor_factory: ExecutorFactory,
        events: EventBus,
        log: logging.Logger | None = None,
        access: Callable[[], Access] | None = None,
    ):
        self._access = access or (lambda: ALLOW_ALL)
        self.db = db
        self.artifacts = artifacts
        self.events = events
        self.log = log or logging.getLogger(__name__)
        self._settings = settings
        self._executor_factory = executor_factory
        self._executor: Executor | None = None
        self._executor_lock = threading.Lock()
        self._long_lived = False
        self._records = RunRecords(db)
        self._queue = RunQueue(db)
        self._submissions = Submissions(self.root, artifacts)
        self._sweeps = Sweeps(db, self._submissions)
        self._tracking = Tracking(db, artifacts, self.root)
        self._supervisor = Supervisor(self._records, self.finish)
        self._finished = FinishedRuns(self._records, events)
        self._live = LiveCells(db)

    # -- set-up -------------------------------------------------------------------------------

    @property
    def settings(self) -> RunSettings:
        return self._settings

    def configure(self, settings: RunSettings) -> None:
        """New settings (a trait of ``MLOps`` changed): later runs and the executor use them."""
        self._settings = settings
        self._submissions.root = self._tracking.root = self.root
        self._refresh_context()

    @property
    def long_lived(self) -> bool:
        """True in a long-lived process (the server): keep a warm standby worker."""
        return self._long_lived

    @long_lived.setter
    def long_lived(self, value: bool) -> None:
        self._long_lived = bool(value)
        self._refresh_context()

    @property
    def root(self) -> Path:
        return Path(self._settings.root_dir).resolve()

    def executor_context(self) -> ExecutorContext:
        settings = self._settings
        return ExecutorContext(
            root_dir=self.root,
            store_url=settings.store_url,
            artifact_root=settings.artifact_root,
            log_dir=settings.log_dir,
            worker_variables=settings.worker_variables(),
            max_concurrent=settings.max_concurrent_runs,
            dask_scheduler_address=settings.dask_scheduler_address,
            claim_next=self._queue.claim_next,
            fail_run=self._fail,
            keep_standby=self._long_lived,
        )

    def _refresh_context(self) -> None:
        if self._executor is not None:
            self._executor.context = self.executor_context()

    @property
    def executor(self) -> Executor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = self._executor_factory(self.executor_context())
            return self._executor

    def worker_environment(self, run_id: str | None) -> dict[str, str]:
        """Environment of a worker process (and of its kernel, which inherits it)."""
        return self._settings.worker_environment(run_id)

    def log_path(self, run_id: str) -> Path:
        """The worker's own log (papermill/kernel start-up problems land here)."""
        return self._settings.log_path(run_id)

    def start(self) -> None:
        """In the server: recover orphans; the server's scheduler then calls ``tick``."""
        self.recover()
        self.long_lived = True

    def stop(self) -> None:
        if self._executor is not None:
            self._executor.stop()

    # -- submit -------------------------------------------------------------------------------

    def inspect(self, notebook_path: str) -> dict[str, Any]:
        """``GET /notebooks/parameters``: the notebook's parameters and kernel."""
        return self._submissions.inspect(notebook_path)

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
        memory: Any = None,
        cpus: Any = None,
        launch: bool = True,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """Validate, record (queued, with provenance) and hand to the executor (unless not
        ``launch``: the caller executes it itself, see ``runs/inprocess.py``).

        Runs a schedule, a pipeline or a retraining starts were allowed when it was created."""
        if trigger not in AUTOMATIC_TRIGGERS:
            self._access().require(user, "run")
        prepared = self._prepare(
            notebook_path,
            parameters,
            kernel_name=kernel_name,
            timeout=timeout,
            tags=tags,
            input_files=input_files,
            from_text=from_text,
            memory=memory,
            cpus=cpus,
        )
        self.executor.check_available()
        base = self._submissions.base_provenance(prepared, user)
        with self.db.session() as session:
            run = self._submissions.new_run(
                prepared,
                prepared.parameters,
                base,
                executor=self.executor.name,
                user=user,
                trigger=trigger,
                trigger_details=trigger_details,
                schedule_id=schedule_id,
                **({"id": run_id} if run_id else {}),
            )
            session.add(run)
            session.flush()
            run_id = run.id
        if launch:
            self.executor.launch([run_id])
        return self.get(run_id)

    def _prepare(self, notebook_path: str, parameters: Any, **options: Any):
        """Everything about a submission validated, nothing recorded (the runs' defaults)."""
        options = {
            "kernel_name": None,
            "timeout": None,
            "tags": None,
            "input_files": None,
            "from_text": False,
            **options,
        }
        return self._submissions.prepare(
            notebook_path,
            parameters,
            default_timeout=self._settings.default_timeout,
            default_limits=self._settings.default_limits,
            **options,
        )

    def check(
        self,
        notebook_path: str,
        parameters: dict[str, Any] | None = None,
        kernel_name: str | None = None,
    ) -> dict[str, Any]:
        """What :meth:`submit` would run, validated, with nothing recorded: the root-relative
        notebook path and the coerced parameters (schedules and monitors check this when they
        are created, long before their first run)."""
        prepared = self._prepare(notebook_path, parameters, kernel_name=kernel_name)
        return {
            "notebook_path": relative_to_root(self._settings.root_dir, prepared.path),
            "parameters": prepared.parameters,
        }

    def reproduce(self, run_id: str, *, user: str = "") -> dict[str, Any]:
        """Re-run the stored input notebook with the same parameters and kernel.

        The comparison (outputs per cell, environment) is stored on the new run when it ends.
        """
        self._access().require(user, "run")
        with self.db.session() as session:
            original = load_run(session, run_id)
            if original.kind != "batch" or not original.input_notebook_sha256:
                raise Conflict(f"run {run_id} has no stored input notebook to reproduce")
            source = run_to_dict(original, detail=True)
        data = self.artifacts.get_bytes(source["input_notebook_sha256"])
        prepared = self._submissions.prepare_reproduction(source, data)
        self.executor.check_available()
        base = self._submissions.base_provenance(prepared, user)
        with self.db.session() as session:
            run = self._submissions.new_run(
                prepared,
                source["parameters"],
                base,
                executor=self.executor.name,
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
        memory: Any = None,
        cpus: Any = None,
    ) -> dict[str, Any]:
        """One run per combination of the grid, recorded together as a group."""
        self._access().require(user, "run")
        check_grid(grid, mode, metric)
        prepared = self._prepare(
            notebook_path,
            None,
            kernel_name=kernel_name,
            timeout=timeout,
            tags=tags,
            input_files=input_files,
            from_text=from_text,
            memory=memory,
            cpus=cpus,
        )
        group_id, run_ids = self._sweeps.create(
            prepared,
            grid,
            metric=metric,
            mode=mode,
            name=name,
            user=user,
            executor=self.executor.name,
            from_text=from_text,
            before_recording=self.executor.check_available,
        )
        self.executor.launch(run_ids)
        return self.get_sweep(group_id)

    def get_sweep(self, group_id: str) -> dict[str, Any]:
        return self._sweeps.get(group_id)

    def list_sweeps(self, offset: int = 0, limit: int = 50) -> dict[str, Any]:
        return self._sweeps.list(offset, limit)

    # -- read ---------------------------------------------------------------------------------

    def get(self, run_id: str) -> dict[str, Any]:
        return self._records.get(run_id)

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
        return self._records.list(
            offset,
            limit,
            notebook=notebook,
            status=status,
            group_id=group_id,
            kind=kind,
            tag=tag,
            schedule_id=schedule_id,
        )

    def output_location(self, run_id: str, notebook_path: str) -> Path:
        return self._settings.output_location(run_id, notebook_path)

    def output_notebook(self, run_id: str) -> bytes:
        """The executed notebook's bytes, verified against their sha256."""
        run = self.get(run_id)
        if not run["output_notebook_sha256"]:
            raise NotFound(f"run {run_id} has no output notebook (status: {run['status']})")
        return self.artifacts.get_bytes(run["output_notebook_sha256"])

    def materialize_output(self, run_id: str) -> str:
        """Write the output notebook under the root (to open it in the lab); its relative path."""
        run = self.get(run_id)
        sha = run["output_notebook_sha256"]
        if not sha:
            raise NotFound(f"run {run_id} has no output notebook (status: {run['status']})")
        rel = self.write_output(run_id, run["notebook_path"], sha)
        if run["output_notebook_path"] != rel:
            self._records.set_output_path(run_id, rel)
        return rel

    def write_output(self, run_id: str, notebook_path: str, sha: str) -> str:
        """Write the stored output notebook to ``<output_dir>/<run_id>/`` under the root; its
        root-relative path. A symlink leaving the root anywhere on the way is a 403
        (:class:`Forbidden`) before any byte is written; a full disk a 507."""
        target = self.output_location(run_id, notebook_path)
        root, parts = locate_in_root(self.root, target)
        current = root.joinpath(*parts)
        unchanged = not current.is_symlink() and current.is_file()
        if unchanged and sha256_bytes(current.read_bytes()) == sha:
            return "/".join(parts)
        write_at(root, parts, self.artifacts.get_bytes(sha), shown=str(target))
        return "/".join(parts)

    def wait(
        self,
        run_id: str,
        timeout: float | None = None,
        *,
        poll: float = 0.25,
        on_progress: Any = None,
    ) -> dict[str, Any]:
        """Block until the run is finished (``TimeoutError`` after ``timeout`` seconds)."""
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

    def claim_here(self, run_id: str) -> bool:
        """Claim a queued run for this process (it executes it itself) if a slot of the local
        executor is free and the run is next in the queue."""
        executor = self.executor
        if not executor.claims_for_workers:  # a cluster's runs execute on the cluster
            return False
        limit = self._settings.max_concurrent_runs
        return self._queue.claim_run(run_id, executor.name, limit, os.getpid())

    def claim_for_worker(self, run_id: str, pid: int) -> bool:
        """May worker process ``pid`` execute ``run_id``? (Claims it if its executor leaves
        claiming to workers.)"""
        self_claiming = not self.executor.claims_for_workers
        return self._queue.claim_for_worker(run_id, pid, self_claiming=self_claiming)

    def live(self, run_id: str, after: int = 0) -> dict[str, Any]:
        """The cells of a run executed so far (``runs/live.py``) written after ``seq`` ``after``."""
        data = self._live.read(run_id, after)
        if not data:
            raise NotFound(f"no such run: {run_id}")
        return data

    def write_live_cells(self, run_id: str, seq: int, cells: list[dict[str, Any]]) -> None:
        """The executing process publishes the cells that changed."""
        self._live.write(run_id, seq, cells)

    def report_progress(self, run_id: str, done: int, total: int, current: int | None) -> None:
        self._records.report_progress(run_id, done, total, current)

    def heartbeat(self, run_id: str) -> str | None:
        """A worker says it is alive; the run's status (anything but running: stop)."""
        return self._records.heartbeat(run_id)

    def finish(self, run_id: str, status: str, **values: Any) -> bool:
        """Move a running run to a final state, unless something else already did."""
        changed = self._records.finish(run_id, status, **values)
        if changed:
            self._finished.announce(run_id)
        return changed

    def _fail(self, run_id: str, reason: str) -> bool:
        changed = self._queue.fail(run_id, reason)
        if changed:
            self._finished.announce(run_id)
        return changed

    def cancel(self, run_id: str, *, user: str = "") -> dict[str, Any]:
        """Cancel a queued run, or kill a running one's whole process tree."""
        self._access().require(user, "run", "cancel runs")
        before = self._records.cancel(run_id, user=user)
        self._finished.announce(run_id)
        if before["status"] == "running":
            self.executor.kill(before)
        self.executor.launch([])
        return self.get(run_id)

    def tick(self) -> None:
        """The ``runs.queue`` job: start queued runs, enforce timeouts, fail dead runs (here by
        their process, elsewhere by their heartbeat), and announce runs that finished (here or
        elsewhere)."""
        self.executor.tick()
        dead = self._supervisor.check(reason=None)
        lost = check_heartbeats(self._records, self.finish, self._settings.heartbeat_timeout)
        if dead or lost:
            self.executor.launch([])
        self._finished.poll()

    def recover(self) -> list[str]:
        """On server start: runs left running on this host whose process is gone → failed."""
        return self._supervisor.check(reason=SERVER_RESTARTED)

    # -- tracking (from inside notebooks) -----------------------------------------------------

    def start_interactive(self, notebook_path: str, *, user: str = "") -> dict[str, Any]:
        """A run for a live kernel session, so metrics logged outside batch runs are kept."""
        self._access().require(user, "run", "track runs")
        return self.get(self._tracking.start_interactive(notebook_path, user=user))

    def log_metric(
        self, run_id: str, key: str, value: Any, step: int | None = None
    ) -> dict[str, Any]:
        return self._tracking.log_metric(run_id, key, value, step)

    def log_param(self, run_id: str, key: str, value: Any) -> dict[str, Any]:
        return self._tracking.log_param(run_id, key, value)

    def log_output(self, run_id: str, key: str, value: Any) -> dict[str, Any]:
        return self._tracking.log_output(run_id, key, value)

    def log_artifact(self, run_id: str, path, name: str | None = None, kind: str = "file"):
        return self._tracking.log_artifact(run_id, path, name, kind)

    def close_interactive(self, run_id: str) -> bool:
        return self.finish(run_id, "succeeded", status_reason="the kernel session ended")
