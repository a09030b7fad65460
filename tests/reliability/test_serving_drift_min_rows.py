"""A drift report over too few predictions is no alarm: through the real Jupyter server, an empty
window (``since`` in 2099) and a window under ``min_rows`` answer ``verdict:
insufficient_data`` with no drift share and no alert; NaN/Infinity in the window is a 400 naming
the field."""

from __future__ import annotations

import json

import pytest
from deploy_support import stopping_all
from drift_support import MODEL, NO_MONITOR, dataset, logged, predict, register_champion
from polling import wait_for
from tornado.httpclient import HTTPClientError

from jupyterlab_mlops.drift.schemas import Report


@pytest.fixture
def jp_server_config(jp_server_config):
    return {**jp_server_config, "MLOps": {"monitor_interval": 0.0, "deployment_poll_interval": 0.0}}


@pytest.fixture
def served(jp_serverapp):
    mlops = jp_serverapp.web_app.settings["mlops"]
    with stopping_all(mlops):
        data = dataset()
        register_champion(mlops, data)
        deployment = mlops.deployments.create(f"{MODEL}@production", "local", config=NO_MONITOR)
        yield {"mlops": mlops, "deployment": deployment, **data}


async def _report(jp_fetch, body: dict) -> dict:
    response = await jp_fetch(
        "mlops", "api", "drift", "report", method="POST", body=json.dumps(body)
    )
    assert response.code == 200
    return json.loads(response.body)


async def test_reports_below_min_rows_are_insufficient_data(jp_fetch, served):
    deployment, X_test = served["deployment"], served["X_test"]
    predict(deployment["url"], X_test.iloc[:12])
    wait_for(lambda: logged(deployment["prediction_log"], 12))

    empty = await _report(
        jp_fetch, {"model": f"{MODEL}@production", "window": {"since": "2099-01-01T00:00:00Z"}}
    )
    Report.model_validate(empty)
    summary = empty["summary"]
    assert summary["verdict"] == "insufficient_data" and summary["n_current_rows"] == 0
    assert summary["drift_share"] is None and summary["dataset_drift"] is False
    assert summary["min_rows"] == 30 and empty["alerts"] == [] and empty["columns"] == []

    few = await _report(jp_fetch, {"model": f"{MODEL}@production"})  # 12 rows < 30
    assert few["summary"]["verdict"] == "insufficient_data"
    assert few["summary"]["n_current_rows"] == 12 and few["summary"]["drift_share"] is None

    enough = await _report(jp_fetch, {"model": f"{MODEL}@production", "min_rows": 10})
    assert enough["summary"]["verdict"] in ("ok", "drift")
    assert isinstance(enough["summary"]["drift_share"], float) and enough["columns"]

    mlops = served["mlops"]
    monitor = mlops.monitors.create(deployment["id"], config={"window": {"last_n": 100}})
    outcome = mlops.monitors.check(monitor["id"])
    assert outcome["status"] == "insufficient_data" and outcome["alerts"] == []
    assert mlops.monitors.alerts(monitor_id=monitor["id"])["items"] == []


async def test_non_finite_windows_are_400_naming_the_field(jp_fetch, jp_serverapp):
    cases = [
        ('{"seconds": NaN}', "window.seconds"),
        ('{"seconds": Infinity}', "window.seconds"),
        ('{"since": -Infinity}', "window.since"),
        ('{"since": "NaN"}', "window.since"),
    ]
    for window, field in cases:
        raw = f'{{"model": "{MODEL}@production", "window": {window}}}'
        with pytest.raises(HTTPClientError) as error:
            await jp_fetch("mlops", "api", "drift", "report", method="POST", body=raw)
        assert error.value.code == 400, window
        assert json.loads(error.value.response.body)["error"]["details"]["field"] == field
