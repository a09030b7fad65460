"""The core every domain builds on: event bus, scheduler, typed edges, audit log, workflows."""

from __future__ import annotations

import json
import threading

import pytest
from pydantic import BaseModel

from jupyterlab_mlops import events as ev
from jupyterlab_mlops.errors import InvalidInput, NotFound
from jupyterlab_mlops.scheduler import Scheduler
from jupyterlab_mlops.schemas import FiniteFloat, Int64, Schema, check_values, loads, parse_json
from jupyterlab_mlops.store import Database, audit
from jupyterlab_mlops.workflows.records import WorkflowRecords


@pytest.fixture
def db(store_url):
    database = Database(store_url)
    yield database
    database.dispose()


# -- event bus -------------------------------------------------------------------------------------


def test_events_reach_every_subscriber_in_order_and_a_failing_one_harms_nobody(caplog):
    bus = ev.EventBus()
    seen: list[tuple[str, dict]] = []

    def broken(event):
        raise RuntimeError("subscriber bug")

    bus.subscribe(ev.ALIAS_CHANGED, lambda e: seen.append(("first", e.payload)))
    bus.subscribe(ev.ALIAS_CHANGED, broken)
    unsubscribe = bus.subscribe(ev.ALIAS_CHANGED, lambda e: seen.append(("last", e.payload)))

    event = bus.publish(ev.ALIAS_CHANGED, model="churn", alias="production", to_version=2)

    assert event["model"] == "churn" and event.get("missing") is None
    assert seen == [
        ("first", {"model": "churn", "alias": "production", "to_version": 2}),
        ("last", {"model": "churn", "alias": "production", "to_version": 2}),
    ]
    assert "subscriber bug" in caplog.text
    unsubscribe()
    bus.publish(ev.ALIAS_CHANGED, model="churn")
    assert [name for name, _ in seen] == ["first", "last", "first"]


def test_unknown_event_names_are_refused():
    bus = ev.EventBus()
    with pytest.raises(ValueError, match="unknown event 'alias_moved'"):
        bus.publish("alias_moved")
    with pytest.raises(ValueError, match="unknown event"):
        bus.subscribe("nope", print)


# -- scheduler -------------------------------------------------------------------------------------


def test_scheduler_runs_jobs_until_stopped_and_survives_a_failing_tick():
    scheduler = Scheduler()
    calls = {"ok": 0, "bad": 0}
    twice = threading.Event()

    def ok():
        calls["ok"] += 1
        if calls["ok"] >= 2:
            twice.set()

    def bad():
        calls["bad"] += 1
        raise RuntimeError("tick failed")

    scheduler.add_job("ok", 3600, ok)
    scheduler.add_job("bad", 3600, bad)
    scheduler.start()
    # Each job runs at once on start; a trigger wakes it without waiting an hour.
    scheduler.trigger("ok")
    assert twice.wait(30), "the triggered job did not run again"
    scheduler.stop()
    assert scheduler.jobs["bad"].failures >= 1
    assert scheduler.jobs["ok"].failures == 0
    after = calls["ok"]
    scheduler.run_once("ok")
    assert calls["ok"] == after + 1
    with pytest.raises(ValueError, match="already scheduled"):
        scheduler.add_job("ok", 1, ok)


def test_a_job_with_no_interval_never_runs_by_itself():
    scheduler = Scheduler()
    calls = []
    scheduler.add_job("off", 0, lambda: calls.append(1))
    scheduler.start()
    scheduler.stop()
    assert calls == [] and scheduler.jobs["off"].thread is None


# -- typed edges -----------------------------------------------------------------------------------


