"""Cron schedules of notebooks against a real run service: each fire time claimed once."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from _runs_support import RUN_DEADLINE, came_due, sleepy_notebook, wait_for, write_notebook

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.errors import InvalidInput, MLOpsError
from jupyterlab_mlops.workflows.schedules import (
    SchedulePipelines,
    ScheduleRuns,
    ScheduleService,
)
from jupyterlab_mlops.workflows.schemas import ScheduleCreate, ScheduleUpdate

UTC = timezone.utc


class Clock:
    """The time the schedule service believes it is (the runs themselves are real)."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def mlops(tmp_path, request):
    """SQLite, or a fresh PostgreSQL database for tests parametrised with ``BOTH_STORES``."""
    store_url = ""
    if getattr(request, "param", "sqlite") == "postgresql":
        store_url = request.getfixturevalue("postgres_cluster").create_database()
    instance = MLOps(root_dir=str(tmp_path), store_url=store_url, run_scheduler=False)
    instance.start()
    yield instance
    instance.stop()


#: the service-level tests of schedules' tables and claims run on both stores
BOTH_STORES = pytest.mark.parametrize("mlops", ["sqlite", "postgresql"], indirect=True)


def service(mlops, clock, owner="lab:1"):
    runs = ScheduleRuns(
        check=mlops.runs.check,
        submit=mlops.runs.submit,
        status=lambda run_id: mlops.runs.get(run_id)["status"],
    )
    pipelines = SchedulePipelines(
        check=mlops.pipelines.check, start=mlops.pipelines.start, status=mlops.pipelines.status
    )
    return ScheduleService(mlops.db, runs, pipelines=pipelines, owner=owner, clock=clock)


def runs_of(mlops, schedule_id):
    return mlops.runs.list(limit=500, schedule_id=schedule_id)["items"]


@pytest.fixture
def notebook(tmp_path):
    write_notebook(tmp_path / "train.ipynb", ["print(C)"], parameters="C = 1.0\nlabel = 'x'")
    return "train.ipynb"


@BOTH_STORES
def test_a_schedule_fires_once_per_fire_time_with_its_parameters(mlops, notebook):
    clock = Clock(datetime(2026, 3, 2, 4, 59, 30, tzinfo=UTC))
    schedules = service(mlops, clock)
    created = schedules.create(
        ScheduleCreate(
            notebook_path=notebook,
            parameters={"C": "0.5"},
            cron="0 6 * * *",
            timezone="Europe/Paris",
        ),
        user="alice",
    )
    assert created["next_fire_at"] == "2026-03-02T06:00:00+01:00"
    assert created["parameters"] == {"C": 0.5}  # coerced to the declared type
    assert created["description"] == "At 06:00 (Europe/Paris)"
    assert schedules.tick() == []  # not yet due

    clock.now = datetime(2026, 3, 2, 5, 0, 1, tzinfo=UTC)
    (fired,) = schedules.tick()
    assert fired["status"] == "submitted" and fired["fire_time"] == "2026-03-02T05:00:00+00:00"
    assert schedules.tick() == []  # the same fire time is never fired again
    (run,) = runs_of(mlops, created["id"])
    assert run["trigger"] == "schedule" and run["parameters"] == {"C": 0.5}
    assert run["created_by"] == "alice"
    after = schedules.get(created["id"])
    assert after["next_fire_at"] == "2026-03-03T06:00:00+01:00"
    assert after["last_fire"]["run_id"] == run["id"]


