"""Heartbeats: runs on other hosts are judged by their worker's heartbeat, runs on this host by
their process (so heartbeats never fail a healthy local run); a local worker beats too.

The runs "on another host" are rows whose host names another machine — what a Dask worker
records — set up in the store; the remote end to end (a real ``kill -9`` of a Dask worker) is
``test_runs_dask_cluster.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from _runs_support import RUN_DEADLINE, ok_notebook
from sqlalchemy import select, update

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.runs.executors.base import Executor
from jupyterlab_mlops.store.models import Run


class HeldExecutor(Executor):
    """Starts nothing: the test moves its runs to ``running`` "on another host" itself."""

    name = "held"

    def launch(self, run_ids: list[str]) -> None:
        return None


def running_elsewhere(mlops: MLOps, run_id: str, *, silent_for: float | None) -> None:
    now = datetime.now(timezone.utc)
    beat = None if silent_for is None else now - timedelta(seconds=silent_for)
    with mlops.db.session() as session:
        session.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(
                status="running",
                host="dask-worker-elsewhere",
                pid=4242,
                started_at=now - timedelta(seconds=120),
                heartbeat_at=beat,
            )
        )


def test_a_silent_remote_run_is_failed_as_lost_and_a_beating_one_is_left(tmp_path, store_url):
    ok_notebook(tmp_path)
    mlops = MLOps(
        root_dir=str(tmp_path),
        store_url=store_url,
        executor_class=HeldExecutor,
        run_heartbeat_timeout=30,
    )
    lost, alive, never_beat = (mlops.runs.submit("ok.ipynb")["id"] for _ in range(3))
    running_elsewhere(mlops, lost, silent_for=45)
    running_elsewhere(mlops, alive, silent_for=2)
    running_elsewhere(mlops, never_beat, silent_for=None)  # counts from its start, 120 s ago
    mlops.runs.tick()
    failed = mlops.runs.get(lost)
    assert failed["status"] == "failed"
    assert failed["status_reason"].startswith("worker lost: no heartbeat for 4")
    assert failed["status_reason"].endswith(" s")
    assert mlops.runs.get(never_beat)["status"] == "failed"
    assert mlops.runs.get(alive)["status"] == "running"
    # the worker's own beat keeps it running, and tells it when the run is over elsewhere
    assert mlops.runs.heartbeat(alive) == "running"
    mlops.runs.cancel(alive)
    assert mlops.runs.heartbeat(alive) == "cancelled"
    assert mlops.runs.heartbeat("no-such-run") is None
    mlops.stop()


def test_local_runs_are_not_judged_by_heartbeats_and_their_workers_beat(tmp_path):
    ok_notebook(tmp_path)
    # A timeout no heartbeat can meet: a local run still succeeds (its process is watched).
    mlops = MLOps(root_dir=str(tmp_path), run_heartbeat_timeout=0.01)
    run = mlops.runs.submit("ok.ipynb", {"x": 4})
    final = mlops.runs.wait(run["id"], timeout=RUN_DEADLINE)
    assert final["status"] == "succeeded", final
    assert final["metrics"] == {"score": 8.0}
    with mlops.db.session() as session:
        beat = session.scalar(select(Run.heartbeat_at).where(Run.id == run["id"]))
    assert beat is not None  # the worker beat while it ran
    assert datetime.fromisoformat(final["started_at"]) <= beat
    mlops.stop()
