"""Drift monitors on a real local deployment: windows of its prediction log, rules, alerts
delivered to a real webhook receiver and a real SMTP server, performance from /feedback."""

from __future__ import annotations

import pytest
from deploy_support import stopping_all
from drift_support import (
    KEY_FEATURES,
    MODEL,
    NO_MONITOR,
    SmtpReceiver,
    WebhookReceiver,
    dataset,
    drifted,
    feedback,
    logged,
    predict,
    register_champion,
    retrain_notebook,
    wait_for,
)

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.drift.schemas import (
    AlertPage,
    CheckOutcome,
    DriftResultDetail,
    DriftResultPage,
    Monitor,
)
from jupyterlab_mlops.errors import InvalidInput, NotFound
from jupyterlab_mlops.events import ALERT_RAISED


@pytest.fixture
def mlops(tmp_path, request):
    """SQLite, or a fresh PostgreSQL database for the test parametrised with ``postgresql``."""
    store_url = ""
    if getattr(request, "param", "sqlite") == "postgresql":
        store_url = request.getfixturevalue("postgres_cluster").create_database()
    instance = MLOps(
        root_dir=str(tmp_path),
        store_url=store_url,
        deployment_poll_interval=0.0,
        monitor_interval=0.0,
    )
    with stopping_all(instance):
        yield instance
    instance.stop()


@pytest.fixture
def deployed(mlops):
    data = dataset()
    register_champion(mlops, data)
    deployment = mlops.deployments.create(f"{MODEL}@production", "local", config=NO_MONITOR)
    assert deployment["status"] == "running"
    return {**data, "deployment": deployment}


