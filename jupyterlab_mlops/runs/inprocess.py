"""Executing a run in the process that asked for it (``jupyter mlops run`` waiting for it).

A worker process costs a cold Python start-up and papermill's imports; a CLI that will wait for
its run anyway may execute it itself. It claims the run in the store exactly as a worker's
executor would (``RunQueue.claim_run``: a free slot of ``max_concurrent_runs`` and the run next
in the queue, serialised with every other claimer), so the queue and the concurrency limit hold;
if it cannot, the run goes to a worker as usual. The run is then executed by the same
:class:`~.worker.Worker`, with the same environment for its kernel, the same records, live
output and limits; the process is recognised as alive by its start time (``processes.py``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from .processes import kill_children
from .service import RunService
from .worker import Worker

#: seconds between two progress reads while the run executes here
PROGRESS_SECONDS = 0.25


def execute_here(
    service: RunService,
    run_id: str,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any] | None:
    """Execute the queued run ``run_id`` in this process if it may start now; its final
    record, or None (then it is handed to the executor). Ctrl-C cancels it (its kernel runs
    under this process)."""
    if not service.claim_here(run_id):
        service.executor.launch([])
        return None
    saved = dict(os.environ)
    os.environ.update(service.worker_environment(run_id))  # the kernel inherits it
    worker = Worker(service, run_id)
    outcome: dict[str, BaseException] = {}

    def execute() -> None:
        try:
            worker.execute(service.get(run_id))
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
