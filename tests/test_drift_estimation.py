"""Performance estimated without labels (CBPE) against the truth of a synthetic dataset.

The data: y ~ Bernoulli(sigmoid(w·x)), so P(y | x) is known and stays fixed while the inputs
shift (covariate shift). Shrinking x toward 0 moves the mass toward the decision boundary, where
the model is least sure: accuracy falls from ≈ 0.80 to ≈ 0.62 without any change in the model.

Tolerance: the estimate is within ±0.03 of the metric realised from the true labels (accuracy,
F1 and ROC AUC), on windows of 5 000 predictions with a reference of 5 000 labelled rows; over
20 seeds the error had mean < 0.003 and standard deviation ≈ 0.01, so 0.03 is ≈ 3 σ. The model
is Gaussian naive Bayes: its probabilities are off, so the isotonic calibration fitted at
registration is what makes the estimate right. The end-to-end test goes through registration,
a real local deployment, its prediction log and monitor checks (no labels, then with labels
from /feedback).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from deploy_support import stopping_all
from drift_support import feedback, logged, predict, wait_for
from sklearn.linear_model import LinearRegression, Perceptron
from sklearn.naive_bayes import GaussianNB

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.drift import estimation
from jupyterlab_mlops.drift import rules as drift_rules
from jupyterlab_mlops.drift.checks import Checks, estimator_of
from jupyterlab_mlops.drift.schemas import CheckOutcome
from jupyterlab_mlops.errors import InvalidInput

TOLERANCE = 0.03
WEIGHTS = np.array([2.0, -1.0, 0.5])
COLUMNS = ["a", "b", "c"]


def draw(rng, n: int, scale: float = 1.0) -> tuple[pd.DataFrame, np.ndarray]:
    X = rng.normal(0.0, scale, (n, WEIGHTS.size))
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ WEIGHTS)))).astype(int)
    return pd.DataFrame(X, columns=COLUMNS), y


def draw_multiclass(rng, n: int, weights: np.ndarray, scale: float = 1.0):
    X = rng.normal(0.0, scale, (n, weights.shape[0]))
    logits = X @ weights
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (rng.random((n, 1)) > p.cumsum(axis=1)).sum(axis=1)
    return pd.DataFrame(X, columns=COLUMNS), y


def realised(model, X, y) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    proba, pred = model.predict_proba(X), model.predict(X)
    if proba.shape[1] == 2:
        return {
            "accuracy": accuracy_score(y, pred),
            "f1": f1_score(y, pred),
            "roc_auc": roc_auc_score(y, proba[:, 1]),
        }
    return {
        "accuracy": accuracy_score(y, pred),
        "f1": f1_score(y, pred, average="macro"),
        "roc_auc": roc_auc_score(y, proba, multi_class="ovr"),
    }


def window_estimate(estimator, model, X, y=None) -> dict:
    return estimation.estimate(
        estimator,
        model.predict_proba(X).tolist(),
        model.predict(X).tolist(),
        None if y is None else y.tolist(),
    )


@pytest.mark.parametrize("multiclass", [False, True], ids=["binary", "multiclass"])
def test_estimate_tracks_realised_performance_under_covariate_shift(multiclass):
    rng = np.random.default_rng(7)
    if multiclass:
        weights = rng.normal(0.0, 1.5, (3, 4))

        def sample(n, scale=1.0):
            return draw_multiclass(rng, n, weights, scale)
    else:

        def sample(n, scale=1.0):
            return draw(rng, n, scale)

    X_train, y_train = sample(5000)
    X_reference, y_reference = sample(5000)
    model = GaussianNB().fit(X_train, y_train)
    estimator = estimation.fit_estimator(model, X_reference, y_reference)
    assert estimator["available"] and any(estimator["calibrators"])
    # Plain data: what the version's profile stores (JSON, never a pickle).
    estimator = json.loads(json.dumps(estimator))
    reference_truth = realised(model, X_reference, y_reference)
    for name, value in reference_truth.items():
        assert estimator["reference"][name] == pytest.approx(value)

    for scale in (1.0, 0.5, 0.3):
        X, y = sample(5000, scale)
        truth = realised(model, X, y)
        unlabelled = window_estimate(estimator, model, X)
        assert unlabelled["n"] == 5000 and unlabelled["n_labelled"] == 0
        for name, value in truth.items():
            entry = unlabelled["metrics"][name]
            assert entry["realised"] is None
            assert entry["estimated"] == pytest.approx(value, abs=TOLERANCE), (scale, name)
            assert entry["drop"] == pytest.approx(
                (entry["reference"] - entry["estimated"]) / entry["reference"]
            )
        labelled = window_estimate(estimator, model, X, y)
        for name, value in truth.items():
            assert labelled["metrics"][name]["realised"] == pytest.approx(value)

        alerts = drift_rules.evaluate(
            {"drift_share": 0.0}, [], {}, {"metrics": {}, "estimated": unlabelled}
        )
        rule = "estimated_performance_drop"
        fired = {a["details"]["metric"] for a in alerts if a["rule"] == rule}
        expected = {n for n, e in unlabelled["metrics"].items() if e["drop"] > 0.1}
        assert fired == expected
        if scale == 1.0:
            assert fired == set()  # the reference's own distribution: no drop
        if scale == 0.3:
            assert "accuracy" in fired  # the shift toward the boundary is caught without labels
    off = drift_rules.evaluate(
        {}, [], {"estimated_performance_drop": None}, {"estimated": unlabelled}
    )
    assert off == []


def test_models_without_probabilities_and_bad_probabilities_say_why():
    rng = np.random.default_rng(1)
    X, y = draw(rng, 300)
    regressor = estimation.fit_estimator(LinearRegression().fit(X, y), X, y)
    assert regressor["available"] is False
    assert "no predict_proba" in regressor["reason"] and "classifiers" in regressor["reason"]
    perceptron = estimation.fit_estimator(Perceptron().fit(X, y), X, y)
    assert perceptron["available"] is False and "predict_proba" in perceptron["reason"]
    assert estimation.fit_estimator(GaussianNB().fit(X, y), X, None) is None  # no labels

    block = estimation.estimate(regressor, [], [])
    assert block == {"method": "cbpe", "available": False, "reason": regressor["reason"]}
    assert "y_sample" in estimation.estimate(None, [], [])["reason"]
    assert drift_rules.evaluate({}, [], {}, {"estimated": block}) == []

    model = GaussianNB().fit(X, y)
    estimator = estimation.fit_estimator(model, X, y)
    missing = estimation.estimate(estimator, [None, None], [0, 1])
    assert missing["available"] is False and "no probabilities" in missing["reason"]
    with pytest.raises(InvalidInput) as error:
        estimation.estimate(estimator, [[0.2, 0.3, 0.5]], [1])
    assert error.value.status == 400 and "(rows × 2)" in error.value.message
    with pytest.raises(InvalidInput, match="within"):
        estimation.estimate(estimator, [[1.5, -0.5]], [0])


@pytest.fixture
def mlops(tmp_path):
    instance = MLOps(root_dir=str(tmp_path), deployment_poll_interval=0.0, monitor_interval=0.0)
    with stopping_all(instance):
        yield instance
    instance.stop()


def test_a_deployment_window_is_estimated_without_labels_then_compared(mlops):
    rng = np.random.default_rng(3)
    X_train, y_train = draw(rng, 5000)
    X_reference, y_reference = draw(rng, 5000)
    model = GaussianNB().fit(X_train, y_train)
    version = mlops.registry.register(
        model, "synthetic", X_sample=X_reference, y_sample=y_reference
    )
    stored = mlops.registry.resolve(("synthetic", version["version"]))["profile"]
    assert stored["performance_estimation"]["classes"] == ["0", "1"]
    mlops.registry.set_alias("synthetic", "production", version["version"], user="test")
    deployment = mlops.deployments.create("synthetic@production", "local")
    assert deployment["status"] == "running"
    url, log_path = deployment["url"], deployment["prediction_log"]

    X, y = draw(rng, 5000, scale=0.3)  # mass moved toward the decision boundary
    body = predict(url, X)
    wait_for(lambda: logged(log_path, len(X)))
    monitor = mlops.monitors.create(deployment["id"], config={"window": {"last_n": 5000}})
    check = mlops.monitors.check(monitor["id"])
    CheckOutcome.model_validate(check)
    truth = realised(model, X, y)
    estimated = check["performance"]["estimated"]
    assert check["performance"]["n_labelled"] == 0 and estimated["n"] == len(X)
    for name, value in truth.items():
        assert estimated["metrics"][name]["estimated"] == pytest.approx(value, abs=TOLERANCE)
    fired = [a for a in check["alerts"] if a["rule"] == "estimated_performance_drop"]
    assert fired and fired[0]["details"]["metric"] == "accuracy"
    assert "no labels needed" in fired[0]["message"]
    assert check["result"]["performance"]["estimated"]["metrics"]["accuracy"]["drop"] > 0.1

    # Labels arrive: the realised value stands beside the estimate, on the same window.
    feedback(url, body["prediction_ids"], y)
    wait_for(lambda: logged(log_path, len(X), labelled=True))
    check = mlops.monitors.check(monitor["id"])
    estimated = check["performance"]["estimated"]
    assert estimated["n_labelled"] == len(X)
    for name, value in truth.items():
        entry = estimated["metrics"][name]
        assert entry["realised"] == pytest.approx(value)
        assert abs(entry["estimated"] - entry["realised"]) <= TOLERANCE
    assert check["performance"]["metrics"]["accuracy"]["current"] == pytest.approx(
        truth["accuracy"]
    )
    report = mlops.monitors.deployment_report(
        "synthetic@production", last_n=5000, with_history=False
    )
    assert report.to_dict()["performance"]["estimated"]["available"] is True
    assert "estimated without labels" in report._repr_html_()

    # Bad input never fails the check: a regressor or a version without labels says why.
    regressor = mlops.registry.register(
        LinearRegression().fit(X_reference, y_reference),
        "synthetic-regression",
        X_sample=X_reference,
        y_sample=y_reference,
    )
    assert "no predict_proba" in estimator_of(regressor)["reason"]
    unlabelled = mlops.registry.register(model, "synthetic-unlabelled", X_sample=X_reference)
    assert "y_sample" in estimator_of(unlabelled)["reason"]


def test_a_window_keeps_the_served_versions_rows_and_survives_bad_probabilities():
    rng = np.random.default_rng(5)
    X, y = draw(rng, 2000)
    model = GaussianNB().fit(X, y)
    estimator = estimation.fit_estimator(model, X, y)
    proba, pred = model.predict_proba(X).tolist(), model.predict(X).tolist()
    frame = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(2001)],
            "model_version": pd.array([2] * 2000 + [1], dtype="Int64"),
            "prediction": [*pred, 0],
            "probabilities": [*proba, [0.1, 0.2, 0.7]],  # v1 had three classes
        }
    )
    labelled = pd.DataFrame({"id": frame["id"][:10], "label": y[:10].tolist()})
    block = Checks.estimated({"version": 2}, estimator, frame, labelled)
    assert block["available"] is True and block["n"] == 2000 and block["n_labelled"] == 10
    block = Checks.estimated({"version": 1}, estimator, frame, labelled)
    assert block["available"] is False and "(rows × 2)" in block["reason"]
