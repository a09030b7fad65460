"""The retrain workflow across a server restart: a drift alert starts a retraining run, the
"server" (an ``MLOps`` that was started) stops while the run is still going, a fresh ``MLOps``
on the same store starts, resumes the workflow and takes it to the right final status — with
the alert's retrain record (what the panel shows) in step with the workflow record."""

from __future__ import annotations

import psutil
from deploy_support import stopping_all
from drift_support import (
    MODEL,
    NO_MONITOR,
    dataset,
    feedback,
    logged,
    predict,
    register_champion,
    retrain_notebook,
    wait_for,
)

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.drift.schemas import Alert, CheckOutcome, RetrainRecord
from jupyterlab_mlops.workflows.records import TERMINAL

RUN_TIMEOUT = 300.0


def _server(root) -> MLOps:
    return MLOps(root_dir=str(root), deployment_poll_interval=0.0, monitor_interval=0.0)


def _start_retraining(mlops: MLOps, tmp_path) -> dict:
    """A champion, its deployment, a monitor with a held retrain notebook, drifted labelled
    traffic and one check: the retraining run is submitted and waits for ``release``."""
    data = dataset()
    champion = register_champion(mlops, data)
    mlops.registry.set_gate(MODEL, {"compare": {"metric": "accuracy", "mode": "max"}}, user="t")
    deployment = mlops.deployments.create(f"{MODEL}@production", "local", config=NO_MONITOR)
    retrain_notebook(tmp_path, hold=True)
    release = tmp_path / "release"
    monitor = mlops.monitors.create(
        deployment["id"],
        config={
            "window": {"last_n": 300},
            "rules": {"performance_drop": 0.2},
            "retrain": {
                "notebook": "retrain.ipynb",
                "parameters": {"prediction_log": "${prediction_log}", "release": str(release)},
                "cooldown_seconds": 0,
                "min_labelled": 50,
            },
        },
        user="alice",
    )
    X_test, y_test = data["X_test"], data["y_test"]
    body = predict(deployment["url"], X_test * 1.5)
    feedback(deployment["url"], body["prediction_ids"], y_test)
    wait_for(lambda: logged(deployment["prediction_log"], len(X_test), labelled=True))
    check = mlops.monitors.check(monitor["id"])
    CheckOutcome.model_validate(check)
    assert check["retrain"]["state"] == "submitted", check["retrain"]
    anchor = check["alerts"][0]["id"]
    workflow = mlops.workflow_records.latest("retrain", str(anchor))
    assert workflow["status"] == "running"
    assert check["retrain"]["workflow_id"] == workflow["id"]
    assert [s["status"] for s in workflow["steps"]] == ["running", "pending", "pending"]
    run = mlops.runs.get(check["retrain"]["run_id"])
    assert run["status"] == "running"  # held: it cannot finish before the test releases it
    return {
        "champion": champion,
        "deployment": deployment,
        "anchor": anchor,
        "workflow_id": workflow["id"],
        "run": run,
        "release": release,
    }


def _finished(mlops: MLOps, workflow_id: str) -> dict | None:
    workflow = mlops.workflow_records.get(workflow_id)
    return workflow if workflow["status"] in TERMINAL else None


def test_a_restart_during_the_retraining_run_still_promotes_the_challenger(tmp_path):
    first = _server(tmp_path)
    first.start()
    try:
        started = _start_retraining(first, tmp_path)
    except BaseException:
        with stopping_all(first):
            first.stop()
        raise
    first.stop()  # the server goes away; the run's worker (its own session) keeps running

    second = _server(tmp_path)
    with stopping_all(second):
        second.start()
        try:
            workflow_id, anchor = started["workflow_id"], started["anchor"]
            assert second.workflow_records.get(workflow_id)["status"] == "running"
            assert second.runs.get(started["run"]["id"])["status"] == "running"
            started["release"].write_text("go")

            workflow = wait_for(lambda: _finished(second, workflow_id), timeout=RUN_TIMEOUT)
            assert workflow["status"] == "succeeded", workflow
            assert workflow["outputs"]["state"] == "promoted"
            assert [(s["name"], s["status"]) for s in workflow["steps"]] == [
                ("run", "succeeded"),
                ("gate", "succeeded"),
                ("promote", "succeeded"),
            ]
            challenger = started["champion"]["version"] + 1
            assert workflow["outputs"]["challenger_version"] == challenger
            assert workflow["outputs"]["promoted_version"] == challenger

            alert = second.monitors.get_alert(anchor)
            Alert.model_validate(alert)
            record = RetrainRecord.model_validate(alert["details"]["retrain"])
            assert record.state == "promoted" and record.workflow_id == workflow_id
            assert [s.step for s in record.steps] == [
                "submitted",
                "registered",
                "gate",
                "promotion",
            ]
            assert alert["retrain_run_id"] == started["run"]["id"] == record.run_id
            assert record.challenger_version == record.promoted_version == challenger
            assert second.registry.resolve(f"{MODEL}@production")["version"] == challenger
            moved = wait_for(
                lambda: (
                    second.deployments.get(started["deployment"]["id"], stats=False)["version"]
                    == challenger
                ),
                timeout=60,
            )
            assert moved
            actions = [e["action"] for e in second.registry.audit(MODEL, limit=100)["items"]]
            assert actions.count("drift_gate_passed") == 1
            assert actions.count("drift_retrain_submitted") == 1
        finally:
            second.stop()


def _kill_tree(pid: int) -> None:
    """Kill the run's worker we started (and the kernel below it), by its pid."""
    try:
        process = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    tree = [process, *process.children(recursive=True)]
    for item in tree:
        try:
            item.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(tree, timeout=30)


def test_a_run_lost_with_the_server_ends_the_workflow_failed(tmp_path):
    first = _server(tmp_path)
    first.start()
    try:
        started = _start_retraining(first, tmp_path)
    except BaseException:
        with stopping_all(first):
            first.stop()
        raise
    first.stop()
    _kill_tree(started["run"]["pid"])  # the machine restarted: the run is gone too

    second = _server(tmp_path)
    with stopping_all(second):
        second.start()  # marks the run failed (its process is gone) and resumes the workflow
        try:
            workflow = wait_for(
                lambda: _finished(second, started["workflow_id"]), timeout=RUN_TIMEOUT
            )
            assert workflow["status"] == "failed" and workflow["outputs"]["state"] == "failed"
            assert "ended failed" in workflow["error"]
            assert [(s["name"], s["status"]) for s in workflow["steps"]] == [
                ("run", "failed"),
                ("gate", "skipped"),
                ("promote", "skipped"),
            ]
            alert = second.monitors.get_alert(started["anchor"])
            record = alert["details"]["retrain"]
            assert record["state"] == "failed", record
            assert [s["step"] for s in record["steps"]] == ["submitted", "run_failed"]
            assert (
                second.registry.resolve(f"{MODEL}@production")["version"]
                == (started["champion"]["version"])
            )
            # Decided: waiting returns at once with the same record.
            waited = second.monitors.wait_retraining(started["anchor"], timeout=30)
            assert waited["details"]["retrain"] == record
        finally:
            second.stop()
