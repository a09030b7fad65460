"""Every deployment is monitored from the start (``workflows/monitoring.py``), in a real Jupyter
server with real serving processes: the monitor a deploy creates, its scheduled checks raising
the seeds' alerts, ``"monitor": false``, stop/restart pausing it, alias following moving its
reference, and deleting the deployment taking the monitor with it."""

from __future__ import annotations

import asyncio
import json

import pytest
from deploy_support import stopping_all
from drift_support import MODEL, dataset, drifted, fit, logged, predict, register_champion
from tornado.httpclient import HTTPClientError

from jupyterlab_mlops.drift.rules import DEFAULT_RULES
from jupyterlab_mlops.drift.schemas import MonitorPage

INTERVAL = 0.5


@pytest.fixture
def jp_server_config(jp_server_config):
    return {
        **jp_server_config,
        "MLOps": {"monitor_interval": INTERVAL, "deployment_poll_interval": 0.0},
    }


@pytest.fixture
def mlops(jp_serverapp):
    mlops = jp_serverapp.web_app.settings["mlops"]
    with stopping_all(mlops):
        yield mlops


async def _api(jp_fetch, *path, method="GET", body=None, **params):
    kwargs = {"method": method}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    if params:
        kwargs["params"] = params
    response = await jp_fetch("mlops", "api", *path, **kwargs)
    return json.loads(response.body)


async def _monitors(jp_fetch, deployment_id: str) -> list[dict]:
    page = await _api(jp_fetch, "drift", "monitors", deployment_id=deployment_id)
    MonitorPage.model_validate(page)
    return page["items"]


async def _until(predicate, timeout=60.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.2)


async def test_a_deployment_is_monitored_from_the_start_through_its_lifecycle(jp_fetch, mlops):
    data = dataset()
    register_champion(mlops, data)
    deployment = await _api(
        jp_fetch, "deployments", method="POST", body={"model": f"{MODEL}@production"}
    )
    assert deployment["status"] == "running"

    [monitor] = await _monitors(jp_fetch, deployment["id"])
    assert monitor["enabled"] is True
    assert monitor["model_version"] == deployment["version"]
    assert monitor["interval_seconds"] == INTERVAL  # the server's default interval
    rules = monitor["config"]["rules"]
    assert {k: rules[k] for k in DEFAULT_RULES} == DEFAULT_RULES
    assert rules["drift_share"] == 0.5 and rules["mean_shift_pct"] == 20.0
    assert rules["missing_rate"] == 0.05 and rules["performance_drop"] == 0.1
    assert monitor["config"]["window"] == {"last_n": 1000}

    # The seeds on the training rows: a key feature's mean exactly 20 % higher, 10 % of the
    # requests without a key feature.
    traffic = drifted(data["X_train"], radius=1.2, missing=0.1)
    predict(deployment["url"], traffic)
    await _until(lambda: asyncio.to_thread(logged, deployment["prediction_log"], len(traffic)))

    async def alerted():
        [item] = await _monitors(jp_fetch, deployment["id"])
        return item["status"] == "alert" and item

    item = await _until(alerted)  # the scheduler's check: nobody asked for it
    assert item["open_alerts"] >= 2
    alerts = await _api(jp_fetch, "drift", "alerts", monitor_id=monitor["id"])
    found = {(a["rule"], a["details"].get("column")) for a in alerts["items"]}
    assert ("mean_shift_pct", "mean radius") in found
    assert ("missing_rate", "mean texture") in found
    shift = next(a for a in alerts["items"] if a["rule"] == "mean_shift_pct")
    assert shift["details"]["value"] == pytest.approx(20.0, abs=1e-6)
    missing = next(a for a in alerts["items"] if a["rule"] == "missing_rate")
    assert missing["details"]["value"] > 0.05

    # The alias moves to version 2, trained on the shifted radius: serving follows, and the
    # monitor's reference is version 2's profile, against which the traffic did not shift.
    shifted = data["X_train"].copy()
    shifted["mean radius"] *= 1.2
    v2 = await asyncio.to_thread(
        mlops.registry.register,
        fit(shifted, data["y_train"]),
        MODEL,
        X_sample=shifted,
        y_sample=data["y_train"],
    )
    await asyncio.to_thread(
        mlops.registry.set_alias, MODEL, "production", v2["version"], user="test"
    )

    async def rechecked():
        [item] = await _monitors(jp_fetch, deployment["id"])
        if item["model_version"] != v2["version"] or item["latest_result_id"] is None:
            return None
        result = await _api(jp_fetch, "drift", "results", str(item["latest_result_id"]))
        return result["model_version"] == v2["version"] and result

    result = await _until(rechecked)
    radius = next(c for c in result["columns"] if c["column"] == "mean radius")
    assert abs(radius["mean_shift_pct"]) < 1e-6

    # Stopped: paused, not checked; restarted: checked again.
    await _api(jp_fetch, "deployments", deployment["id"], "stop", method="POST", body={})
    [paused] = await _monitors(jp_fetch, deployment["id"])
    assert (paused["status"], paused["enabled"]) == ("paused", False)
    assert monitor["id"] not in mlops.monitors.due()
    await _api(jp_fetch, "deployments", deployment["id"], "restart", method="POST", body={})
    [resumed] = await _monitors(jp_fetch, deployment["id"])
    assert resumed["enabled"] is True and resumed["status"] != "paused"

    # A user's "disable" is not undone by the deployment's lifecycle.
    await _api(jp_fetch, "drift", "monitors", monitor["id"], method="PUT", body={"enabled": False})
    await _api(jp_fetch, "deployments", deployment["id"], "stop", method="POST", body={})
    [off] = await _monitors(jp_fetch, deployment["id"])
    assert (off["status"], off["enabled"]) == ("disabled", False)

    # Deleting the deployment deletes its monitor and alerts.
    await _api(jp_fetch, "deployments", deployment["id"], method="DELETE")
    assert await _monitors(jp_fetch, deployment["id"]) == []
    with pytest.raises(HTTPClientError) as error:
        await _api(jp_fetch, "drift", "monitors", monitor["id"])
    assert error.value.code == 404
    assert (await _api(jp_fetch, "drift", "alerts", monitor_id=monitor["id"]))["total"] == 0


async def test_monitor_false_and_every_target_get_their_monitor(
    jp_fetch, mlops, monkeypatch, tmp_path
):
    # No engine at this address: the kubernetes target writes its manifests without an image
    # build (``make test`` runs a Docker engine, whose build would need a registry).
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    register_champion(mlops, dataset())
    unwatched = mlops.deployments.create(
        f"{MODEL}/1", "local", name="unwatched", config={"monitor": False}
    )
    assert unwatched["config"]["monitor"] is False
    assert await _monitors(jp_fetch, unwatched["id"]) == []
    # Kubernetes manifests (written, not applied here) are monitored like a local process.
    written = await _api(
        jp_fetch,
        "deployments",
        method="POST",
        body={"model": f"{MODEL}/1", "target": "kubernetes", "name": "on-k8s"},
    )
    assert written["status"] == "written"
    [monitor] = await _monitors(jp_fetch, written["id"])
    assert monitor["model_name"] == MODEL and monitor["enabled"] is True
    with pytest.raises(HTTPClientError) as error:
        await _api(
            jp_fetch,
            "deployments",
            method="POST",
            body={"model": f"{MODEL}/1", "config": {"monitor": "no"}},
        )
    assert error.value.code == 400
    assert json.loads(error.value.response.body)["error"]["details"]["field"] == "config.monitor"