@BOTH_STORES
def test_two_processes_on_one_store_fire_a_fire_time_once(mlops, notebook):
    clock = Clock(datetime(2026, 5, 1, 8, 0, 5, tzinfo=UTC))
    first, second = service(mlops, clock, "lab:1"), service(mlops, clock, "other:2")
    created = first.create(ScheduleCreate(notebook_path=notebook, cron="* * * * *"))
    clock.now = datetime(2026, 5, 1, 8, 1, 2, tzinfo=UTC)
    barrier = threading.Barrier(2)
    results: list[list] = []

    def tick(schedules):
        barrier.wait()
        results.append(schedules.tick())

    threads = [threading.Thread(target=tick, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(len(r) for r in results) == [0, 1]
    assert len(runs_of(mlops, created["id"])) == 1
    assert first.fires(created["id"])["total"] == 1


def test_overlap_skip_waits_for_the_previous_run_and_queue_does_not(mlops, tmp_path):
    sleepy_notebook(tmp_path)
    clock = Clock(datetime(2026, 5, 1, 8, 0, 5, tzinfo=UTC))
    schedules = service(mlops, clock)
    skip = schedules.create(
        ScheduleCreate(notebook_path="sleepy.ipynb", cron="* * * * *", parameters={"seconds": 600})
    )
    queue = schedules.create(
        ScheduleCreate(
            notebook_path="sleepy.ipynb",
            cron="* * * * *",
            parameters={"seconds": 600},
            overlap="queue",
        )
    )
    clock.now = datetime(2026, 5, 1, 8, 1, 1, tzinfo=UTC)
    assert {f["status"] for f in schedules.tick()} == {"submitted"}
    clock.now = datetime(2026, 5, 1, 8, 2, 1, tzinfo=UTC)
    fired = {f["schedule_id"]: f for f in schedules.tick()}
    assert fired[skip["id"]]["status"] == "skipped"
    assert "still active" in fired[skip["id"]]["reason"]
    assert fired[queue["id"]]["status"] == "submitted"
    assert len(runs_of(mlops, skip["id"])) == 1 and len(runs_of(mlops, queue["id"])) == 2
    for run in mlops.runs.list(limit=50)["items"]:
        mlops.runs.cancel(run["id"])


def test_after_downtime_catch_up_none_drops_and_latest_runs_the_most_recent(mlops, notebook):
    clock = Clock(datetime(2026, 5, 1, 8, 0, 5, tzinfo=UTC))
    schedules = service(mlops, clock)
    none = schedules.create(ScheduleCreate(notebook_path=notebook, cron="*/10 * * * *"))
    latest = schedules.create(
        ScheduleCreate(notebook_path=notebook, cron="*/10 * * * *", catch_up="latest")
    )
    clock.now = datetime(2026, 5, 1, 11, 35, tzinfo=UTC)  # three and a half hours down
    fired = schedules.tick()
    assert [(f["schedule_id"], f["fire_time"]) for f in fired] == [
        (latest["id"], "2026-05-01T11:30:00+00:00")
    ]
    assert runs_of(mlops, none["id"]) == []
    assert schedules.get(none["id"])["next_fire_at"] == "2026-05-01T11:40:00+00:00"


@BOTH_STORES
def test_pause_resume_run_now_and_end_date(mlops, notebook):
    clock = Clock(datetime(2026, 5, 1, 8, 0, 5, tzinfo=UTC))
    schedules = service(mlops, clock)
    created = schedules.create(
        ScheduleCreate(
            notebook_path=notebook, cron="* * * * *", end_at=datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
        )
    )
    paused = schedules.update(created["id"], ScheduleUpdate(active=False))
    assert paused["active"] is False and paused["next_fire_at"] is None
    clock.now += timedelta(minutes=5)
    assert schedules.tick() == []
    resumed = schedules.update(created["id"], ScheduleUpdate(active=True))
    assert resumed["next_fire_at"] == "2026-05-01T08:06:00+00:00"
    assert schedules.tick() == []  # nothing missed while paused is fired
    now = schedules.trigger(created["id"], user="bob")
    assert now["status"] == "submitted" and now["manual"] is True
    assert mlops.runs.get(now["run_id"])["trigger_details"]["manual"] is True
    clock.now = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    assert schedules.tick() == []  # 09:00 was its last fire time, too long ago to catch up
    assert schedules.get(created["id"])["next_fire_at"] is None  # past its end date


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "* * *"}, "cron"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"parameters": {"nope": 1}}, "nope"),
        ({"parameters": {"C": "not a number"}}, "C"),
    ],
)
def test_bad_schedules_are_refused_and_nothing_is_stored(mlops, notebook, body, field):
    schedules = service(mlops, Clock(datetime(2026, 5, 1, tzinfo=UTC)))
    with pytest.raises(InvalidInput) as caught:
        schedules.create(ScheduleCreate(**{"notebook_path": notebook, "cron": "0 6 * * *", **body}))
    assert field in caught.value.message
    assert schedules.list()["total"] == 0


