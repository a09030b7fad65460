"""``/mlops/api/drift/…`` in a real Jupyter server: the JSON shapes the Drift tab reads, errors,
and the scheduled check running inside the server."""

from __future__ import annotations

import asyncio
import json
import math
import time
from pathlib import Path

import pytest
from deploy_support import stopping_all
from drift_support import (
    MODEL,
    NO_MONITOR,
    dataset,
    drifted,
    logged,
    predict,
    register_champion,
    retrain_notebook,
)
from tornado.httpclient import HTTPClientError

from jupyterlab_mlops.drift.charts import EMBED_OPTIONS, VEGALITE_MIME, history_spec
from jupyterlab_mlops.drift.schemas import (
    Alert,
    AlertPage,
    Chart,
    CheckOutcome,
    DriftResultDetail,
    DriftResultPage,
    Monitor,
    MonitorDeleted,
    MonitorPage,
    Report,
)
from jupyterlab_mlops.store import models as m

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
        deployment = mlops.deployments.create(f"{MODEL}@production", "local", config=NO_MONITOR)
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


async def _raw_error(jp_fetch, *path, method="POST", raw: str = "", **params):
    """An error answer to a raw body (``Infinity``, ``1e400`` and deep nesting are no
    ``json.dumps`` output)."""
    kwargs = {"method": method, "body": raw} if method != "GET" else {"method": "GET"}
    if params:
        kwargs["params"] = params
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("mlops", "api", "drift", *path, **kwargs)
    return error.value.code, json.loads(error.value.response.body)["error"]


def _strict_json(raw: bytes):
    """Decode as a strict JSON parser (a browser's) does: NaN and Infinity are not JSON."""

    def refuse(name):
        raise ValueError(f"non-JSON constant {name}")

    return json.loads(raw, parse_constant=refuse)


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
    Monitor.model_validate(monitor)
    assert monitor["deployment_name"] == deployment["name"]
    assert monitor["open_alerts"] == 0 and monitor["drift_share"] is None

    predict(deployment["url"], drifted(X_test.iloc[:150], missing=0.0))
    await _until(lambda: asyncio.to_thread(logged, deployment["prediction_log"], 150))
    code, check = await _json(jp_fetch, "monitors", monitor["id"], "check", method="POST", body={})
    assert code == 200 and check["status"] == "alert"
    assert [a["rule"] for a in check["alerts"]] == ["mean_shift_pct"]
    CheckOutcome.model_validate(check)

    code, listing = await _json(jp_fetch, "monitors", limit="10")
    MonitorPage.model_validate(listing)
    assert set(listing) == {"items", "total", "offset", "limit"} and listing["total"] == 1
    item = listing["items"][0]
    assert item["status"] == "alert" and item["open_alerts"] == 1
    assert item["drift_share"] == check["result"]["drift_share"]
    assert item["last_checked_at"].endswith("+00:00")

    code, results = await _json(jp_fetch, "monitors", monitor["id"], "results")
    DriftResultPage.model_validate(results)
    assert results["total"] == 1
    point = results["items"][0]
    assert {"window_start", "window_end", "drift_share", "n_drifted", "n_rows"} <= set(point)
    # The drift share over time for the panel: the widget's Vega-Lite chart, as a mime bundle.
    code, chart = await _json(jp_fetch, "monitors", monitor["id"], "chart", limit="50")
    Chart.model_validate(chart)
    spec = chart["data"][VEGALITE_MIME]
    assert spec == history_spec([{**point, "threshold": 0.5}], width="container")
    assert [v["drift_share"] for v in spec["data"]["values"]] == [point["drift_share"]]
    assert chart["metadata"] == {VEGALITE_MIME: {"embed_options": EMBED_OPTIONS}}
    assert chart["points"] == 1 and chart["description"] == spec["description"]
    code, detail = await _json(jp_fetch, "results", str(point["id"]))
    DriftResultDetail.model_validate(detail)
    assert {c["column"] for c in detail["columns"]} >= {"mean radius"}
    radius = next(c for c in detail["columns"] if c["column"] == "mean radius")
    assert radius["histogram"]["type"] == "numeric" and radius["p_value"] is not None

    code, alerts = await _json(jp_fetch, "alerts", acknowledged="false")
    AlertPage.model_validate(alerts)
    assert alerts["total"] == 1
    alert = alerts["items"][0]
    assert alert["deployment_name"] == deployment["name"] and alert["severity"] == "warning"
    code, acked = await _json(jp_fetch, "alerts", str(alert["id"]), "ack", method="POST", body={})
    assert acked["acknowledged"] is True
    Alert.model_validate(acked)
    code, alerts = await _json(jp_fetch, "alerts", acknowledged="false")
    assert alerts["total"] == 0

    code, report = await _json(
        jp_fetch,
        "report",
        method="POST",
        body={"model": f"{MODEL}@production", "window": {"last_n": 100}, "methods": "psi"},
    )
    assert code == 200
    Report.model_validate(report)
    assert report["summary"]["n_current_rows"] == 100
    assert {c["method"] for c in report["columns"]} == {"psi"}
    assert set(report) == {"title", "summary", "columns", "alerts", "history", "performance"}
    estimated = report["performance"]["estimated"]  # CBPE: the champion was registered with y
    assert estimated["available"] is True and estimated["n"] == 100
    assert 0 <= estimated["metrics"]["accuracy"]["estimated"] <= 1

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
        (("monitors", "zzz", "chart"), "GET", None, 404, "no drift monitor 'zzz'"),
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
    MonitorDeleted.model_validate(deleted)
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
    assert "drift.monitors" in served["mlops"].scheduler.jobs
    code, item = await _json(jp_fetch, "monitors", monitor["id"])
    assert item["status"] in ("ok", "drift") and item["last_checked_at"]


