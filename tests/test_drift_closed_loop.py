"""The closed loop on a real deployment: drifted traffic → alert → retraining run (papermill)
→ challenger registered → gate on fresh labelled predictions → promotion (the alias-following
deployment moves) or refusal; every step in the alert details and the model's audit log."""

from __future__ import annotations

import httpx
import pytest
from _runs_support import write_notebook
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
from jupyterlab_mlops.drift.schemas import Alert, CheckOutcome, Monitor, RetrainRecord
from jupyterlab_mlops.errors import InvalidInput

RUN_TIMEOUT = 240.0


@pytest.fixture
def mlops(tmp_path):
    instance = MLOps(root_dir=str(tmp_path), deployment_poll_interval=0.0, monitor_interval=0.0)
    with stopping_all(instance):
        yield instance
    instance.runs.stop()
    instance.stop()


def _send_labelled(deployment: dict, X, y, total: int) -> None:
    body = predict(deployment["url"], X)
    feedback(deployment["url"], body["prediction_ids"], y)
    wait_for(lambda: logged(deployment["prediction_log"], total, labelled=True))


def test_drift_retrains_promotes_a_better_challenger_and_refuses_a_worse_one(mlops, tmp_path):
    data = dataset()
    champion = register_champion(mlops, data)
    mlops.registry.set_gate(MODEL, {"compare": {"metric": "accuracy", "mode": "max"}}, user="t")
    deployment = mlops.deployments.create(f"{MODEL}@production", "local", config=NO_MONITOR)
    retrain_notebook(tmp_path)
    monitor = mlops.monitors.create(
        deployment["id"],
        config={
            "window": {"last_n": 300},
            "rules": {"performance_drop": 0.2},
            "retrain": {
                "notebook": "retrain.ipynb",
                "parameters": {"prediction_log": "${prediction_log}", "quality": "good"},
                "cooldown_seconds": 0,
                "min_labelled": 50,
            },
        },
        user="alice",
    )
    assert monitor["config"]["retrain"]["alias"] == "production"
    Monitor.model_validate(monitor)

    # Drifted traffic whose labels come back: every feature ×1.5.
    X_test, y_test = data["X_test"], data["y_test"]
    _send_labelled(deployment, X_test * 1.5, y_test, len(X_test))
    check = mlops.monitors.check(monitor["id"])
    assert check["status"] == "alert"
    assert {"drift_share", "performance_drop"} <= {a["rule"] for a in check["alerts"]}
    retrain = check["retrain"]
    assert retrain["state"] == "submitted", retrain
    CheckOutcome.model_validate(check)
    run = mlops.runs.get(retrain["run_id"])
    assert run["trigger"] == "drift"
    assert run["trigger_details"]["monitor_id"] == monitor["id"]
    assert run["trigger_details"]["deployment_id"] == deployment["id"]
    assert set(run["trigger_details"]["alert_ids"]) == {a["id"] for a in check["alerts"]}
    assert run["parameters"]["prediction_log"] == deployment["prediction_log"]

    # The run registers a challenger; the gate compares both on the fresh labelled data.
    anchor = check["alerts"][0]["id"]
    alert = mlops.monitors.wait_retraining(anchor, timeout=RUN_TIMEOUT)
    record = alert["details"]["retrain"]
    assert record["state"] == "promoted", record
    Alert.model_validate(alert)
    RetrainRecord.model_validate(record)
    workflow = mlops.workflow_records.get(record["workflow_id"])
    assert workflow["kind"] == "retrain" and workflow["subject"] == str(anchor)
    assert workflow["status"] == "succeeded" and workflow["outputs"]["state"] == "promoted"
    assert [s["status"] for s in workflow["steps"]] == ["succeeded"] * 3
    challenger = record["challenger_version"]
    assert challenger == champion["version"] + 1
    assert mlops.registry.resolve(f"{MODEL}/{challenger}")["run_id"] == run["id"]
    fresh = record["gate"]["fresh_metrics"]
    assert fresh[str(challenger)]["accuracy"] > fresh[str(champion["version"])]["accuracy"]
    assert [s["step"] for s in record["steps"]] == ["submitted", "registered", "gate", "promotion"]
    assert mlops.registry.resolve(f"{MODEL}@production")["version"] == challenger

    # The alias-following deployment serves the challenger now.
    moved = wait_for(
        lambda: mlops.deployments.get(deployment["id"], stats=False)["version"] == challenger,
        timeout=60,
    )
    assert moved
    served = predict(deployment["url"], X_test.head(5) * 1.5)
    assert served["version"] == challenger

    actions = [e["action"] for e in mlops.registry.audit(MODEL, limit=100)["items"]]
    for action in ("drift_alert", "drift_retrain_submitted", "drift_gate_passed", "set_alias"):
        assert action in actions
    promotion = mlops.registry.audit(MODEL, action="set_alias")["items"][0]
    assert promotion["to_version"] == challenger and "drift retraining" in promotion["reason"]

    # Next time the retraining produces a worse model: the gate refuses it.
    for item in mlops.monitors.alerts(monitor_id=monitor["id"])["items"]:
        mlops.monitors.acknowledge(item["id"], user="alice")
    config = mlops.monitors.get(monitor["id"])["config"]
    config["retrain"]["parameters"]["quality"] = "bad"
    config["rules"]["drift_share"] = 0.2
    config.pop("last_error", None)
    mlops.monitors.update(monitor["id"], {"config": config})
    # Traffic back at the original scale: drift against the new version's reference.
    _send_labelled(deployment, X_test, y_test, 2 * len(X_test))
    second = mlops.monitors.check(monitor["id"])
    assert second["alerts"] and second["retrain"]["state"] == "submitted", second["retrain"]
    refused = mlops.monitors.wait_retraining(second["alerts"][0]["id"], timeout=RUN_TIMEOUT)
    record = refused["details"]["retrain"]
    assert record["state"] == "refused", record
    workflow = mlops.workflow_records.get(record["workflow_id"])
    assert workflow["status"] == "succeeded" and workflow["outputs"]["state"] == "refused"
    assert [(s["name"], s["status"]) for s in workflow["steps"]] == [
        ("run", "succeeded"),
        ("gate", "succeeded"),
        ("promote", "skipped"),
    ]
    assert workflow["steps"][1]["outputs"]["passed"] is False
    assert "challenger refused" in record["steps"][-1]["message"]
    assert mlops.registry.resolve(f"{MODEL}@production")["version"] == challenger
    assert mlops.deployments.get(deployment["id"], stats=False)["version"] == challenger
    refusal = mlops.registry.audit(MODEL, action="drift_gate_refused")["items"]
    assert len(refusal) == 1 and refusal[0]["to_version"] == challenger + 1
    assert httpx.get(f"{deployment['url']}/health", timeout=10, trust_env=False).status_code == 200