def test_the_embedded_scheduler_fires_a_due_every_minute_schedule(tmp_path, notebook):
    instance = MLOps(root_dir=str(tmp_path))
    instance.start()
    try:
        created = instance.schedules.create(
            ScheduleCreate(notebook_path=notebook, cron="* * * * *", parameters={"C": 2})
        )
        at = came_due(instance, created["id"])  # not a minute's wait for the next cron time
        run = wait_for(lambda: (runs_of(instance, created["id"]) or [None])[0], 75)
        assert datetime.fromisoformat(run["trigger_details"]["fire_time"]) == at
        assert run["trigger"] == "schedule" and run["parameters"]["C"] == 2.0
        done = wait_for(
            lambda: (
                instance.runs.get(run["id"])["status"] in ("succeeded", "failed")
                and instance.runs.get(run["id"])
            ),
            RUN_DEADLINE,
        )
        assert done["status"] == "succeeded"
    finally:
        instance.stop()


def test_a_failed_scheduled_run_reaches_the_webhook_and_the_labs(tmp_path):
    from receivers import WebhookReceiver

    write_notebook(tmp_path / "broken.ipynb", ["raise ValueError('no data today')"])
    instance = MLOps(root_dir=str(tmp_path))
    instance.start()
    try:
        with WebhookReceiver(path="/hooks/runs") as hook:
            created = instance.schedules.create(
                ScheduleCreate(
                    notebook_path="broken.ipynb",
                    cron="0 6 * * *",
                    notify={"on": ["failed"], "webhook": hook.url},
                )
            )
            start = instance.notifier.list()["last_id"]
            fired = instance.schedules.trigger(created["id"], user="carol")
            wait_for(lambda: hook.received, RUN_DEADLINE)
            (message,) = hook.received
            assert message["body"]["status"] == "failed"
            assert message["body"]["run_id"] == fired["run_id"]
            assert message["body"]["schedule_id"] == created["id"]
            assert "no data today" in message["body"]["text"]
            assert message["body"]["text"].startswith("Run failed: scheduled run of broken.ipynb")
        notes = instance.notifier.list(after=start)["items"]
        assert [(n["kind"], n["level"], n["link"]["run_id"]) for n in notes] == [
            ("run", "error", fired["run_id"])
        ]
    finally:
        instance.stop()


def test_successes_are_not_notified_by_default(tmp_path, notebook):
    instance = MLOps(root_dir=str(tmp_path))
    instance.start()
    try:
        created = instance.schedules.create(
            ScheduleCreate(notebook_path=notebook, cron="0 6 * * *")
        )
        start = instance.notifier.list()["last_id"]
        fired = instance.schedules.trigger(created["id"])
        wait_for(lambda: instance.runs.get(fired["run_id"])["status"] == "succeeded", RUN_DEADLINE)
        assert instance.outbox.drain(30)
        assert instance.notifier.list(after=start)["items"] == []
    finally:
        instance.stop()


def test_after_a_restart_a_schedule_keeps_firing_without_firing_a_time_twice(mlops, notebook):
    clock = Clock(datetime(2026, 5, 1, 8, 0, 30, tzinfo=UTC))
    before = service(mlops, clock, owner="lab:100")
    created = before.create(
        ScheduleCreate(notebook_path=notebook, cron="* * * * *", overlap="queue")
    )
    clock.now = datetime(2026, 5, 1, 8, 1, 2, tzinfo=UTC)
    assert [f["fire_time"] for f in before.tick()] == ["2026-05-01T08:01:00+00:00"]
    # The server goes away; a new one (a new process: another owner) opens the same store.
    after = service(mlops, clock, owner="lab:200")
    assert after.tick() == []  # 08:01 was fired before the restart
    clock.now = datetime(2026, 5, 1, 8, 2, 3, tzinfo=UTC)
    assert [f["fire_time"] for f in after.tick()] == ["2026-05-01T08:02:00+00:00"]
    fires = after.fires(created["id"])["items"]
    assert sorted(f["fire_time"] for f in fires) == [
        "2026-05-01T08:01:00+00:00",
        "2026-05-01T08:02:00+00:00",
    ]
    assert len(runs_of(mlops, created["id"])) == 2


