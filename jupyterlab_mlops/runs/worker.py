"""Executes one run: ``python -m jupyterlab_mlops.runs.worker RUN_ID`` (or ``--standby``).

Started by an executor in its own process (and session), with ``MLOPS_*`` in the environment so
it — and the kernel it starts, which inherits the environment — use the same store. It builds
what it needs from that environment (``RunSettings.from_environment``: the store, the artifact
store, the executor class), never the composition root. It runs the stored input notebook (the
exact bytes recorded at submission) with papermill, writes progress to the run while cells
execute, enforces the run's timeout, stores the output notebook as an artifact, writes it under
the root for opening in the lab, and records the final state. While it runs, a heartbeat thread
(``heartbeat.py``) records that it is alive and stops it when the run was cancelled elsewhere.
On a machine without the lab's disk (``MLOPS_WORKSPACE``, set by the Dask executor's task) its
root is a private workspace filled from the artifact store (``workspace.py``), and the output
notebook stays in the artifact store until the lab asks for it. For a reproduction it also stores
the comparison with the original. When done it starts the next queued run, so the queue drains
even when no server is running.

A *standby* worker (``--standby``) does all of that set-up first, then waits for its run id on
stdin: the server keeps one warm so a run does not pay for Python's start-up and imports.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import papermill
from papermill.engines import NBClientEngine, papermill_engines
from papermill.exceptions import PapermillExecutionError
from traitlets.utils.importstring import import_item

from ..errors import Forbidden, InsufficientStorage
from ..events import EventBus
from ..store.artifacts import ArtifactStore
from ..store.db import Database
from . import workspace
from .comparison import compare_runs
from .heartbeat import Heartbeat
from .limits import Enforcement, RunLimits
from .live import LivePublisher
from .processes import STANDBY, kill_children
from .progress import ProgressWriter, durable
from .service import RunService
from .settings import RunSettings

ENGINE_NAME = "mlops"
KERNEL_START_TIMEOUT = 120
TIMEOUT_EXIT_CODE = 3
STOPPED_EXIT_CODE = 4
#: seconds one store write waits for another process's lock; :mod:`.progress` retries after
WORKER_BUSY_TIMEOUT = 2.0


class ProgressEngine(NBClientEngine):
    """papermill's nbclient engine, reporting each cell's start and end to the run record and
    every change of the notebook to the live view (``runs/live.py``)."""

    reporter: Any = None
    live: LivePublisher | None = None

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
        reporter, live = cls.reporter, cls.live
        if reporter is not None:
            total = len(nb_man.nb.cells)
            done = {"n": 0}
            original_start, original_complete = nb_man.cell_start, nb_man.cell_complete

            def cell_start(cell, cell_index=None, **kw):
                reporter(done["n"], total, cell_index)
                result = original_start(cell, cell_index, **kw)
                if live is not None:
                    live.changed(nb_man.nb)
                return result

            def cell_complete(cell, cell_index=None, **kw):
                done["n"] += 1
                reporter(done["n"], total, cell_index)
                result = original_complete(cell, cell_index, **kw)
                if live is not None:
                    live.changed(nb_man.nb)
                return result

            nb_man.cell_start = cell_start
            nb_man.cell_complete = cell_complete
            reporter(0, total, None)
        if live is not None:  # papermill calls this after every kernel message
            original_autosave = nb_man.autosave_cell

            def autosave_cell():
                live.changed(nb_man.nb)
                return original_autosave()

            nb_man.autosave_cell = autosave_cell
        try:
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
        finally:  # before papermill inserts its error banner cell and renumbers the cells
            if live is not None:
                live.close()


papermill_engines.register(ENGINE_NAME, ProgressEngine)


class Worker:
    def __init__(self, service: RunService, run_id: str, *, in_workspace: bool = False):
        """``in_workspace``: the service's root is this run's private workspace, not the lab's."""
        self.service = service
        self.in_workspace = in_workspace
        self.artifacts = service.artifacts
        self.run_id = run_id
        self.workdir = Path(tempfile.mkdtemp(prefix=f"mlops-run-{run_id}-"))
        self.output_path = self.workdir / "output.ipynb"
        self._finished = threading.Event()
        self.progress = ProgressWriter(service.report_progress)
        self.enforcement: Enforcement | None = None
        self.live: LivePublisher | None = None
        #: a kernel already started for this run (``runs/inprocess.py``), else papermill starts one
        self.kernel_manager: Any = None

    # -- claiming -----------------------------------------------------------------------------

    def claim(self) -> dict[str, Any] | None:
        """The run if this process should execute it (claimed by our executor or now by us)."""
        if not durable(self.service.claim_for_worker, self.run_id, os.getpid()):
            return None
        return durable(self.service.get, self.run_id)

    # -- progress -----------------------------------------------------------------------------

    def report(self, done: int, total: int, current: int | None) -> None:
        if self.enforcement is not None and current is not None:  # the kernel is up
            self.enforcement.kernel_started()
            self.enforcement.sample()
        self.progress.report(self.run_id, done, total, current)

    def finish(self, status: str, **values: Any) -> bool:
        """The final state: progress stops, then the write is retried until the store takes it."""
        self.progress.close()
        if self.progress.latest is not None:  # progress dropped while the store was busy
            _, done, total, current = self.progress.latest
            values.setdefault("cells_done", done)
            values.setdefault("cells_total", total)
            values.setdefault("current_cell", current)
        return durable(self.service.finish, self.run_id, status, **values)

    def _live_publisher(self) -> LivePublisher:
        def write(seq: int, cells: list[dict[str, Any]]) -> None:
            self.service.write_live_cells(self.run_id, seq, cells)

        def warn(err: BaseException) -> None:
            self.service.log.warning("could not write the live output: %s", err)

        return LivePublisher(write, on_error=warn)

    # -- timeout ------------------------------------------------------------------------------

    def _watchdog(self, seconds: float) -> None:
        if self._finished.wait(seconds):
            return
        self._finished.set()  # the heartbeat leaves the end of this run to us
        # Record first (only if still running), then stop the kernel and this process.
        output = self._store_output()
        values: dict[str, Any] = {"status_reason": f"timed out after {seconds:g}s"}
        if output:
            values.update(output)
        self.finish("timed_out", **values)
        kill_children()
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.dispatch_next()
        os._exit(TIMEOUT_EXIT_CODE)

    # -- heartbeat ----------------------------------------------------------------------------

    def _start_heartbeat(self) -> None:
        Heartbeat(
            beat=lambda: self.service.heartbeat(self.run_id),
            on_stop=self._stopped_elsewhere,
            timeout=self.service.settings.heartbeat_timeout,
            finished=self._finished,
        ).start()

    def _stopped_elsewhere(self, status: str | None) -> None:
        """The run was cancelled (or ended by a supervisor): stop the kernel and this process."""
        self._finished.set()
        self.service.log.warning("run %s is %s: stopping its kernel", self.run_id, status)
        kill_children()
        self.cleanup()
        self.dispatch_next()
        os._exit(STOPPED_EXIT_CODE)

    # -- outputs ------------------------------------------------------------------------------

    def _store_output(self) -> dict[str, Any]:
        """Store the (possibly partial) output notebook; its sha256 and path under the root."""
        if not self.output_path.is_file():
            return {}
        try:
            sha = self.artifacts.put_file(self.output_path)
        except InsufficientStorage as err:
            return {"output_note": f"the output notebook could not be stored: {err.message}"}
        except Exception:  # partial output is a bonus, never a reason to lose the final state
            return {}
        values: dict[str, Any] = {"output_notebook_sha256": sha}
        if self.in_workspace:  # not the lab's disk: the lab fetches it when it is opened
            return values
        try:
            run = durable(self.service.get, self.run_id)
            values["output_notebook_path"] = self.service.write_output(
                self.run_id, run["notebook_path"], sha
            )
        except (Forbidden, InsufficientStorage) as err:
            # The run's outcome stands; its notebook is kept in the artifact store only.
            values["output_note"] = (
                f"the output notebook is kept in the artifact store only "
                f"(GET /mlops/api/runs/{self.run_id}/output): {err.message}"
            )
        except Exception:
            self.service.log.warning("could not write the output notebook under the root")
        return values

    def _comparison(self, run: dict[str, Any], output_sha: str | None) -> dict[str, Any]:
        original = self.service.get(run["reproduces_run_id"])

        def load(sha: str | None) -> dict[str, Any] | None:
            if not sha:
                return None
            return json.loads(self.artifacts.get_bytes(sha))

        return compare_runs(
            load(original["output_notebook_sha256"]),
            load(output_sha),
            original["provenance"],
            run["provenance"],
            original_run_id=original["id"],
        )

    # -- execution ----------------------------------------------------------------------------

    def execute(self, run: dict[str, Any]) -> int:
        self._start_heartbeat()  # first: fetching large inputs must not look like a lost worker
        input_path = self.workdir / "input.ipynb"
        self.artifacts.get_file(run["input_notebook_sha256"], input_path)
        if self.in_workspace:
            workspace.populate(self.service.root, run, self.artifacts)
        notebook = self.service.root / run["notebook_path"]
        cwd = notebook.parent if notebook.parent.is_dir() else self.workdir
        if run["timeout_seconds"]:
            threading.Thread(
                target=self._watchdog, args=(run["timeout_seconds"],), daemon=True
            ).start()
        ProgressEngine.reporter = self.report
        ProgressEngine.live = self.live = self._live_publisher()
        started = self.kernel_manager
        self.enforcement = Enforcement(
            RunLimits.of(run),
            f"mlops-run-{self.run_id}",
            kernel_pid=started.provisioner.pid if started is not None else None,
        )
        status, values = "succeeded", {}
        try:
            papermill.execute_notebook(
                str(input_path),
                str(self.output_path),
                parameters=run["parameters"] or None,
                kernel_name=run["kernel_name"],
                # The kernel's language, for notebooks that carry no language metadata.
                language=((run.get("provenance") or {}).get("kernel") or {}).get("language"),
                engine_name=ENGINE_NAME,
                cwd=str(cwd),
                progress_bar=False,
                log_output=False,
                start_timeout=KERNEL_START_TIMEOUT,
                **({"km": started} if started is not None else {}),
            )
        except PapermillExecutionError as err:
            status = "failed"
            values = {
                "error_cell_index": self._input_cell_index(err.cell_index),
                "error_ename": err.ename,
                "error_evalue": err.evalue,
                "status_reason": f"{err.ename} in cell {self._input_cell_index(err.cell_index)}",
            }
        except Exception as err:  # kernel died, kernel missing, unreadable notebook, ...
            status = "failed"
            values = {
                "error_ename": type(err).__name__,
                "error_evalue": str(err)[:4000],
                "status_reason": f"{type(err).__name__}: {str(err)[:200]}",
            }
        self._finished.set()
        values.update(self._usage(status, values))
        values.update(self._store_output())
        note = values.pop("output_note", None)
        if note:
            values.setdefault("status_reason", note)
        if status == "succeeded":
            values["current_cell"] = None
        language_version = self._language_version()
        if language_version and not (run["provenance"].get("kernel") or {}).get("language_version"):
            provenance = dict(run["provenance"])
            kernel = {**provenance.get("kernel", {}), "language_version": language_version}
            provenance["kernel"] = kernel
            values["provenance"] = provenance
        if run["reproduces_run_id"]:
            try:
                values["comparison"] = self._comparison(run, values.get("output_notebook_sha256"))
            except Exception as err:
                values["comparison"] = {"error": f"comparison failed: {err}"}
        self.finish(status, **values)
        return 0 if status == "succeeded" else 1

    def _usage(self, status: str, values: dict[str, Any]) -> dict[str, Any]:
        """Peak memory and CPU seconds; a run that failed for memory says so."""
        enforcement, self.enforcement = self.enforcement, None
        if enforcement is None:
            return {}
        usage = enforcement.finish()
        if status == "failed" and enforcement.out_of_memory(values.get("error_ename")):
            usage["status_reason"] = enforcement.limits.out_of_memory_reason()
        return usage

    def _output_nb(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.output_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _language_version(self) -> str | None:
        nb = self._output_nb()
        if nb is None:
            return None
        return (nb.get("metadata", {}).get("language_info") or {}).get("version")

    def _input_cell_index(self, output_index: int) -> int:
        """papermill's index counts its injected-parameters cell; users think of theirs."""
        nb = self._output_nb()
        if nb is None:
            return output_index
        injected = [
            i
            for i, cell in enumerate(nb.get("cells", []))
            if "injected-parameters" in cell.get("metadata", {}).get("tags", [])
        ]
        return output_index - sum(1 for i in injected if i < output_index)

    def dispatch_next(self) -> None:
        try:
            self.service.executor.launch([])
        except Exception:
            self.service.log.warning("could not start the next queued run", exc_info=True)

    def cleanup(self) -> None:
        self.progress.close(timeout=1.0)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _redirect_output(path: Path) -> None:
    """Point this process's stdout/stderr (and so the kernel's) at the run's log file."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def build_service(env: dict[str, str] | None = None) -> RunService:
    """The runs service of this worker, from the environment its executor gave it."""
    settings = RunSettings.from_environment(env)
    # The process that queued this run opened (and migrated) the store already: skip the
    # alembic check here, it is a good part of a worker's start-up time.
    return RunService(
        Database(settings.store_url, upgrade=False, busy_timeout=WORKER_BUSY_TIMEOUT),
        ArtifactStore(settings.artifact_root, settings.artifact_storage_options),
        settings,
        executor_factory=import_item(settings.executor_class),
        events=EventBus(),  # nobody in this process listens; the server polls the store
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(f"usage: python -m jupyterlab_mlops.runs.worker RUN_ID|{STANDBY}", file=sys.stderr)
        return 2
    service = build_service()
    run_id = args[0]
    if run_id == STANDBY:  # warm: imports done; wait for the executor to hand us a run
        run_id = sys.stdin.readline().strip()
        if not run_id:
            return 0
        _redirect_output(service.log_path(run_id))
    worker = Worker(
        service, run_id, in_workspace=bool(os.environ.get(workspace.WORKSPACE_VARIABLE))
    )
    try:
        run = worker.claim()
        if run is None:
            return 0  # cancelled before it started, or another process owns it
        os.environ["MLOPS_RUN_ID"] = run["id"]
        try:
            return worker.execute(run)
        except Exception as err:  # never leave the run "running" behind
            worker.finish(
                "failed",
                error_ename=type(err).__name__,
                error_evalue=str(err)[:4000],
                status_reason=f"the worker failed: {type(err).__name__}: {str(err)[:200]}",
            )
            raise
    finally:
        worker.cleanup()
        worker.dispatch_next()
        service.stop()
        service.db.dispose()


if __name__ == "__main__":
    sys.exit(main())
