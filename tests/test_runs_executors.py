"""Executors and the queue: claims that hold across processes, the executor class as a traitlets
``Type``, workers built from their environment alone, and the warm standby worker."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
from _runs_support import RUN_DEADLINE, ok_notebook, overlap, wait_for, write_notebook
from traitlets import TraitError
from traitlets.config import Config

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.runs.executors.base import Executor, ExecutorContext
from jupyterlab_mlops.runs.executors.dask import DaskExecutor
from jupyterlab_mlops.runs.executors.local import LocalExecutor
from jupyterlab_mlops.runs.processes import STANDBY, parse_time


class HeldExecutor(Executor):
    """Starts nothing: runs stay queued until the claimers below take them."""

    name = "held"

    def launch(self, run_ids: list[str]) -> None:
        return None


CLAIMER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from jupyterlab_mlops.runs.queue import RunQueue
    from jupyterlab_mlops.store.db import Database

    url, limit, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    queue = RunQueue(Database(url, upgrade=False))
    deadline = time.monotonic() + 60
    while not go.exists():  # start together, so the claims really race
        assert time.monotonic() < deadline
        time.sleep(0.01)
    claimed = []
    while True:
        run_id = queue.claim_next("held", limit, lambda run_id: os.getpid())
        if run_id is None:
            break
        claimed.append(run_id)
    print(json.dumps(claimed))
    """
)


def race(mlops: MLOps, tmp_path, *, processes: int, limit: int) -> dict[int, list[str]]:
    """Claimer processes started together; what each claimed, by its pid."""
    go = tmp_path / "go"
    claimers = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, mlops.resolved_store_url, str(limit), str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    time.sleep(0.5)  # let them import; correctness does not depend on it
    go.write_text("go")
    results = {}
    for claimer in claimers:
        out, _ = claimer.communicate(timeout=RUN_DEADLINE)
        assert claimer.returncode == 0
        results[claimer.pid] = json.loads(out)
    return results


@pytest.fixture
def held(tmp_path, store_url):
    ok_notebook(tmp_path)
    instance = MLOps(root_dir=str(tmp_path), store_url=store_url, executor_class=HeldExecutor)
    yield instance
    instance.stop()


def test_each_queued_run_is_claimed_by_exactly_one_process(held, tmp_path):
    sweep = held.runs.sweep("ok.ipynb", {"x": list(range(12))})
    results = race(held, tmp_path, processes=4, limit=100)
    claimed = [run_id for result in results.values() for run_id in result]
    assert sorted(claimed) == sorted(r["id"] for r in sweep["runs"])  # all, none twice
    runs = held.runs.list(0, 100)["items"]
    assert {r["status"] for r in runs} == {"running"}
    # each run records the pid of the process that claimed it
    recorded = {r["id"]: r["pid"] for r in runs}
    assert all(recorded[run_id] == pid for pid, ids in results.items() for run_id in ids)


def test_the_concurrency_limit_holds_across_processes(held, tmp_path):
    held.runs.sweep("ok.ipynb", {"x": list(range(8))})
    results = race(held, tmp_path, processes=4, limit=3)
    assert sum(len(r) for r in results.values()) == 3
    assert held.runs.list(0, 100, status="running")["total"] == 3
    assert held.runs.list(0, 100, status="queued")["total"] == 5


def test_20_runs_submitted_at_once_run_at_most_4_at_a_time_and_all_finish(
    tmp_path, postgres_cluster
):
    """On PostgreSQL, the team store (the claim tests above cover SQLite's locking)."""
    store_url = postgres_cluster.create_database()
    write_notebook(tmp_path / "quick.ipynb", ["print(x)"], parameters="x = 0")
    mlops = MLOps(root_dir=str(tmp_path), store_url=store_url, max_concurrent_runs=4)
    mlops.db  # noqa: B018 - the schema exists before the submitters race
    with ThreadPoolExecutor(20) as pool:  # 20 submissions at the same time
        submitted = list(pool.map(lambda x: mlops.runs.submit("quick.ipynb", {"x": x}), range(20)))
    finals = [mlops.runs.wait(run["id"], timeout=RUN_DEADLINE) for run in submitted]
    assert [r["status"] for r in finals] == ["succeeded"] * 20
    assert sorted(r["parameters"]["x"] for r in finals) == list(range(20))
    # From the store's records: never more than 4 between a start and a finish at once.
    intervals = [
        (parse_time(r["started_at"]).timestamp(), parse_time(r["finished_at"]).timestamp())
        for r in finals
    ]
    assert 1 <= overlap(intervals) <= 4
    mlops.stop()