def test_a_schedule_can_fire_a_pipeline_and_skips_while_it_is_still_running(tmp_path):
    sleepy_notebook(tmp_path)
    write_notebook(tmp_path / "report.ipynb", ["print('reported')"])
    (tmp_path / "nightly.pipeline.yaml").write_text(
        "parameters: {seconds: 600}\n"
        "steps:\n"
        "  - name: train\n"
        "    notebook: sleepy.ipynb\n"
        "    parameters: {seconds: '${parameters.seconds}'}\n"
        "  - {name: report, notebook: report.ipynb, depends_on: [train]}\n"
    )
    instance = MLOps(root_dir=str(tmp_path))  # its scheduler advances the pipeline runs
    instance.start()
    try:
        # A year ahead of the real clock, so the embedded scheduler's own tick leaves it alone.
        clock = Clock(datetime(2027, 5, 1, 8, 0, 5, tzinfo=UTC))
        schedules = service(instance, clock)
        for body, field in (
            ({"parameters": {"epochs": 2}}, "epochs"),
            ({"kernel_name": "python3"}, "kernel_name"),
            ({"pipeline_path": "missing.pipeline.yaml"}, "missing.pipeline.yaml"),
        ):
            with pytest.raises(MLOpsError) as caught:
                schedules.create(
                    ScheduleCreate(
                        **{"pipeline_path": "nightly.pipeline.yaml", "cron": "* * * * *", **body}
                    )
                )
            assert field in caught.value.message
        assert schedules.list()["total"] == 0

        created = schedules.create(
            ScheduleCreate(pipeline_path="nightly.pipeline.yaml", cron="* * * * *"), user="alice"
        )
        assert created["target_kind"] == "pipeline"
        assert created["target_path"] == "nightly.pipeline.yaml"
        clock.now = datetime(2027, 5, 1, 8, 1, 1, tzinfo=UTC)
        (fired,) = schedules.tick()
        assert fired["status"] == "submitted" and fired["run_id"] is None
        flow = instance.pipelines.get(fired["pipeline_run_id"])
        assert flow["trigger"] == "schedule" and flow["schedule_id"] == created["id"]
        assert flow["created_by"] == "alice" and flow["parameters"] == {"seconds": 600}

        clock.now = datetime(2027, 5, 1, 8, 2, 1, tzinfo=UTC)
        (skipped,) = schedules.tick()
        assert skipped["status"] == "skipped"
        assert skipped["reason"] == (f"pipeline run {flow['id']} of this schedule is still active")
        instance.pipelines.cancel(flow["id"], user="alice")
        wait_for(lambda: instance.pipelines.get(flow["id"])["status"] == "cancelled", RUN_DEADLINE)

        schedules.update(created["id"], ScheduleUpdate(parameters={"seconds": 0}))
        clock.now = datetime(2027, 5, 1, 8, 3, 1, tzinfo=UTC)
        (second,) = schedules.tick()
        assert second["status"] == "submitted"
        done = wait_for(
            lambda: schedules.get(created["id"])["last_status"] == "succeeded", RUN_DEADLINE
        )
        assert done
        steps = instance.pipelines.get(second["pipeline_run_id"])["steps"]
        assert [(s["name"], s["status"]) for s in steps] == [
            ("train", "succeeded"),
            ("report", "succeeded"),
        ]
        assert instance.pipelines.list()["total"] == 2
    finally:
        instance.stop()
