"""``jupyter mlops scheduler`` as a real process on a real store with no Jupyter server: it fires
a schedule, logs the fire, stops cleanly on SIGTERM/SIGINT; ``--once`` run twice at the same time
fires a due schedule exactly once (the fire time is claimed in the store)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from _runs_support import RUN_DEADLINE, came_due, wait_for, write_notebook

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.workflows.schemas import ScheduleCreate

UTC = timezone.utc
FIRE_DEADLINE = 150.0  # an every-minute schedule fires within 60 s; the machine is shared
STOP_DEADLINE = 60.0


def environment(root: Path, store_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
    env["MLOPS_ROOT_DIR"] = str(root)
    if store_url:
        env["MLOPS_STORE_URL"] = store_url
    env.update(extra)
    return env


def scheduler(root: Path, log: Path, *args: str, env: dict[str, str]) -> subprocess.Popen:
    with open(log, "ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "jupyterlab_mlops.cli", "scheduler", *args],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(root),
        )


def stop(process: subprocess.Popen) -> None:
    """Tear-down of a test that failed half-way: never leave the process behind."""
    if process.poll() is None:
        process.kill()
        process.wait(STOP_DEADLINE)


@pytest.fixture
def notebook(tmp_path):
    write_notebook(tmp_path / "train.ipynb", ["print('C is', C)"], parameters="C = 1.0")
    return "train.ipynb"


def runs_of(mlops: MLOps, schedule_id: str) -> list[dict]:
    return mlops.runs.list(limit=500, schedule_id=schedule_id)["items"]


def finished(mlops: MLOps, run_id: str) -> dict:
    def check():
        run = mlops.runs.get(run_id)
        return run if run["status"] in ("succeeded", "failed", "cancelled", "timed_out") else None

    return wait_for(check, RUN_DEADLINE)


def test_the_scheduler_fires_an_every_minute_schedule_and_stops_on_sigterm(tmp_path, notebook):
    mlops = MLOps(root_dir=str(tmp_path), run_scheduler=False)
    created = mlops.schedules.create(
        ScheduleCreate(notebook_path=notebook, cron="* * * * *", parameters={"C": 0.25})
    )
    log = tmp_path / "scheduler.log"
    # The servers of this store leave the jobs to the scheduler: it runs them all the same.
    process = scheduler(tmp_path, log, env=environment(tmp_path, MLOPS_RUN_SCHEDULER="false"))
    try:
        run = wait_for(lambda: (runs_of(mlops, created["id"]) or [None])[-1], FIRE_DEADLINE)
        assert run["trigger"] == "schedule" and run["parameters"] == {"C": 0.25}
        assert finished(mlops, run["id"])["status"] == "succeeded"
        fire_time = run["trigger_details"]["fire_time"]
        assert datetime.fromisoformat(fire_time).second == 0  # a cron time, not "now"
        line = wait_for(
            lambda: next(
                (
                    line
                    for line in log.read_text().splitlines()
                    if f"schedule {created['id']} fired" in line
                ),
                None,
            ),
            STOP_DEADLINE,
        )
        assert run["id"] in line and fire_time in line and "train.ipynb" in line

        process.send_signal(signal.SIGTERM)
        assert process.wait(STOP_DEADLINE) == 0, log.read_text()
    finally:
        stop(process)
    text = log.read_text()
    assert "scheduler started" in text and "workflows.schedules" in text
    assert "SIGTERM received: stopping" in text and text.rstrip().endswith("scheduler stopped")
    assert "Traceback" not in text
    fires = mlops.schedules.fires(created["id"])["items"]
    assert len({f["fire_time"] for f in fires}) == len(fires)  # never two runs for one time


def test_sigint_stops_it_cleanly_too(tmp_path):
    log = tmp_path / "scheduler.log"
    process = scheduler(tmp_path, log, env=environment(tmp_path))
    try:
        wait_for(lambda: "scheduler started" in log.read_text(), STOP_DEADLINE)
        process.send_signal(signal.SIGINT)
        assert process.wait(STOP_DEADLINE) == 0, log.read_text()
    finally:
        stop(process)
    text = log.read_text()
    assert "SIGINT received: stopping" in text and "Traceback" not in text


def test_once_run_twice_at_the_same_time_fires_a_due_schedule_once(tmp_path, notebook, store_url):
    mlops = MLOps(root_dir=str(tmp_path), store_url=store_url, run_scheduler=False)
    # Due once a day, at this very minute, which has begun: no later fire time can be confused
    # with it. The fire time came a moment ago while no scheduler ran (``came_due``).
    at = datetime.now(UTC).replace(second=0, microsecond=0)
    created = mlops.schedules.create(
        ScheduleCreate(
            notebook_path=notebook,
            cron=f"{at.minute} {at.hour} * * *",
            timezone="UTC",
            parameters={"C": 3.0},
        )
    )
    assert datetime.fromisoformat(created["next_fire_at"]) == at + timedelta(days=1)
    came_due(mlops, created["id"], at)

    env = environment(tmp_path, store_url)
    logs = [tmp_path / "once-1.log", tmp_path / "once-2.log"]
    processes = [scheduler(tmp_path, log, "--once", env=env) for log in logs]
    try:
        codes = [process.wait(RUN_DEADLINE) for process in processes]
    finally:
        for process in processes:
            stop(process)
    assert codes == [0, 0], [log.read_text() for log in logs]

    fires = mlops.schedules.fires(created["id"])["items"]
    assert len(fires) == 1 and datetime.fromisoformat(fires[0]["fire_time"]) == at
    runs = runs_of(mlops, created["id"])
    assert [r["id"] for r in runs] == [fires[0]["run_id"]]
    assert runs[0]["parameters"] == {"C": 3.0} and runs[0]["trigger"] == "schedule"
    fired = [log for log in logs if f"schedule {created['id']} fired" in log.read_text()]
    assert len(fired) == 1  # one process won the fire time, the other found it claimed
    # The run goes on in its own worker after both processes have exited.
    assert finished(mlops, runs[0]["id"])["status"] == "succeeded"
    next_fire = datetime.fromisoformat(mlops.schedules.get(created["id"])["next_fire_at"])
    assert next_fire == at + timedelta(days=1)
    mlops.db.dispose()