@pytest.mark.parametrize("mlops", ["sqlite", "postgresql"], indirect=True)
def test_monitor_alerts_on_the_seed_examples_and_delivers_them(mlops, deployed):
    deployment = deployed["deployment"]
    url, log_path = deployment["url"], deployment["prediction_log"]
    X_test = deployed["X_test"]
    with WebhookReceiver() as webhook, SmtpReceiver() as smtp:
        monitor = mlops.monitors.create(
            deployment["name"],
            config={
                "window": {"last_n": 200},
                "min_rows": 50,
                "rules": {"features": KEY_FEATURES, "drift_share": None},
                "channels": {
                    "webhook": {"url": webhook.url},
                    "email": {"to": ["ops@example.com"], "host": "127.0.0.1", "port": smtp.port},
                },
            },
            user="alice",
        )
        assert monitor["deployment_id"] == deployment["id"]
        assert monitor["model_ref"] == f"{MODEL}@production" and monitor["status"] == "unknown"

        # Too little traffic yet: no result, a clear status.
        early = mlops.monitors.check(monitor["id"])
        assert early["status"] == "insufficient_data" and early["n_rows"] == 0

        # Normal traffic: a result, no alert, nothing sent.
        body = predict(url, X_test.iloc[:200])
        assert len(body["prediction_ids"]) == 200
        assert mlops.monitors.get(monitor["id"])  # still there
        wait_for(lambda: logged(log_path, 200))
        calm = mlops.monitors.check(monitor["id"])
        assert calm["status"] in ("ok", "drift") and calm["alerts"] == []
        assert calm["result"]["n_rows"] == 200
        assert webhook.received == [] and smtp.messages == []

        # Drifted traffic: mean radius +25 %, mean texture missing in 10 % of requests.
        predict(url, drifted(X_test.iloc[:200]))
        wait_for(lambda: logged(log_path, 400))
        raised = []
        mlops.events.subscribe(ALERT_RAISED, raised.append)
        check = mlops.monitors.check(monitor["id"])
        assert check["status"] == "alert"
        CheckOutcome.model_validate(check)
        # One ALERT_RAISED per new alert, after it was stored, naming the whole batch.
        ids = [a["id"] for a in check["alerts"]]
        assert [e["alert_id"] for e in raised] == ids
        for event, alert in zip(raised, check["alerts"], strict=True):
            assert event["monitor_id"] == monitor["id"]
            assert event["deployment_id"] == deployment["id"]
            assert event["rule"] == alert["rule"]
            assert event["alert_ids"] == ids
            assert event["drift_result_id"] == check["result"]["id"]
        fired = {(a["rule"], a["details"]["column"]) for a in check["alerts"]}
        assert fired == {("mean_shift_pct", "mean radius"), ("missing_rate", "mean texture")}
        radius = next(a for a in check["alerts"] if a["rule"] == "mean_shift_pct")
        reference_mean = deployed["X_train"]["mean radius"].mean()
        current_mean = X_test["mean radius"].iloc[:200].mean() * 1.25
        expected = (current_mean - reference_mean) / reference_mean * 100
        assert radius["details"]["value"] == pytest.approx(expected, rel=1e-9)
        assert check["result"]["drifted_columns"]  # the window drifted statistically too

        # The webhook got one Slack-compatible message, the SMTP server one e-mail.
        assert len(webhook.received) == 1
        posted = webhook.received[0]
        assert posted["path"] == "/hooks/drift"
        assert posted["content_type"].startswith("application/json")
        assert "mean radius" in posted["body"]["text"]
        assert posted["body"]["blocks"][0]["type"] == "header"
        assert any(
            "missing_rate" in b.get("text", {}).get("text", "") for b in posted["body"]["blocks"]
        )
        assert len(smtp.messages) == 1
        assert smtp.messages[0]["to"] == ["ops@example.com"]
        assert "drift alert on" in smtp.messages[0]["content"]
        assert all(a["delivered"]["webhook"]["ok"] for a in check["alerts"])
        assert all(a["delivered"]["email"]["ok"] for a in check["alerts"])

        # The same problem again: counted on the open alerts, not re-sent (nor announced).
        again = mlops.monitors.check(monitor["id"])
        assert again["alerts"] == [] and again["repeated_alerts"] == 2
        assert len(raised) == len(ids)
        assert len(webhook.received) == 1
        listed = mlops.monitors.alerts(monitor_id=monitor["id"])
        AlertPage.model_validate(listed)
        assert listed["total"] == 2
        assert {a["details"]["occurrences"] for a in listed["items"]} == {2}
        assert mlops.monitors.get(monitor["id"])["open_alerts"] == 2

        # Acknowledged, the rule can open a new alert later.
        first = listed["items"][0]
        acked = mlops.monitors.acknowledge(first["id"], user="bob")
        assert acked["acknowledged"] and acked["details"]["acknowledged_by"] == "bob"
        assert mlops.monitors.get(monitor["id"])["open_alerts"] == 1

    # Results over time, oldest first, and the audit log of the model.
    series = mlops.monitors.results(monitor["id"])
    DriftResultPage.model_validate(series)
    Monitor.model_validate(mlops.monitors.get(monitor["id"]))
    assert series["total"] == 3
    assert [r["n_rows"] for r in series["items"]] == [200, 200, 200]
    assert series["items"][0]["drift_share"] < series["items"][-1]["drift_share"]
    detail = mlops.monitors.get_result(series["items"][-1]["id"])
    DriftResultDetail.model_validate(detail)
    assert {c["column"] for c in detail["columns"]} >= set(KEY_FEATURES)
    audit = mlops.registry.audit(MODEL, action="drift_alert")["items"]
    assert len(audit) == 1 and "mean radius" in audit[0]["reason"]


def test_performance_from_feedback_and_deployment_report(mlops, deployed):
    deployment = deployed["deployment"]
    url, log_path = deployment["url"], deployment["prediction_log"]
    X_test, y_test = deployed["X_test"], deployed["y_test"]
    # Strong covariate shift: every feature ×1.5. The champion gets most of them wrong.
    body = predict(url, X_test * 1.5)
    feedback(url, body["prediction_ids"], y_test)
    wait_for(lambda: logged(log_path, len(X_test), labelled=True))
    monitor = mlops.monitors.create(
        deployment["id"], config={"window": {"last_n": 500}, "rules": {"performance_drop": 0.2}}
    )
    check = mlops.monitors.check(monitor["id"])
    performance = check["performance"]
    assert performance["task"] == "classification"
    assert performance["n_labelled"] == len(X_test)
    accuracy = performance["metrics"]["accuracy"]
    model = mlops.registry.load_model(f"{MODEL}@production")
    expected = float((model.predict(X_test * 1.5) == y_test.to_numpy()).mean())
    assert accuracy["current"] == pytest.approx(expected)
    assert accuracy["registered"] == pytest.approx(
        mlops.registry.resolve(f"{MODEL}@production")["metrics"]["accuracy"]
    )
    assert accuracy["drop"] > 0.2
    rules = {a["rule"] for a in check["alerts"]}
    assert {"performance_drop", "drift_share"} <= rules

    # The ad-hoc report a magic or the REST API shows: same numbers, plus a time series.
    report = mlops.monitors.deployment_report(f"{MODEL}@production", last_n=100)
    assert report.summary["n_current_rows"] == 100
    assert report.summary["deployment"]["id"] == deployment["id"]
    assert report.performance["metrics"]["accuracy"]["current"] < 0.8
    assert report.summary["drift_share"] > 0.5