def test_the_executor_class_is_a_traitlets_type(tmp_path, monkeypatch):
    assert MLOps(root_dir=str(tmp_path)).executor_class is LocalExecutor
    dotted = "jupyterlab_mlops.runs.executors.dask.DaskExecutor"
    config = Config()
    config.MLOps.executor_class = dotted
    assert MLOps(root_dir=str(tmp_path), config=config).executor_class is DaskExecutor
    monkeypatch.setenv("MLOPS_EXECUTOR_CLASS", dotted)
    mlops = MLOps(root_dir=str(tmp_path))
    assert mlops.executor_class is DaskExecutor
    assert mlops.runs.worker_environment("r1")["MLOPS_EXECUTOR_CLASS"] == dotted
    monkeypatch.delenv("MLOPS_EXECUTOR_CLASS")
    with pytest.raises(TraitError):
        MLOps(root_dir=str(tmp_path), executor_class="jupyterlab_mlops.app.MLOps")
    with pytest.raises(TraitError):
        MLOps(root_dir=str(tmp_path), executor_class="jupyterlab_mlops.nowhere.Executor")


def test_executors_get_a_context_that_follows_the_settings(held, tmp_path):
    executor = held.runs.executor
    assert isinstance(executor, HeldExecutor) and isinstance(executor.context, ExecutorContext)
    assert executor.context.max_concurrent == 2 and executor.context.keep_standby is False
    assert executor.context.environment_for("abc")["MLOPS_RUN_ID"] == "abc"
    assert executor.context.environment_for(None).get("MLOPS_RUN_ID") is None
    assert executor.context.store_url == held.resolved_store_url
    held.max_concurrent_runs = 5
    held.runs.long_lived = True
    assert executor.context.max_concurrent == 5 and executor.context.keep_standby is True
    assert executor.context.worker_variables["MLOPS_MAX_CONCURRENT_RUNS"] == "5"


def test_the_worker_builds_its_service_from_the_environment_without_the_app(tmp_path):
    code = (
        "import sys, jupyterlab_mlops.runs.worker as w\n"
        "service = w.build_service()\n"
        "print(service.settings.store_url, service.root, type(service.executor).__name__)\n"
        "print(sorted(m for m in sys.modules if m.startswith('jupyterlab_mlops.')"
        " and m.split('.')[1] in ('app', 'registry', 'serving', 'drift', 'handlers')))\n"
    )
    mlops = MLOps(root_dir=str(tmp_path))
    mlops.db  # noqa: B018 - the store exists (workers never migrate it)
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=mlops.runs.worker_environment(None),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0] == f"{mlops.resolved_store_url} {tmp_path.resolve()} LocalExecutor"
    assert out[1] == "[]"
    broken = subprocess.run(
        [sys.executable, "-m", "jupyterlab_mlops.runs.worker", "abc"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert broken.returncode != 0 and "MLOPS_STORE_URL" in broken.stderr
    mlops.stop()


def test_the_server_keeps_a_warm_standby_worker_that_runs_the_next_run(tmp_path):
    ok_notebook(tmp_path)
    mlops = MLOps(root_dir=str(tmp_path))
    mlops.runs.long_lived = True  # as in the server
    first = mlops.runs.submit("ok.ipynb")
    assert mlops.runs.wait(first["id"], timeout=RUN_DEADLINE)["status"] == "succeeded"

    def standby():
        for child in psutil.Process().children():
            try:
                if STANDBY in child.cmdline():
                    return child.pid
            except psutil.NoSuchProcess:
                continue
        return None

    warm = wait_for(standby)
    second = mlops.runs.submit("ok.ipynb", {"x": 4})
    final = mlops.runs.wait(second["id"], timeout=RUN_DEADLINE)
    assert final["status"] == "succeeded" and final["metrics"] == {"score": 8.0}
    assert final["pid"] == warm  # the warm worker ran it
    mlops.stop()
    wait_for(lambda: standby() is None, deadline=30)
