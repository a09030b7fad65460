"""Scale-out: run workers on a Dask ``distributed`` cluster that shares no disk with the lab.

Each run becomes one Dask task that starts the same worker process (``python -m
jupyterlab_mlops.runs.worker RUN_ID``) on a Dask worker, so execution, progress, timeouts and
provenance are identical to local runs; the cluster decides concurrency. The task carries only
the run id and the ``MLOPS_*`` variables of the store and the artifact store — no path of the
lab's machine: the worker runs in a private workspace filled from the artifact store
(``runs/workspace.py``) and writes everything back through the stores. The worker claims its
queued run itself, so a task that starts after the run was cancelled (or that Dask re-runs after
losing a worker) does nothing. A cancel cancels the task, and reaches a running worker through
its heartbeat, which reads the run's status; a lost worker is failed by its missing heartbeat.
"""

from __future__ import annotations

import os
import subprocess
import threading
from typing import Any

from ...errors import Unavailable
from .. import workspace
from ..processes import kill_process_tree, parse_time, this_host, worker_command
from .base import Executor, ExecutorContext

CONNECT_TIMEOUT = "5s"


def execute_run(run_id: str, variables: dict[str, str]) -> int:
    """The Dask task: run the worker process in a fresh workspace; its exit code is the result.

    The Dask worker's own environment (``HOME``, ``AWS_*`` …) is the base; ``variables`` name
    the store and the artifact store; the workspace is the worker's root and working directory.
    """
    directory = workspace.create(run_id)
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")},
        **variables,
        "MLOPS_ROOT_DIR": str(directory),
        workspace.WORKSPACE_VARIABLE: "1",
    }
    try:
        completed = subprocess.run(
            worker_command(run_id),
            env=environment,
            cwd=str(directory),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            check=False,
        )
        return completed.returncode
    finally:
        workspace.remove(directory)


class DaskExecutor(Executor):
    name = "dask"
    claims_for_workers = False

    def __init__(self, context: ExecutorContext):
        super().__init__(context)
        self._client: Any = None
        self._lock = threading.Lock()

    def _get_client(self) -> Any:
        try:
            from distributed import Client
        except ImportError:
            raise Unavailable(
                "the Dask executor needs the 'distributed' package: "
                "pip install 'jupyterlab_mlops[dask]'"
            ) from None
        address = self.context.dask_scheduler_address
        if not address:
            raise Unavailable(
                "the Dask executor needs a scheduler address: set c.MLOps.dask_scheduler_address "
                "or MLOPS_DASK_SCHEDULER_ADDRESS"
            )
        with self._lock:
            if self._client is not None and self._client.status == "running":
                return self._client
            try:
                self._client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
            except (OSError, TimeoutError) as err:
                raise Unavailable(f"cannot reach the Dask scheduler at {address}: {err}") from None
            return self._client

    def check_available(self) -> None:
        self._get_client()

    def launch(self, run_ids: list[str]) -> None:
        if not run_ids:  # the cluster schedules queued work itself
            return
        try:
            client = self._get_client()
        except Unavailable as err:  # the runs are recorded: say why they will never start
            for run_id in run_ids:
                self.context.fail_run(run_id, f"could not hand the run to Dask: {err.message}")
            raise
        from distributed import fire_and_forget

        for run_id in run_ids:
            future = client.submit(
                execute_run,
                run_id,
                self.context.remote_environment_for(run_id),
                key=f"mlops-run-{run_id}",
                pure=False,
            )
            fire_and_forget(future)

    def kill(self, run: dict[str, Any]) -> bool:
        killed = False
        if run.get("host") == this_host():
            killed = kill_process_tree(run.get("pid"), parse_time(run.get("started_at")), run["id"])
        try:
            from distributed import Future

            Future(f"mlops-run-{run['id']}", self._get_client()).cancel()
        except Exception:  # the task may already be gone; the worker exits on its own
            pass
        return killed

    def stop(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
