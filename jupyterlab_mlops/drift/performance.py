"""Performance drift: quality on labelled predictions against the metrics registered with the model.

Labels arrive later through the serving ``/feedback`` endpoint; the prediction log joins them
to the predictions (``PredictionLog.labelled``). Classification gets accuracy and F1 (binary on
the last class of the signature when there are two, macro otherwise), regression RMSE and MAE.
``drop`` is the relative change for the worse: (registered − current) / |registered| for
accuracy and F1, (current − registered) / |registered| for the errors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .profile import category_label

HIGHER_IS_BETTER = {"accuracy": True, "f1": True, "rmse": False, "mae": False}
TASK_METRICS = {"classification": ("accuracy", "f1"), "regression": ("rmse", "mae")}
# Names a training notebook may have logged each metric under (first match wins).
METRIC_ALIASES = {
    "accuracy": ("accuracy", "test_accuracy", "val_accuracy", "acc", "accuracy_score"),
    "f1": ("f1", "test_f1", "val_f1", "f1_score", "f1_macro", "test_f1_score"),
    "rmse": ("rmse", "test_rmse", "val_rmse", "root_mean_squared_error"),
    "mae": ("mae", "test_mae", "val_mae", "mean_absolute_error"),
}


def task_of(version: Mapping[str, Any] | None, labels: Sequence[Any] = ()) -> str:
    """The model's task from its signature, else guessed from the labels."""
    output = ((version or {}).get("signature") or {}).get("output") or {}
    if output.get("task") in TASK_METRICS:
        return output["task"]
    values = [v for v in labels if v is not None]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if numeric and len({*values}) > 20:
        return "regression"
    return "classification"


def registered_metric(metrics: Mapping[str, Any] | None, name: str) -> float | None:
    for key in METRIC_ALIASES.get(name, (name,)):
        value = (metrics or {}).get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    return None


def score(
    task: str, y_true: Sequence[Any], y_pred: Sequence[Any], classes: Sequence[Any] | None = None
) -> dict[str, float]:
    """The task's metrics on one set of labelled predictions (empty dict for no rows)."""
    if len(y_true) == 0:
        return {}
    if task == "regression":
        truth = np.asarray(y_true, dtype=np.float64)
        pred = np.asarray(y_pred, dtype=np.float64)
        ok = np.isfinite(truth) & np.isfinite(pred)
        truth, pred = truth[ok], pred[ok]
        if truth.size == 0:
            return {}
        error = pred - truth
        return {
            "rmse": float(np.sqrt(np.mean(error**2))),
            "mae": float(np.mean(np.abs(error))),
        }
    from sklearn.metrics import f1_score

    truth = np.asarray([category_label(v) for v in y_true], dtype=object)
    pred = np.asarray([category_label(v) for v in y_pred], dtype=object)
    labels = [category_label(c) for c in classes] if classes else sorted({*truth, *pred})
    if len(labels) == 2:
        f1 = f1_score(truth, pred, pos_label=labels[-1], average="binary", zero_division=0)
    else:
        f1 = f1_score(truth, pred, labels=labels, average="macro", zero_division=0)
    return {"accuracy": float(np.mean(truth == pred)), "f1": float(f1)}


def compare(
    task: str, current: Mapping[str, float], registered: Mapping[str, Any] | None, n: int
) -> dict[str, Any]:
    """``{task, n_labelled, metrics: {name: {current, registered, drop}}}``."""
    metrics: dict[str, Any] = {}
    for name in TASK_METRICS[task]:
        if name not in current:
            continue
        reference = registered_metric(registered, name)
        drop = None
        if reference is not None and reference != 0:
            sign = 1.0 if HIGHER_IS_BETTER[name] else -1.0
            drop = sign * (reference - current[name]) / abs(reference)
        metrics[name] = {"current": current[name], "registered": reference, "drop": drop}
    return {"task": task, "n_labelled": n, "metrics": metrics}
