"""Scale-out: run workers on a Dask ``distributed`` cluster.

Each run becomes one Dask task that starts the same worker process (``python -m
jupyterlab_mlops.runs.worker RUN_ID``) on a Dask worker, so execution, progress, timeouts and
provenance are identical to local runs; the cluster decides concurrency. The worker claims its
queued run itself, so a task that starts after the run was cancelled does nothing.
"""

from __future__ import annotations

import os
import subprocess
import threading
from typing import Any

from ...errors import Unavailable
from .base import Executor, _parse_time, kill_process_tree, this_host, worker_command

CONNECT_TIMEOUT = "5s"


def execute_run(run_id: str, environment: dict[str, str]) -> int:
    """The Dask task: run the worker process to completion; its exit code is the result."""
    completed = subprocess.run(
        worker_command(run_id),
        env={**os.environ, **environment},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        check=False,
    )
    return completed.returncode


class DaskExecutor(Executor):
    name = "dask"

    def __init__(self, service):
        super().__init__(service)
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
        address = self.mlops.dask_scheduler_address
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
        from distributed import fire_and_forget

        client = self._get_client()
        for run_id in run_ids:
            future = client.submit(
                execute_run,
                run_id,
                self.service.worker_environment(run_id),
                key=f"mlops-run-{run_id}",
                pure=False,
            )
            fire_and_forget(future)

    def kill(self, run: dict[str, Any]) -> bool:
        killed = False
        if run.get("host") == this_host():
            killed = kill_process_tree(
                run.get("pid"), _parse_time(run.get("started_at")), run_id=run["id"]
            )
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
