"""The retrain loop's gate: champion and challenger judged on the freshest labelled data.

Both versions predict the same recent labelled predictions of the deployment, and the
registry's gate rule (the ``compare`` metric, mode and ``min_delta`` of the model's stored gate;
accuracy for classifiers and RMSE for regressors when the gate names no metric of the task)
decides on those fresh numbers — not on the metrics each version was registered with, which
were measured before the drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..drift import performance as perf
from ..registry.gate import evaluate_gate
from ..serving.prediction_log import feature_frame


@dataclass(frozen=True)
class FreshComparison:
    passed: bool
    summary: str  # "on 300 fresh labelled predictions accuracy: challenger v2 0.91 vs …"
    record: dict[str, Any]  # metric, mode, n_labelled, fresh_metrics, decision


def compare_on_fresh_data(
    registry: Any,
    model: str,
    alias: str,
    champion_version: int | None,
    challenger_version: int,
    labelled: pd.DataFrame,
) -> FreshComparison:
    """Score both versions on ``labelled`` (a prediction-log window with labels) and apply
    the model's gate rule to the challenger taking ``alias`` from the champion."""
    challenger = registry.resolve((model, challenger_version))
    task = perf.task_of(challenger, labelled["label"].tolist())
    compare = dict((registry.get_gate(model) or {}).get("compare") or {})
    if compare.get("metric") not in perf.TASK_METRICS[task]:
        compare = {
            "metric": "accuracy" if task == "classification" else "rmse",
            "mode": "max" if task == "classification" else "min",
            "min_delta": compare.get("min_delta", 0.0),
        }
    compare["alias"] = alias
    names = [i["name"] for i in (challenger.get("signature") or {}).get("inputs") or []]
    names = names or list((challenger.get("profile") or {}).get("columns") or {})
    X = feature_frame(labelled, names)
    y = labelled["label"].tolist()
    classes = ((challenger.get("signature") or {}).get("output") or {}).get("classes")
    fresh: dict[int, dict[str, float]] = {}
    for version in {challenger_version, champion_version} - {None}:
        estimator = registry.load_model((model, version))
        predictions = np.asarray(estimator.predict(X)).tolist()
        fresh[version] = perf.score(task, y, predictions, classes)
    holders: dict[str, Any] = {alias: None}
    if champion_version is not None:
        holders = {alias: {"version": champion_version, "metrics": fresh[champion_version]}}
    decision = evaluate_gate(
        {"compare": compare},
        alias,
        {"version": challenger_version, "metrics": fresh[challenger_version]},
        holders,
    )
    metric = compare["metric"]
    summary = (
        f"on {len(labelled)} fresh labelled predictions {metric}: challenger "
        f"v{challenger_version} {fresh[challenger_version].get(metric, math.nan):.4g}"
        + (
            f" vs champion v{champion_version} {fresh[champion_version].get(metric, math.nan):.4g}"
            if champion_version is not None
            else ""
        )
    )
    gate_record = {
        "metric": metric,
        "mode": compare["mode"],
        "n_labelled": int(len(labelled)),
        "fresh_metrics": {str(k): v for k, v in fresh.items()},
        "decision": decision.to_dict(),
    }
    return FreshComparison(decision.passed, summary, gate_record)
