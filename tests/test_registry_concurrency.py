"""Version numbers under concurrent registration from separate processes: 20 on SQLite, 50 on
PostgreSQL (the team store), each getting a distinct version, 1…N with none missing."""

from __future__ import annotations

import multiprocessing
import os
import queue

from registry_utils import register_in_process
from sqlalchemy import select

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.store import models as m

PROCESSES = {"sqlite": 20, "postgresql": 50}
# Imported once by the fork server, so 20 children do not each import scikit-learn on 2 cores.
PRELOAD = [
    "sklearn.linear_model",
    "sklearn.pipeline",
    "skops.io",
    "pandas",
    "alembic.command",
    "sqlalchemy.dialects.postgresql",
    "alembic.runtime.migration",
    "jupyterlab_mlops.drift.profile",
    "jupyterlab_mlops.registry.service",
]


def test_parallel_registrations_from_many_processes_get_distinct_consecutive_versions(
    tmp_path, store_url
):
    count = PROCESSES[store_url.split(":")[0].split("+")[0]]
    mlops = MLOps(root_dir=str(tmp_path), store_url=store_url)
    mlops.db  # noqa: B018 - create the schema once, before the children open it
    # forkserver: children are forked from a clean, preloaded server (no inherited threads or
    # connections), so each one is a separate process with its own engine.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    barrier = context.Barrier(count)
    results = context.Queue()
    processes = [
        context.Process(
            target=register_in_process,
            args=(str(tmp_path), barrier, seed, results, store_url),
        )
        for seed in range(count)
    ]
    for process in processes:
        process.start()
    outcomes = []
    try:
        for _ in range(count):
            outcomes.append(results.get(timeout=240))
    except queue.Empty:
        pass
    for process in processes:
        process.join(timeout=60)
    assert [p.exitcode for p in processes] == [0] * count
    assert len(outcomes) == count
    assert len({pid for _, _, pid in outcomes} | {os.getpid()}) == count + 1
    assert sorted(version for _, version, _ in outcomes) == list(range(1, count + 1))

    with mlops.db.session() as session:
        model = session.scalars(select(m.RegisteredModel)).one()
        assert model.name == "race" and model.last_version == count
        stored = {v.version: v.metrics["seed"] for v in model.versions}
    # every process's version holds that process's model: nothing lost or overwritten
    assert stored == {version: float(seed) for seed, version, _ in outcomes}
    audit = mlops.registry.audit("race", action="register", limit=100)
    assert sorted(e["to_version"] for e in audit["items"]) == list(range(1, count + 1))
    mlops.stop()
