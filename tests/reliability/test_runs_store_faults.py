"""Faults around a run, each with the state checked afterwards: a store whose write lock another
process holds for 40 s, kill -9 of the run worker, kill -9 of the Jupyter server mid-run."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from _runs_faults import (
    JupyterServer,
    error_of,
    fetch_json,
    hold_write_lock,
    integrity_ok,
    ok_notebook,
    store_path,
    until,
    wait_finished,
    wait_for,
    write_notebook,
)
from tornado.httpclient import HTTPClientError

LOCK_SECONDS = 40

#: writes a marker once running, then executes cells across the time the store is locked
STEADY = [
    "import pathlib, time\npathlib.Path('started').write_text('yes')",
    *["time.sleep(2)"] * 6,
    "print('done')",
]


async def test_a_store_locked_for_40_s_does_not_kill_the_run_and_rest_answers_503(
    jp_fetch, jp_root_dir
):
    ok_notebook(jp_root_dir)
    write_notebook(jp_root_dir / "steady.ipynb", STEADY)
    code, run = await fetch_json(
        jp_fetch, "runs", method="POST", body={"notebook_path": "steady.ipynb"}
    )
    assert code == 201
    await until(lambda: (jp_root_dir / "started").exists(), timeout=120)
    holder = hold_write_lock(store_path(jp_root_dir), LOCK_SECONDS)
    try:
        # The run's progress and final writes wait; a request is told the store is busy.
        code, error = await error_of(
            jp_fetch, "runs", method="POST", body={"notebook_path": "ok.ipynb"}
        )
        assert code == 503, error
        assert error["code"] == "store_busy" and "busy" in error["message"]
        try:
            body = json.dumps({"notebook_path": "ok.ipynb"})
            await jp_fetch("mlops", "api", "runs", method="POST", body=body)
        except HTTPClientError as err:
            assert err.code == 503 and int(err.response.headers["Retry-After"]) > 0
        # Reads go on (WAL): the run is still running, not failed.
        _, current = await fetch_json(jp_fetch, "runs", run["id"])
        assert current["status"] == "running", current
    finally:
        holder.wait(timeout=LOCK_SECONDS + 30)
    final = await wait_finished(jp_fetch, run["id"])
    assert final["status"] == "succeeded", final
    assert final["progress"]["cells_done"] == final["progress"]["cells_total"] > 0
    # Recovered: the same request is accepted now.
    code, again = await fetch_json(
        jp_fetch, "runs", method="POST", body={"notebook_path": "ok.ipynb"}
    )
    assert code == 201
    assert (await wait_finished(jp_fetch, again["id"]))["status"] == "succeeded"
    assert integrity_ok(store_path(jp_root_dir))


async def test_kill_9_of_the_worker_fails_the_run_with_a_reason(jp_fetch, jp_root_dir):
    write_notebook(jp_root_dir / "steady.ipynb", [STEADY[0], "time.sleep(300)"])
    ok_notebook(jp_root_dir)
    body = {"notebook_path": "steady.ipynb"}
    _, run = await fetch_json(jp_fetch, "runs", method="POST", body=body)
    await until(lambda: (jp_root_dir / "started").exists(), timeout=120)
    _, running = await fetch_json(jp_fetch, "runs", run["id"])
    assert running["status"] == "running" and running["pid"]
    os.kill(running["pid"], signal.SIGKILL)
    final = await wait_finished(jp_fetch, run["id"])
    assert final["status"] == "failed"
    assert "worker process exited unexpectedly" in final["status_reason"]
    # Nothing stuck: no run is left queued or running.
    _, active = await fetch_json(jp_fetch, "runs", params={"status": "queued,running"})
    assert active["total"] == 0


# -- kill -9 of the Jupyter server itself (a separate process) -------------------------------------


def test_kill_9_of_the_server_mid_run_the_run_still_finishes(tmp_path):
    write_notebook(tmp_path / "steady.ipynb", STEADY[:3] + STEADY[-1:])
    server = JupyterServer(tmp_path)
    try:
        run = server.call("POST", "runs", {"notebook_path": "steady.ipynb"})
        wait_for(lambda: (tmp_path / "started").exists(), timeout=120)
        server.kill()
        # The worker outlives the server and records the outcome in the store itself.
        from jupyterlab_mlops.runs.records import RunRecords
        from jupyterlab_mlops.store.db import Database

        db = Database(f"sqlite:///{store_path(tmp_path)}", upgrade=False)
        records = RunRecords(db)
        try:
            wait_for(lambda: records.get(run["id"])["status"] == "succeeded", timeout=120)
            final = records.get(run["id"])
            # Nothing stuck: no run is left queued or running behind the dead server.
            assert records.list(status=["queued", "running"])["total"] == 0
        finally:
            db.dispose()
        assert final["output_notebook_path"]
        assert (tmp_path / final["output_notebook_path"]).is_file()
        assert final["pid"] and _gone(final["pid"])
    finally:
        server.stop()


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return True
        time.sleep(0.2)
    return False