async def test_bad_input_is_a_400_naming_the_field_and_nothing_is_stored(jp_fetch, served):
    mlops, deployment = served["mlops"], served["deployment"]
    retrain_notebook(Path(mlops.root_dir))
    good = {"deployment_id": deployment["id"], "interval_seconds": 60}
    code, monitor = await _json(jp_fetch, "monitors", method="POST", body=good)
    assert code == 201
    deployment_id = json.dumps(deployment["id"])

    def create(fragment: str) -> str:
        return f'{{"deployment_id": {deployment_id}, {fragment}}}'

    def retrain(parameters: str) -> str:
        return (
            f'"config": {{"retrain": {{"notebook": "retrain.ipynb", "parameters": {parameters}}}}}'
        )

    bodies = {
        '"interval_seconds": Infinity': "interval_seconds",
        '"interval_seconds": -Infinity': "interval_seconds",
        '"interval_seconds": NaN': "interval_seconds",
        '"interval_seconds": 1e400': "interval_seconds",
        '"interval_seconds": -1': "interval_seconds",
        '"interval_seconds": 0': "interval_seconds",
        '"interval_seconds": "x"': "interval_seconds",
        '"interval_seconds": true': "interval_seconds",
        '"config": {"methods": "t-test"}': "config.methods",
        '"config": {"methods": {"mean radius": "nope"}}': "config.methods",
        '"config": {"methods": {"no such column": "ks"}}': "config.methods",
        '"config": {"window": {"seconds": NaN}}': "config.window.seconds",
        '"config": {"window": {"seconds": 1e400}}': "config.window.seconds",
        '"config": {"window": {"last_n": 99999999999999999999999}}': "config.window.last_n",
        '"config": {"rules": {"drift_share": Infinity}}': "config.rules.drift_share",
        retrain('{"epochs": 3}'): "config.retrain.parameters.epochs",
        retrain('{"quality": ["good"]}'): "config.retrain.parameters.quality",
        '"config": {"retrain": {"notebook": "missing.ipynb"}}': "config.retrain.notebook",
    }
    for fragment, field in bodies.items():
        code, error = await _raw_error(jp_fetch, "monitors", raw=create(fragment))
        assert code == 400, (fragment, error)
        assert error["details"]["field"] == field, (fragment, error)
        assert field.rsplit(".", 1)[-1] in error["message"] or "method" in error["message"], (
            fragment,
            error,
        )
    # The same values in an update: refused, the monitor unchanged.
    for fragment, field in bodies.items():
        if "interval" not in fragment and "config" not in fragment:
            continue
        code, error = await _raw_error(
            jp_fetch, "monitors", monitor["id"], method="PUT", raw="{" + fragment + "}"
        )
        assert code == 400 and error["details"]["field"] == field, (fragment, error)
    # Deep nesting, anywhere: a 400, never a 500 (nor a crash).
    deep = "[" * 100_000
    for raw in (deep, create(f'"config": {deep}'), create(f'"config": {{"methods": {deep}')):
        code, error = await _raw_error(jp_fetch, "monitors", raw=raw)
        assert code == 400 and "nests deeper" in error["message"], error
    code, error = await _raw_error(jp_fetch, "report", raw=deep)
    assert code == 400 and "nests deeper" in error["message"], error
    # Query strings.
    huge = "99999999999999999999999"
    for path, params, field in (
        (("monitors",), {"offset": huge}, "offset"),
        (("monitors",), {"limit": "0"}, "limit"),
        (("monitors",), {"limit": "x"}, "limit"),
        (("alerts",), {"offset": huge}, "offset"),
        (("alerts",), {"acknowledged": "maybe"}, "acknowledged"),
        (("monitors", monitor["id"], "results"), {"offset": huge}, "offset"),
        (("monitors", monitor["id"], "chart"), {"limit": "501"}, "limit"),
    ):
        code, error = await _raw_error(jp_fetch, *path, method="GET", **params)
        assert code == 400 and error["details"]["field"] == field, (path, params, error)
    # The report's window and methods.
    for fragment, field in (
        ('"window": {"seconds": NaN}', "window.seconds"),
        ('"window": {"last_n": 1e30}', "window.last_n"),
        ('"window": {"since": "yesterday"}', "window.since"),
        ('"methods": "t-test"', "methods"),
    ):
        raw = f'{{"model": "{MODEL}@production", {fragment}}}'
        code, error = await _raw_error(jp_fetch, "report", raw=raw)
        assert code == 400 and error["details"]["field"] == field, (fragment, error)

    code, listing = await _json(jp_fetch, "monitors")
    assert listing["total"] == 1  # nothing else was stored
    stored = listing["items"][0]
    assert stored["interval_seconds"] == 60
    assert stored["config"]["methods"] is None and stored["config"]["retrain"] is None
    assert stored["config"]["window"] == {"last_n": 1000}


