"""``/mlops/api/drift/…`` in a real Jupyter server: the JSON shapes the Drift tab reads, errors,
and the scheduled check running inside the server."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from deploy_support import stopping_all
from drift_support import MODEL, dataset, drifted, logged, predict, register_champion
from tornado.httpclient import HTTPClientError

MONITOR_KEYS = {
    "id",
    "deployment_id",
    "deployment_name",
    "model_ref",
    "status",
    "last_checked_at",
    "drift_share",
    "open_alerts",
}


@pytest.fixture
def jp_server_config(jp_server_config):
    return {
        **jp_server_config,
        "MLOps": {"monitor_interval": 0.5, "deployment_poll_interval": 0.0},
    }


@pytest.fixture
def served(jp_serverapp):
    mlops = jp_serverapp.web_app.settings["mlops"]
    with stopping_all(mlops):
        data = dataset()
        register_champion(mlops, data)
        deployment = mlops.deployments.create(f"{MODEL}@production", "local")
        yield {"mlops": mlops, "deployment": deployment, **data}


async def _json(jp_fetch, *path, method="GET", body=None, **params):
    kwargs = {"method": method}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    if params:
        kwargs["params"] = params
    response = await jp_fetch("mlops", "api", "drift", *path, **kwargs)
    return response.code, json.loads(response.body)


async def _error(jp_fetch, *path, method="GET", body=None):
    with pytest.raises(HTTPClientError) as error:
        await _json(jp_fetch, *path, method=method, body=body)
    return error.value.code, json.loads(error.value.response.body)["error"]


async def _until(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"condition not met within {timeout}s")


async def test_drift_routes_json_shapes_and_errors(jp_fetch, served):
    deployment = served["deployment"]
    X_test = served["X_test"]
    code, monitor = await _json(
        jp_fetch,
        "monitors",
        method="POST",
        body={
            "deployment_id": deployment["id"],
            "interval_seconds": 3600,
            "enabled": False,  # checked by hand here; the scheduler test covers the rest
            "config": {"window": {"last_n": 150}, "rules": {"features": ["mean radius"]}},
        },
    )
    assert code == 201 and MONITOR_KEYS <= set(monitor) and monitor["enabled"] is False
    assert monitor["deployment_name"] == deployment["name"]
    assert monitor["open_alerts"] == 0 and monitor["drift_share"] is None

    predict(deployment["url"], drifted(X_test.iloc[:150], missing=0.0))
    await _until(lambda: asyncio.to_thread(logged, deployment["prediction_log"], 150))
    code, check = await _json(jp_fetch, "monitors", monitor["id"], "check", method="POST", body={})
    assert code == 200 and check["status"] == "alert"
    assert [a["rule"] for a in check["alerts"]] == ["mean_shift_pct"]

    code, listing = await _json(jp_fetch, "monitors", limit="10")
    assert set(listing) == {"items", "total", "offset", "limit"} and listing["total"] == 1
    item = listing["items"][0]
    assert item["status"] == "alert" and item["open_alerts"] == 1
    assert item["drift_share"] == check["result"]["drift_share"]
    assert item["last_checked_at"].endswith("+00:00")

    code, results = await _json(jp_fetch, "monitors", monitor["id"], "results")
    assert results["total"] == 1
    point = results["items"][0]
    assert {"window_start", "window_end", "drift_share", "n_drifted", "n_rows"} <= set(point)
    code, detail = await _json(jp_fetch, "results", str(point["id"]))
    assert {c["column"] for c in detail["columns"]} >= {"mean radius"}
    radius = next(c for c in detail["columns"] if c["column"] == "mean radius")
    assert radius["histogram"]["type"] == "numeric" and radius["p_value"] is not None

    code, alerts = await _json(jp_fetch, "alerts", acknowledged="false")
    assert alerts["total"] == 1
    alert = alerts["items"][0]
    assert alert["deployment_name"] == deployment["name"] and alert["severity"] == "warning"
    code, acked = await _json(jp_fetch, "alerts", str(alert["id"]), "ack", method="POST", body={})
    assert acked["acknowledged"] is True
    code, alerts = await _json(jp_fetch, "alerts", acknowledged="false")
    assert alerts["total"] == 0

    code, report = await _json(
        jp_fetch,
        "report",
        method="POST",
        body={"model": f"{MODEL}@production", "window": {"last_n": 100}, "methods": "psi"},
    )
    assert code == 200
    assert report["summary"]["n_current_rows"] == 100
    assert {c["method"] for c in report["columns"]} == {"psi"}
    assert set(report) == {"title", "summary", "columns", "alerts", "history", "performance"}

    code, updated = await _json(
        jp_fetch, "monitors", monitor["id"], method="PUT", body={"enabled": True}
    )
    assert updated["enabled"] is True and updated["interval_seconds"] == 3600

    # Bad input: clear 4xx JSON, nothing written.
    cases = [
        (("monitors",), "POST", {"deployment_id": "nope"}, 404, "no deployment 'nope'"),
        (("monitors",), "POST", {"deployment_id": deployment["id"], "x": 1}, 400, "unknown field"),
        (
            ("monitors",),
            "POST",
            {"deployment_id": deployment["id"], "config": {"window": {"last_n": -1}}},
            400,
            "window.last_n",
        ),
        (("monitors", "zzz"), "GET", None, 404, "no drift monitor 'zzz'"),
        (("monitors", monitor["id"]), "PUT", {"config": {"rules": {"x": 1}}}, 400, "unknown rule"),
        (("alerts", "999999", "ack"), "POST", {}, 404, "no alert 999999"),
        (("report",), "POST", {"model": "nobody@production"}, 404, "no deployment"),
        (("report",), "POST", {"model": f"{MODEL}@production", "methods": "t-test"}, 400, "method"),
        (("report",), "POST", {}, 400, "'model'"),
    ]
    for path, method, body, status, message in cases:
        code, error = await _error(jp_fetch, *path, method=method, body=body)
        assert code == status and message in error["message"], (path, error)
    code, listing = await _json(jp_fetch, "monitors")
    assert listing["total"] == 1

    code, deleted = await _json(jp_fetch, "monitors", monitor["id"], method="DELETE")
    assert deleted["deleted"] is True
    code, listing = await _json(jp_fetch, "monitors")
    assert listing["total"] == 0


async def test_scheduled_checks_run_inside_the_server(jp_fetch, served):
    deployment = served["deployment"]
    predict(deployment["url"], served["X_test"].iloc[:100])
    await _until(lambda: asyncio.to_thread(logged, deployment["prediction_log"], 100))
    code, monitor = await _json(
        jp_fetch,
        "monitors",
        method="POST",
        body={"deployment_id": deployment["id"], "interval_seconds": 0.5},
    )

    async def two_results():
        code, results = await _json(jp_fetch, "monitors", monitor["id"], "results")
        return results["total"] >= 2 and results

    results = await _until(two_results)
    assert all(r["n_rows"] == 100 for r in results["items"])
    code, item = await _json(jp_fetch, "monitors", monitor["id"])
    assert item["status"] in ("ok", "drift") and item["last_checked_at"]
