"""The executor interface, and the context an executor is given instead of a service.

The queue lives in the database, so the server, the CLI and workers can all hand runs to an
executor; an executor only decides *where and when* a queued run's worker process starts
(``python -m jupyterlab_mlops.runs.worker RUN_ID``). It knows the store only through its
:class:`ExecutorContext`: where things are, the workers' environment, the concurrency limit, and
two narrow callables into the queue (claim the next queued run, mark a run failed). The context
is replaced as a whole when settings change (``executor.context = …``); executors read it
afresh each time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..processes import kill_process_tree, parse_time, this_host
from ..settings import remote_variables, worker_environment

#: ``claim_next(executor_name, limit, start) -> run id | None``; ``start(run_id) -> pid``
ClaimNext = Callable[[str, int, Callable[[str], int]], "str | None"]
#: ``fail_run(run_id, reason) -> bool``
FailRun = Callable[[str, str], bool]


@dataclass(frozen=True)
class ExecutorContext:
    """What an executor may know and do; built by ``RunService`` from its settings."""

    root_dir: Path
    store_url: str
    artifact_root: str
    log_dir: Path
    #: the ``MLOPS_*`` variables of every worker (see :meth:`environment_for`)
    worker_variables: Mapping[str, str]
    max_concurrent: int
    dask_scheduler_address: str
    claim_next: ClaimNext
    fail_run: FailRun
    #: a long-lived process (the server): keep a warm standby worker
    keep_standby: bool = False

    def environment_for(self, run_id: str | None) -> dict[str, str]:
        """The environment of the worker for ``run_id`` (None: a standby worker): this
        process's environment, as it is now, with the workers' variables."""
        return worker_environment(self.worker_variables, run_id)

    def remote_environment_for(self, run_id: str) -> dict[str, str]:
        """All a worker on another machine is told: the run and the ``MLOPS_*`` variables of
        the store and the artifact store — no local path, nothing else of this process."""
        return remote_variables(self.worker_variables, run_id)

    def log_path(self, name: str) -> Path:
        """The worker's own log (papermill/kernel start-up problems land here)."""
        path = self.log_dir / f"{name}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


class Executor(ABC):
    """Starts worker processes for queued runs. One instance per ``RunService``."""

    #: stored in ``Run.executor``; a run is only ever handled by executors of its kind
    name: str = "base"
    #: True: this executor claims runs for its workers (records their pid when starting them);
    #: False: its workers claim their queued run themselves when they start
    claims_for_workers: bool = False

    def __init__(self, context: ExecutorContext):
        self.context = context

    def check_available(self) -> None:
        """Raise ``Unavailable`` when runs cannot be executed (checked before recording one)."""
        return None

    @abstractmethod
    def launch(self, run_ids: list[str]) -> None:
        """Newly queued runs exist: start what may start now (the rest stays queued)."""

    def tick(self) -> None:
        """Periodic housekeeping (reap children, start queued runs)."""
        return None

    def kill(self, run: dict[str, Any]) -> bool:
        """Stop a running run's process tree. The run's state was already updated."""
        if run.get("host") != this_host():
            return False
        return kill_process_tree(run.get("pid"), parse_time(run.get("started_at")), run["id"])

    def stop(self) -> None:
        """Release resources (connections); running workers keep running."""
        return None
