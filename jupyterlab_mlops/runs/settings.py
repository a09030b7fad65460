"""The settings of the runs domain, as one frozen value (``RunSettings``).

In the server, the CLI and the magics ``app.py`` builds it from the ``MLOps`` traits; a worker
process builds it from its environment (:meth:`RunSettings.from_environment`), which the
executor that started it wrote with :meth:`RunSettings.worker_environment` — so a worker, and the
kernel it starts, open the same store without importing the composition root.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MLOpsError
from .limits import RunLimits, check_limits

DEFAULT_EXECUTOR = "jupyterlab_mlops.runs.executors.local.LocalExecutor"
DEFAULT_OUTPUT_DIR = "mlops-runs"
DEFAULT_MAX_CONCURRENT = 2
DEFAULT_HEARTBEAT_TIMEOUT = 60.0

#: what a worker needs to find the store; set by every executor, required by the worker
STORE_VARIABLES = ("MLOPS_ROOT_DIR", "MLOPS_STORE_URL", "MLOPS_ARTIFACT_ROOT")
#: never inherited by a worker from the process that starts it
NOT_INHERITED = ("MLOPS_RUN_ID", "JPY_SESSION_NAME")
#: paths on the lab's machine: never sent to a worker that does not share its disk
LOCAL_PATH_VARIABLES = ("MLOPS_ROOT_DIR", "MLOPS_OUTPUT_DIR")


@dataclass(frozen=True)
class RunSettings:
    """Where runs read and write, and how many may execute at once."""

    root_dir: Path
    store_url: str
    artifact_root: str
    output_dir: str = DEFAULT_OUTPUT_DIR
    default_timeout: float = 0.0
    max_concurrent_runs: int = DEFAULT_MAX_CONCURRENT
    executor_class: str = DEFAULT_EXECUTOR
    dask_scheduler_address: str = ""
    #: default limits of a run (``c.MLOps.run_memory_limit``, ``c.MLOps.run_cpus``)
    run_memory_limit: str = ""
    run_cpus: float = 0.0

    @property
    def default_limits(self) -> RunLimits:
        return check_limits(self.run_memory_limit or None, self.run_cpus or None, RunLimits())

    #: handed to fsspec with ``artifact_root`` (an S3 endpoint, credentials)
    artifact_storage_options: dict = field(default_factory=dict)
    #: a run on another machine whose worker has not beaten for this long is failed
    heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT

    @property
    def data_dir(self) -> Path:
        return self.root_dir / ".mlops"

    @property
    def log_dir(self) -> Path:
        """Worker logs (papermill/kernel start-up problems land here)."""
        return self.data_dir / "logs" / "runs"

    def log_path(self, name: str) -> Path:
        path = self.log_dir / f"{name}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def output_location(self, run_id: str, notebook_path: str) -> Path:
        """``<root>/<output_dir>/<run_id>/<notebook name>`` — visible in the lab's file browser."""
        root = self.root_dir.resolve()
        base = Path(os.path.normpath(root / self.output_dir))
        if base != root and root not in base.parents:
            raise MLOpsError(f"c.MLOps.output_dir {self.output_dir!r} is outside the server root")
        # Not resolved here: the writer (paths.write_in_root) refuses a symlink leaving the root.
        return base / run_id / Path(notebook_path).name

    def store_environment(self) -> dict[str, str]:
        env = {
            "MLOPS_ROOT_DIR": str(self.root_dir.resolve()),
            "MLOPS_STORE_URL": self.store_url,
            "MLOPS_ARTIFACT_ROOT": self.artifact_root,
        }
        if self.artifact_storage_options:
            env["MLOPS_ARTIFACT_STORAGE_OPTIONS"] = json.dumps(self.artifact_storage_options)
        return env

    def worker_variables(self) -> dict[str, str]:
        """The ``MLOPS_*`` variables a worker is started with (its settings, in short)."""
        return {
            **self.store_environment(),
            "MLOPS_OUTPUT_DIR": self.output_dir,
            "MLOPS_MAX_CONCURRENT_RUNS": str(self.max_concurrent_runs),
            "MLOPS_EXECUTOR_CLASS": self.executor_class,
            "MLOPS_DASK_SCHEDULER_ADDRESS": self.dask_scheduler_address,
            "MLOPS_RUN_HEARTBEAT_TIMEOUT": f"{self.heartbeat_timeout:g}",
            "PYTHONUNBUFFERED": "1",
        }

    def worker_environment(
        self, run_id: str | None, base: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Environment of a worker process (and of its kernel, which inherits it).

        ``base`` defaults to this process's environment. ``run_id`` is None for a standby
        worker, which sets ``MLOPS_RUN_ID`` itself when it is handed a run.
        """
        return worker_environment(self.worker_variables(), run_id, base)

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> RunSettings:
        """The settings a worker was started with (see :meth:`worker_environment`)."""
        env = os.environ if env is None else env
        missing = [name for name in STORE_VARIABLES if not env.get(name)]
        if missing:
            raise MLOpsError(
                f"a run worker needs {', '.join(missing)} in its environment "
                "(set by the executor that starts it)"
            )
        return cls(
            root_dir=Path(env["MLOPS_ROOT_DIR"]),
            store_url=env["MLOPS_STORE_URL"],
            artifact_root=env["MLOPS_ARTIFACT_ROOT"],
            output_dir=env.get("MLOPS_OUTPUT_DIR") or DEFAULT_OUTPUT_DIR,
            max_concurrent_runs=int(env.get("MLOPS_MAX_CONCURRENT_RUNS") or DEFAULT_MAX_CONCURRENT),
            executor_class=env.get("MLOPS_EXECUTOR_CLASS") or DEFAULT_EXECUTOR,
            dask_scheduler_address=env.get("MLOPS_DASK_SCHEDULER_ADDRESS") or "",
            artifact_storage_options=_storage_options(env.get("MLOPS_ARTIFACT_STORAGE_OPTIONS")),
            heartbeat_timeout=float(
                env.get("MLOPS_RUN_HEARTBEAT_TIMEOUT") or DEFAULT_HEARTBEAT_TIMEOUT
            ),
        )


def _storage_options(value: str | None) -> dict:
    if not value:
        return {}
    options = json.loads(value)
    if not isinstance(options, dict):
        raise MLOpsError("MLOPS_ARTIFACT_STORAGE_OPTIONS must be a JSON object")
    return options


def heartbeat_interval(timeout: float) -> float:
    """Seconds between a worker's heartbeats: several beats fit in the timeout."""
    return min(5.0, max(0.5, timeout / 4))


def remote_variables(variables: Mapping[str, str], run_id: str) -> dict[str, str]:
    """What a worker on a machine without the lab's disk is sent: the ``MLOPS_*`` variables
    that name the store and the artifact store, and the run; no local path."""
    env = {k: v for k, v in variables.items() if k not in LOCAL_PATH_VARIABLES}
    env["MLOPS_RUN_ID"] = run_id
    return env


def worker_environment(
    variables: Mapping[str, str], run_id: str | None, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``base`` (default: this process's environment) with a worker's ``variables`` and run."""
    env = dict(os.environ if base is None else base)
    for name in NOT_INHERITED:
        env.pop(name, None)
    env.update(variables)
    if run_id is not None:
        env["MLOPS_RUN_ID"] = run_id
    return env
