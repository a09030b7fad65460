"""Watching running runs: timeouts, dead workers and kernels, and recovery after a restart.

A run on this host whose process is gone is failed (a worker that died, a kernel that ended
without closing its interactive run, or — at server start — whatever a crash left behind); a
batch run past its timeout (plus a grace period, the worker enforces the timeout itself first)
is marked ``timed_out`` and its process tree killed. This host cannot see the processes of runs
on other hosts (Dask workers, another lab): their workers beat every few seconds
(``runs/heartbeat.py``), and :func:`check_heartbeats` fails a batch run whose worker has been
silent for longer than the heartbeat timeout — its machine or worker was lost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from .processes import kill_process_tree, process_alive, this_host
from .records import RunRecords

TIMEOUT_GRACE_SECONDS = 10.0
SERVER_RESTARTED = "server restarted"
WORKER_LOST = "worker lost: no heartbeat for {seconds:.0f} s"

#: ``finish(run_id, status, status_reason=…) -> bool`` (False: it was already final)
Finish = Callable[..., bool]


class Supervisor:
    def __init__(self, records: RunRecords, finish: Finish):
        self.records = records
        self.finish = finish

    def check(self, reason: str | None = None) -> list[str]:
        """Fail dead runs, time out overdue ones; the ids of the runs it finished.

        ``reason`` replaces the recorded reason for dead runs (``"server restarted"``).
        """
        now = datetime.now(timezone.utc)
        changed = []
        for run_id, kind, pid, started_at, timeout in self.records.running_on(this_host()):
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
        return changed


def check_heartbeats(records: RunRecords, finish: Finish, timeout: float) -> list[str]:
    """Fail the batch runs on other hosts whose worker has not beaten for ``timeout`` seconds
    (a run claimed but not yet beating counts from its start); the ids of the runs it failed."""
    now = datetime.now(timezone.utc)
    failed = []
    for run_id, started_at, heartbeat_at in records.running_elsewhere(this_host()):
        last = heartbeat_at or started_at
        if last is None:
            continue
        silent = (now - last).total_seconds()
        if silent > timeout and finish(
            run_id, "failed", status_reason=WORKER_LOST.format(seconds=silent)
        ):
            failed.append(run_id)
    return failed