class Canary(Schema):
    version: Int64
    weight: FiniteFloat = 0.1
    shadow: bool = False
    extra: dict = {}


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ('{"version": "x"}', "version", "valid integer"),
        ('{"version": 1e30}', "version", "valid integer"),
        ('{"version": 99999999999999999999999}', "version", "64-bit"),
        ('{"version": 1, "shadow": "yes"}', "shadow", "valid boolean"),
        ('{"version": 1, "weight": NaN}', "weight", "finite"),
        ('{"version": 1, "weight": Infinity}', "weight", "finite"),
        ('{"version": 1, "weight": 1e400}', "weight", "finite"),
        ('{"version": 1, "extra": {"deep": {"x": -Infinity}}}', "extra.deep.x", "finite"),
        ('{"version": 1, "colour": "red"}', "colour", "unknown field 'colour'"),
        ("{}", "version", "'version' is required"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(raw, field, message):
    with pytest.raises(InvalidInput) as caught:
        parse_json(Canary, raw)
    assert caught.value.status == 400
    assert caught.value.details["field"] == field
    assert message in caught.value.message


def test_nesting_and_broken_json_are_400s_not_crashes():
    with pytest.raises(InvalidInput, match="nests deeper"):
        parse_json(Canary, "[" * 100_000)
    with pytest.raises(InvalidInput, match="nests deeper"):
        check_values(json.loads("[" * 70 + "]" * 70))
    with pytest.raises(InvalidInput, match="not valid JSON"):
        loads(b'{"version": ')
    with pytest.raises(InvalidInput, match="must be a JSON object"):
        parse_json(Canary, "[1]")
    assert parse_json(Canary, '{"version": 3, "weight": 1}') == Canary(version=3, weight=1.0)


def test_every_schema_describes_itself():
    schema = Canary.model_json_schema()
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["version"]
    assert issubclass(Canary, BaseModel)


# -- audit log -------------------------------------------------------------------------------------


def test_the_audit_log_records_in_the_callers_transaction(db):
    with db.session() as session:
        audit.record(
            session,
            model_name="churn",
            action="set_alias",
            alias="production",
            from_version=1,
            to_version=2,
            user="alice",
            reason="  better auc ",
        )
    with pytest.raises(RuntimeError), db.session() as session:
        audit.record(session, model_name="churn", action="delete_alias", alias="production")
        raise RuntimeError("the change failed: its audit entry must go too")
    with db.session() as session:
        entries, total = audit.query(session, model_name="churn")
    assert total == 1
    (entry,) = entries
    assert (entry["action"], entry["from_version"], entry["to_version"]) == ("set_alias", 1, 2)
    assert entry["user"] == "alice" and entry["reason"] == "better auc"
    assert entry["created_at"].endswith("+00:00")


# -- workflow records ------------------------------------------------------------------------------


def test_a_workflow_advances_step_by_step_and_ends_with_its_steps(db):
    records = WorkflowRecords(db, owner="lab:1")
    flow = records.create(
        "deploy",
        ["run", "register", "serve"],
        inputs={"path": "a.ipynb"},
        subject="a.ipynb",
        user="bob",
    )
    assert flow["status"] == "pending" and [s["status"] for s in flow["steps"]] == ["pending"] * 3

    records.start_step(flow["id"], "run", "executing a.ipynb")
    records.update_step(flow["id"], "run", run_id="r1")
    records.finish_step(flow["id"], "run", outputs={"status": "succeeded"})
    records.start_step(flow["id"], "register")
    done = records.finish(flow["id"], "failed", error="no model registered")

    assert done["status"] == "failed" and done["error"] == "no model registered"
    assert [(s["name"], s["status"]) for s in done["steps"]] == [
        ("run", "succeeded"),
        ("register", "failed"),
        ("serve", "skipped"),
    ]
    assert done["steps"][0]["outputs"] == {"run_id": "r1", "status": "succeeded"}
    assert records.latest("deploy", "a.ipynb")["id"] == flow["id"]
    assert records.list("deploy", status="failed")["total"] == 1
    with pytest.raises(NotFound):
        records.get(flow["id"], kind="retrain")
    with pytest.raises(InvalidInput):
        records.finish(flow["id"], "running")
    with pytest.raises(InvalidInput, match="distinct"):
        records.create("deploy", ["a", "a"])


def test_orphaned_workflows_are_found_and_claimed_once(db):
    dead = WorkflowRecords(db, owner="lab:999999999")  # a pid that cannot exist
    alive = WorkflowRecords(db, owner="elsewhere:1")
    orphan = dead.create("retrain", ["run"], subject="alert-1")
    busy = alive.create("retrain", ["run"], subject="alert-2")

    restarted = WorkflowRecords(db, owner="lab:1")
    # The dead owner ran on this host: its workflow is an orphan at once; the other host's
    # workflow has a fresh heartbeat, so it is not.
    assert restarted.orphans("retrain", stale_after=3600) == [orphan["id"]]
    assert restarted.claim(orphan["id"], stale_after=0)
    assert not WorkflowRecords(db, owner="lab:2").claim(busy["id"], stale_after=3600)
    assert restarted.orphans("retrain", stale_after=3600) == []
