"""Two real Jupyter servers on one PostgreSQL store, each running the schedules itself
(``c.MLOps.run_scheduler``, the default): an every-minute schedule fires each fire time once,
whichever server ticks first; after a server restarts, the schedule keeps firing and no fire
time is fired again.

A fire time is made due with ``came_due`` (moved into the misfire grace) instead of waiting for
the clock to reach the next minute; "both servers had their chance" is read from each server's
``GET /mlops/api/health`` (the ``workflows.schedules`` job's last tick), not guessed with a sleep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest
from _runs_support import RUN_DEADLINE, came_due, wait_for, write_notebook

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.serving.deployers.base import free_port

TOKEN = "two-servers-token"
START_DEADLINE = 120.0  # a cold Jupyter server with the extension, on a shared machine
TICK_DEADLINE = 60.0  # the schedules job ticks every 5 s


class LabServer:
    """``jupyter server`` with the extension, as a subprocess, spoken to over REST."""

    def __init__(self, root: Path, store_url: str, name: str):
        self.root, self.store_url, self.name = root, store_url, name
        self.log = root / f"server-{name}.log"
        self.process: subprocess.Popen | None = None
        self.port = 0

    def start(self) -> LabServer:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
        env["MLOPS_STORE_URL"] = self.store_url
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jupyter_server",
                    "--no-browser",
                    f"--port={self.port}",
                    "--port-retries=0",
                    "--ip=127.0.0.1",
                    f"--ServerApp.root_dir={self.root}",
                    f"--IdentityProvider.token={TOKEN}",
                    *(["--allow-root"] if os.getuid() == 0 else []),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(self.root),
            )
        wait_for(self._answers, START_DEADLINE, interval=0.5)
        return self

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"server {self.name} exited:\n{self.log.read_text()[-3000:]}")
        try:
            return self.get("health")["store"]["kind"] == "postgresql"
        except (urllib.error.URLError, ConnectionError):
            return False

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/mlops/api/{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def get(self, path: str) -> dict:
        return self.request("GET", path)

    def ticked_since(self, moment: datetime) -> bool:
        """Has this server's schedules job finished a tick that began after ``moment``?"""
        jobs = {job["name"]: job for job in self.get("health")["scheduler"]["jobs"]}
        started = jobs["workflows.schedules"]["last_started_at"]
        finished = jobs["workflows.schedules"]["last_finished_at"]
        if started is None or finished is None:
            return False
        started, finished = datetime.fromisoformat(started), datetime.fromisoformat(finished)
        return moment < started <= finished

    def stop(self) -> None:
        """SIGTERM, as a user's Ctrl-C or a hub's culler; never left behind."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(30)


def both_ticked(servers: list[LabServer], moment: datetime) -> None:
    wait_for(lambda: all(s.ticked_since(moment) for s in servers), TICK_DEADLINE, interval=0.5)


def fires_of(server: LabServer, schedule_id: str) -> list[dict]:
    return server.get(f"schedules/{schedule_id}/fires?limit=100")["items"]


def runs_of(server: LabServer, schedule_id: str) -> list[dict]:
    return server.get(f"runs?schedule_id={schedule_id}&limit=100")["items"]


def once_each(server: LabServer, schedule_id: str) -> list[str]:
    """The fire times so far, after checking that each was fired once and made one run (a fire
    being claimed right now is waited for: its run is submitted a moment after the claim)."""

    def settled():
        fires = fires_of(server, schedule_id)
        return fires if all(f["status"] != "claimed" for f in fires) else None

    fires = wait_for(settled, TICK_DEADLINE, interval=0.2)
    times = [fire["fire_time"] for fire in fires]
    assert len(times) == len(set(times)), f"a fire time fired twice: {fires}"
    assert {f["status"] for f in fires} <= {"submitted"}, fires
    runs = runs_of(server, schedule_id)
    assert sorted(r["id"] for r in runs) == sorted(f["run_id"] for f in fires), (fires, runs)
    assert all(r["trigger"] == "schedule" and r["parameters"] == {"C": 2.0} for r in runs)
    return times


@pytest.fixture
def servers(tmp_path, postgres_cluster):
    store_url = postgres_cluster.create_database()
    write_notebook(tmp_path / "train.ipynb", ["print('C is', C)"], parameters="C = 1.0")
    started: list[LabServer] = []

    def start(name: str) -> LabServer:
        server = LabServer(tmp_path, store_url, name)
        started.append(server)
        return server.start()

    yield start, MLOps(root_dir=str(tmp_path), store_url=store_url)
    for server in started:
        server.stop()
    for server in started:
        if server.process is not None and server.process.returncode not in (0, None):
            print(f"--- server {server.name} log ---\n{server.log.read_text()[-3000:]}")


def test_two_servers_fire_each_fire_time_once_and_keep_firing_after_a_restart(servers):
    start, store = servers
    first, second = start("first"), start("second")
    created = first.request(
        "POST",
        "schedules",
        {"notebook_path": "train.ipynb", "cron": "* * * * *", "parameters": {"C": 2},
         "overlap": "queue", "name": "every minute"},
    )  # fmt: skip
    schedule_id = created["id"]
    assert second.get(f"schedules/{schedule_id}")["cron"] == "* * * * *"  # one store

    # A fire time comes due while both servers run: one of them fires it, once.
    due = came_due(store, schedule_id)
    moment = datetime.now(timezone.utc)
    both_ticked([first, second], moment)
    assert due.isoformat() in once_each(first, schedule_id)
    [fire] = [f for f in fires_of(second, schedule_id) if f["fire_time"] == due.isoformat()]
    run = second.get(f"runs/{fire['run_id']}")
    assert run["schedule_id"] == schedule_id
    assert datetime.fromisoformat(run["trigger_details"]["fire_time"]) == due

    # The first server restarts; the fire time it (or the other) fired is not fired again.
    first.stop()
    restarted = start("first-again")
    moment = datetime.now(timezone.utc)
    both_ticked([restarted, second], moment)
    before = once_each(restarted, schedule_id)
    assert due.isoformat() in before

    # And the schedule keeps firing: this minute's fire time comes due now (if the clock has
    # not fired it already; else the next minute comes by itself) and is fired, once.
    minute = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    if minute.isoformat() not in before:
        came_due(store, schedule_id, minute)
    after = wait_for(
        lambda: (times := once_each(restarted, schedule_id)) and set(times) > set(before) and times,
        TICK_DEADLINE + 60,
    )
    assert max(after) > max(before)

    # Every run it made ran the notebook with the schedule's parameters.
    def all_finished():
        runs = runs_of(second, schedule_id)
        done = [r for r in runs if r["status"] not in ("queued", "running")]
        return runs if len(done) == len(runs) else None

    finished = wait_for(all_finished, RUN_DEADLINE)
    assert {r["status"] for r in finished} == {"succeeded"}