def test_monitor_validation_is_clear(mlops, deployed, tmp_path):
    deployment = deployed["deployment"]
    retrain_notebook(tmp_path)
    with pytest.raises(NotFound, match="no deployment 'nope'"):
        mlops.monitors.create("nope")
    bad = [
        ({"methods": "t-test"}, "unknown drift method 't-test'"),
        ({"methods": {"mean radius": "nope"}}, "unknown drift method 'nope'"),
        ({"methods": {"no such column": "ks"}}, "which the reference does not have"),
        ({"columns": ["no such column"]}, "columns not in the reference"),
        ({"window": {"seconds": float("nan")}}, "window.seconds"),
        ({"window": {"seconds": float("inf")}}, "window.seconds"),
        ({"rules": {"mean_shift_pct": float("inf")}}, "rules.mean_shift_pct"),
        ({"window": {"last_n": 2**70}}, "window.last_n"),
        (
            {"retrain": {"notebook": "retrain.ipynb", "parameters": {"epochs": 3}}},
            "unknown parameter 'epochs'",
        ),
        (
            {"retrain": {"notebook": "retrain.ipynb", "parameters": {"quality": ["good"]}}},
            "parameter 'quality' expects str",
        ),
        ({"window": {"last_n": 0}}, "window.last_n must be an integer >= 1"),
        ({"window": {"rows": 5}}, "window must be"),
        ({"rules": {"mean_shift_pct": -1}}, "rule 'mean_shift_pct' must be a non-negative"),
        ({"channels": {"webhook": {"url": "ftp://x"}}}, "webhook url must be an http"),
        ({"channels": {"email": {"to": ["not-an-address"]}}}, "invalid e-mail address"),
        ({"retrain": {"notebook": "../outside.ipynb"}}, "outside the server root"),
        ({"retrain": {"notebook": "missing.ipynb"}}, "no such file"),
        ({"colour": "red"}, "unknown monitor config key"),
    ]
    for config, message in bad:
        with pytest.raises((InvalidInput, NotFound, Exception), match=message):
            mlops.monitors.create(deployment["id"], config=config)
    fields = {
        "config.methods": {"methods": "t-test"},
        "config.window.seconds": {"window": {"seconds": float("nan")}},
        "config.retrain.parameters.epochs": {
            "retrain": {"notebook": "retrain.ipynb", "parameters": {"epochs": 3}}
        },
        "config.retrain.parameters.quality": {
            "retrain": {"notebook": "retrain.ipynb", "parameters": {"quality": {"a": 1}}}
        },
    }
    for field, config in fields.items():
        with pytest.raises(InvalidInput) as error:
            mlops.monitors.create(deployment["id"], config=config)
        assert error.value.details["field"] == field, error.value.details
    for interval in (float("inf"), float("nan"), -1, 0, "x", True, 1e300):
        with pytest.raises(InvalidInput, match="interval_seconds") as error:
            mlops.monitors.create(deployment["id"], interval_seconds=interval)
        assert error.value.details["field"] == "interval_seconds"
    assert mlops.monitors.list()["total"] == 0  # nothing half-written
    monitor = mlops.monitors.create(deployment["id"], interval_seconds=60)
    updated = mlops.monitors.update(monitor["id"], {"enabled": False})
    assert updated["enabled"] is False and updated["status"] == "disabled"
    assert mlops.monitors.due() == []
    with pytest.raises(InvalidInput, match="cannot update"):
        mlops.monitors.update(monitor["id"], {"deployment_id": "x"})
    for changes in (
        {"interval_seconds": float("inf")},
        {"config": {"methods": "t-test"}},
        {"config": {"retrain": {"notebook": "retrain.ipynb", "parameters": {"epochs": 3}}}},
    ):
        with pytest.raises(InvalidInput):
            mlops.monitors.update(monitor["id"], changes)
    unchanged = mlops.monitors.get(monitor["id"])
    assert unchanged["interval_seconds"] == 60 and unchanged["config"]["methods"] is None
    assert unchanged["config"]["retrain"] is None
    deleted = mlops.monitors.delete(monitor["id"])
    assert deleted["deleted"] is True
    with pytest.raises(NotFound):
        mlops.monitors.get(monitor["id"])