def test_a_monitor_can_retrain_through_a_pipeline(mlops, tmp_path):
    """``retrain.pipeline``: the alert starts a pipeline run; the version its train step
    registered is the challenger, judged and promoted as a notebook's would be."""
    data = dataset()
    champion = register_champion(mlops, data)
    mlops.registry.set_gate(MODEL, {"compare": {"metric": "accuracy", "mode": "max"}}, user="t")
    deployment = mlops.deployments.create(f"{MODEL}@production", "local", config=NO_MONITOR)
    retrain_notebook(tmp_path)
    write_notebook(tmp_path / "check.ipynb", ["print('inputs look fine')"])
    (tmp_path / "retrain.pipeline.yaml").write_text(
        "name: retrain\n"
        "parameters: {prediction_log: '', quality: good}\n"
        "steps:\n"
        "  - {name: check, notebook: check.ipynb}\n"
        "  - name: train\n"
        "    notebook: retrain.ipynb\n"
        "    depends_on: [check]\n"
        "    parameters: {prediction_log: '${parameters.prediction_log}',"
        " quality: '${parameters.quality}'}\n"
    )
    config = {
        "window": {"last_n": 300},
        "rules": {"performance_drop": 0.2},
        "retrain": {
            "pipeline": "retrain.pipeline.yaml",
            "parameters": {"prediction_log": "${prediction_log}", "quality": "good"},
            "cooldown_seconds": 0,
            "min_labelled": 50,
        },
    }
    # Refused up front, naming the field: both targets, and a parameter the pipeline lacks.
    with pytest.raises(InvalidInput, match="exactly one of 'notebook' and 'pipeline'"):
        mlops.monitors.create(
            deployment["id"],
            config={**config, "retrain": {**config["retrain"], "notebook": "retrain.ipynb"}},
        )
    with pytest.raises(InvalidInput) as caught:
        bad = {**config["retrain"], "parameters": {"epochs": 3}}
        mlops.monitors.create(deployment["id"], config={**config, "retrain": bad})
    assert caught.value.details["field"] == "config.retrain.parameters.epochs"
    assert mlops.monitors.list()["total"] == 0

    monitor = mlops.monitors.create(deployment["id"], config=config, user="alice")
    assert monitor["config"]["retrain"]["pipeline"] == "retrain.pipeline.yaml"
    X_test, y_test = data["X_test"], data["y_test"]
    _send_labelled(deployment, X_test * 1.5, y_test, len(X_test))
    check = mlops.monitors.check(monitor["id"])
    retrain = check["retrain"]
    assert retrain["state"] == "submitted" and retrain["pipeline_run_id"], retrain
    flow = mlops.pipelines.get(retrain["pipeline_run_id"])
    assert flow["trigger"] == "drift"
    assert flow["parameters"]["prediction_log"] == deployment["prediction_log"]

    alert = mlops.monitors.wait_retraining(check["alerts"][0]["id"], timeout=RUN_TIMEOUT)
    record = alert["details"]["retrain"]
    assert record["state"] == "promoted", record
    RetrainRecord.model_validate(record)
    challenger = record["challenger_version"]
    assert challenger == champion["version"] + 1
    steps = {s["name"]: s for s in mlops.pipelines.get(flow["id"])["steps"]}
    assert [steps[n]["status"] for n in ("check", "train")] == ["succeeded", "succeeded"]
    assert mlops.registry.resolve(f"{MODEL}/{challenger}")["run_id"] == steps["train"]["run_id"]
    assert mlops.registry.resolve(f"{MODEL}@production")["version"] == challenger
    submitted = mlops.registry.audit(MODEL, action="drift_retrain_submitted")["items"][0]
    assert flow["id"] in submitted["reason"]
