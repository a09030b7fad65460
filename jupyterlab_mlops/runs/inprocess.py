"""Executing a run in the process that asked for it (``jupyter mlops run`` waiting for it).

A worker process costs a cold Python start-up and papermill's imports; a CLI that will wait for
its run anyway may execute it itself. It claims the run in the store exactly as a worker's
executor would (``RunQueue.claim_run``: a free slot of ``max_concurrent_runs`` and the run next
in the queue, serialised with every other claimer), so the queue and the concurrency limit hold;
if it cannot, the run goes to a worker as usual. The run is then executed by the same
:class:`~.worker.Worker`, with the same environment for its kernel, the same records, live
output and limits; the process is recognised as alive by its start time (``processes.py``).

:func:`start_kernel` starts the run's kernel *before* the run is validated and recorded (the
run id is chosen first, so the kernel's environment is the run's), so the kernel's start-up
overlaps validation, provenance and the claim; a run that is refused or cannot start here shuts
it down again.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..paths import resolve_in_root
from ..store.models import new_id
from .processes import kill_children

if TYPE_CHECKING:
    from .service import RunService
    from .settings import RunSettings

#: seconds between two progress reads while the run executes here
PROGRESS_SECONDS = 0.25


class EarlyKernel:
    """A kernel started for a run that is not recorded yet (its id chosen in advance)."""

    def __init__(self, manager: Any, run_id: str):
        self.manager = manager
        self.run_id = run_id

    def shutdown(self) -> None:
        from jupyter_core.utils import run_sync

        try:
            run_sync(self.manager.shutdown_kernel)(now=True)
        except Exception:  # already gone
            kill_children()


def start_kernel(settings: RunSettings, notebook_path: str, kernel_name: str | None) -> EarlyKernel:
    """Start the kernel a run of ``notebook_path`` will use, with that run's environment and
    working directory (the run is then submitted with ``EarlyKernel.run_id``). It needs the
    settings only, not the store, so it can start before the services are built."""
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    run_id = new_id()
    notebook = resolve_in_root(settings.root_dir, notebook_path)
    if kernel_name is None:
        metadata = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {})
        kernel_name = (metadata.get("kernelspec") or {}).get("name") or "python3"
    cwd = notebook.parent if notebook.parent.is_dir() else Path.cwd()
    manager = AsyncKernelManager(kernel_name=kernel_name)
    run_sync(manager.start_kernel)(env=settings.worker_environment(run_id), cwd=str(cwd))
    return EarlyKernel(manager, run_id)


def execute_here(
    service: RunService,
    run_id: str,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    kernel: EarlyKernel | None = None,
) -> dict[str, Any] | None:
    """Execute the queued run ``run_id`` in this process if it may start now (with ``kernel``,
    started for it, if given); its final record, or None (then it is handed to the executor).
    Ctrl-C cancels it (its kernel runs under this process)."""
    # papermill is imported here, not with this module: the early kernel starts meanwhile.
    from .worker import Worker

    if not service.claim_here(run_id):
        if kernel is not None:
            kernel.shutdown()
        service.executor.launch([])
        return None
    run = service.get(run_id)
    if kernel is not None and kernel.manager.kernel_name != run["kernel_name"]:
        kernel.shutdown()  # the submission resolved another kernel than the one started
        kernel = None
    saved = dict(os.environ)
    os.environ.update(service.worker_environment(run_id))  # the kernel inherits it
    worker = Worker(service, run_id)
    if kernel is not None:
        worker.kernel_manager = kernel.manager
    outcome: dict[str, BaseException] = {}

    def execute() -> None:
        try:
            worker.execute(run)
        except BaseException as err:  # recorded below, re-raised in the caller's thread
            outcome["error"] = err

    thread = threading.Thread(target=execute, name=f"mlops-run-{run_id}", daemon=True)
    try:
        thread.start()
        while thread.is_alive():
            if on_progress is not None:
                on_progress(service.get(run_id))
            thread.join(PROGRESS_SECONDS)
    except KeyboardInterrupt:
        service.finish(run_id, "cancelled", status_reason="interrupted (Ctrl-C)")
        kill_children()
        raise
    finally:
        if kernel is not None:
            kernel.shutdown()
        os.environ.clear()
        os.environ.update(saved)
        worker.cleanup()
        worker.dispatch_next()
    if "error" in outcome:
        err = outcome["error"]
        service.finish(
            run_id,
            "failed",
            error_ename=type(err).__name__,
            error_evalue=str(err)[:4000],
            status_reason=f"the run failed: {type(err).__name__}: {str(err)[:200]}",
        )
    run = service.get(run_id)
    if on_progress is not None:
        on_progress(run)
    return run
