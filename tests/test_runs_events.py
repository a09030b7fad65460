"""``RUN_FINISHED``: published once per run by each process that sees the run finish.

Real runs in worker subprocesses, a real SQLite store; the server case goes through a real
Jupyter server, whose scheduler runs the ``runs.queue`` job.
"""

from __future__ import annotations

import os
import signal

import pytest
from _runs_support import (
    RUN_DEADLINE,
    fetch_json,
    gone,
    ok_notebook,
    sleepy_notebook,
    wait_for,
)

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.events import RUN_FINISHED


def recording(mlops: MLOps) -> list[dict]:
    seen: list[dict] = []
    mlops.events.subscribe(RUN_FINISHED, lambda event: seen.append(dict(event.payload)))
    return seen


@pytest.fixture
def mlops(tmp_path):
    instance = MLOps(root_dir=str(tmp_path), max_concurrent_runs=1)
    yield instance
    for item in instance.runs.list(0, 500, status="queued,running", kind="batch")["items"]:
        instance.runs.cancel(item["id"])
    instance.stop()


def test_a_run_finished_by_its_worker_is_announced_once_by_each_process(mlops, tmp_path):
    ok_notebook(tmp_path)
    seen = recording(mlops)
    run = mlops.runs.submit("ok.ipynb", {"x": 3}, trigger="deploy")
    # another process on the same store, started before the run finishes
    other = MLOps(root_dir=str(tmp_path))
    other_seen = recording(other)
    other.runs.tick()
    final = mlops.runs.wait(run["id"], timeout=RUN_DEADLINE)
    assert final["status"] == "succeeded"
    for _ in range(3):
        mlops.runs.tick()
    expected = {
        "run_id": run["id"],
        "status": "succeeded",
        "notebook_path": "ok.ipynb",
        "trigger": "deploy",
    }
    assert seen == [expected]
    # ... sees it too, once
    other.runs.tick()
    other.runs.tick()
    assert other_seen == [expected]
    other.stop()


def test_runs_finished_before_this_process_started_are_not_announced(mlops, tmp_path):
    ok_notebook(tmp_path)
    run = mlops.runs.submit("ok.ipynb")
    assert mlops.runs.wait(run["id"], timeout=RUN_DEADLINE)["status"] == "succeeded"
    later = MLOps(root_dir=str(tmp_path))
    seen = recording(later)
    later.runs.tick()
    assert seen == []
    later.stop()


def test_cancel_is_announced_at_once_and_never_again(mlops, tmp_path):
    ok_notebook(tmp_path)
    sleepy_notebook(tmp_path)
    seen = recording(mlops)
    blocker = mlops.runs.submit("sleepy.ipynb")  # the limit is 1: the next one stays queued
    queued = mlops.runs.submit("ok.ipynb")
    assert mlops.runs.get(queued["id"])["status"] == "queued"
    mlops.runs.cancel(queued["id"], user="bob")
    assert seen == [
        {
            "run_id": queued["id"],
            "status": "cancelled",
            "notebook_path": "ok.ipynb",
            "trigger": "user",
        }
    ]
    mlops.runs.cancel(blocker["id"])
    mlops.runs.tick()
    mlops.runs.tick()
    assert [(e["run_id"], e["status"]) for e in seen] == [
        (queued["id"], "cancelled"),
        (blocker["id"], "cancelled"),
    ]


def test_recovery_and_timeouts_are_announced(mlops, tmp_path):
    sleepy_notebook(tmp_path)
    run = mlops.runs.submit("sleepy.ipynb")
    pid_file = tmp_path / "kernel.pid"

    def running():
        mlops.runs.tick()
        current = mlops.runs.get(run["id"])
        return current if current["status"] == "running" and pid_file.is_file() else None

    current = wait_for(running)
    kernel_pid = int(pid_file.read_text())
    for pid in (current["pid"], kernel_pid):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: gone(current["pid"]) and gone(kernel_pid), deadline=30)
    restarted = MLOps(root_dir=str(tmp_path))
    seen = recording(restarted)
    assert restarted.runs.recover() == [run["id"]]
    restarted.runs.tick()
    assert seen == [
        {
            "run_id": run["id"],
            "status": "failed",
            "notebook_path": "sleepy.ipynb",
            "trigger": "user",
        }
    ]
    restarted.stop()
    # a timeout: the worker records it; this process's tick announces it
    pid_file.unlink()
    seen = recording(mlops)
    timed = mlops.runs.submit("sleepy.ipynb", timeout=2)
    assert mlops.runs.wait(timed["id"], timeout=RUN_DEADLINE)["status"] == "timed_out"
    mlops.runs.tick()
    assert [(e["run_id"], e["status"]) for e in seen if e["run_id"] == timed["id"]] == [
        (timed["id"], "timed_out")
    ]


async def test_the_servers_queue_job_announces_runs_finished_by_workers(
    jp_fetch, jp_root_dir, jp_serverapp
):
    import asyncio
    import time

    mlops = jp_serverapp.web_app.settings["mlops"]
    assert mlops.scheduler.jobs["runs.queue"].interval == mlops.runs.tick_seconds
    seen = recording(mlops)
    ok_notebook(jp_root_dir)
    _, run = await fetch_json(
        jp_fetch, "runs", method="POST", body={"notebook_path": "ok.ipynb", "parameters": {"x": 2}}
    )
    deadline = time.monotonic() + RUN_DEADLINE
    while not seen:  # nobody calls tick here but the server's scheduler
        assert time.monotonic() < deadline, "RUN_FINISHED never came"
        await asyncio.sleep(0.2)
    assert seen == [
        {"run_id": run["id"], "status": "succeeded", "notebook_path": "ok.ipynb", "trigger": "user"}
    ]
    _, final = await fetch_json(jp_fetch, "runs", run["id"])
    assert final["status"] == "succeeded"