async def test_monitor_list_is_strict_json_even_with_a_legacy_infinite_row(jp_fetch, served):
    """A monitor stored by an older version with ``Infinity`` in it must not break the list
    (the Drift tab's JSON parser refuses NaN/Infinity)."""
    mlops, deployment = served["mlops"], served["deployment"]
    with mlops.db.session() as session:  # what the old code let through
        session.add(
            m.Monitor(
                id="legacyinf",
                deployment_id=deployment["id"],
                interval_seconds=math.inf,
                config={"window": {"seconds": math.inf}, "rules": {"drift_share": math.nan}},
            )
        )
    response = await jp_fetch("mlops", "api", "drift", "monitors")
    listing = _strict_json(response.body)
    legacy = next(item for item in listing["items"] if item["id"] == "legacyinf")
    assert legacy["interval_seconds"] is None
    assert legacy["config"]["window"] == {"seconds": None}
    response = await jp_fetch("mlops", "api", "drift", "monitors", "legacyinf")
    assert _strict_json(response.body)["interval_seconds"] is None
    assert "legacyinf" not in mlops.monitors.due()  # and the scheduler never trips over it


async def test_openapi_describes_every_drift_route(jp_fetch):
    response = await jp_fetch("mlops", "api", "openapi.json")
    document = json.loads(response.body)
    paths = document["paths"]
    expected = {
        "/mlops/api/drift/monitors": {"get", "post"},
        "/mlops/api/drift/monitors/{monitor_id}": {"get", "put", "delete"},
        "/mlops/api/drift/monitors/{monitor_id}/check": {"post"},
        "/mlops/api/drift/monitors/{monitor_id}/results": {"get"},
        "/mlops/api/drift/monitors/{monitor_id}/chart": {"get"},
        "/mlops/api/drift/results/{item_id}": {"get"},
        "/mlops/api/drift/alerts": {"get"},
        "/mlops/api/drift/alerts/{item_id}/ack": {"post"},
        "/mlops/api/drift/report": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
    create = paths["/mlops/api/drift/monitors"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/MonitorCreate"
    )
    assert "201" in create["responses"] and "400" in create["responses"]
    schemas = document["components"]["schemas"]
    assert {"Monitor", "MonitorConfig", "Alert", "DriftResult", "Report"} <= set(schemas)
    assert schemas["MonitorCreate"]["properties"]["interval_seconds"]
    listing = paths["/mlops/api/drift/monitors"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"offset", "limit", "deployment_id"}
