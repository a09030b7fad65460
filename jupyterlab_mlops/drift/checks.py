"""The one drift check pipeline, for scheduled checks and interactive reports alike.

:meth:`Checks.evaluate` reads a window of a deployment's prediction log (the last N predictions
or the last S seconds; shadow traffic excluded), compares its feature columns with the reference
profile of the version the deployment serves, scores the predictions whose labels arrived
through ``/feedback`` against the version's registered metrics, estimates the same without
labels from the logged probabilities (CBPE, ``estimation.py``; realised values beside it where
labels arrived), and evaluates the monitor's rules on all of it. A monitor's check stores the
outcome and opens alerts; ``%mlops drift`` and ``POST /drift/report`` show it.
:meth:`Checks.rolling` gives the drift-share series of the last windows for a deployment whose
monitor has not stored enough results yet.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from ..errors import Conflict, InvalidInput
from . import estimation
from . import performance as perf
from . import rules as drift_rules
from .ports import PredictionReader, VersionLookup
from .reference import Reference, version_methods
from .report import DATASET_DRIFT_SHARE, DriftReport, compute_report, resolve_methods


def window_args(window: Mapping[str, Any]) -> dict[str, Any]:
    """``read_log`` arguments for a window (``{"seconds": S}`` is the last S seconds)."""
    if "seconds" in window:
        return {"since": time.time() - float(window["seconds"])}
    args = {}
    if window.get("last_n") is not None:
        args["last_n"] = int(window["last_n"])
    for key in ("since", "until"):
        if window.get(key) is not None:
            args[key] = float(window[key])
    return args


def _from_unix(ts: float | None) -> datetime | None:
    if ts is None or not math.isfinite(ts):
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def window_bounds(frame: pd.DataFrame) -> tuple[datetime | None, datetime | None]:
    if frame.empty or "ts" not in frame.columns:
        return None, None
    ts = frame["ts"].to_numpy(dtype=np.float64)
    return _from_unix(float(np.nanmin(ts))), _from_unix(float(np.nanmax(ts)))


@dataclass
class Evaluation:
    """One window of a deployment compared with its reference."""

    window: dict[str, Any]
    frame: pd.DataFrame
    version: dict[str, Any]
    reference: Reference
    methods: Any
    report: DriftReport | None = None  # None: fewer rows than ``min_rows``
    performance: dict[str, Any] = field(default_factory=dict)
    alerts: list[dict] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return int(len(self.frame))

    @property
    def bounds(self) -> tuple[datetime | None, datetime | None]:
        return window_bounds(self.frame)


def estimator_of(version: Mapping[str, Any]) -> dict[str, Any]:
    """The version's CBPE estimator (made at registration), or why there is none."""
    estimator = (version.get("profile") or {}).get("performance_estimation")
    if estimator is None:
        return estimation.unavailable(
            "the version has no performance estimator: register it with X_sample and y_sample "
            "(a held-out labelled sample) to estimate performance without labels"
        )
    return estimator


class Checks:
    """The pipeline, with each version's reference prepared once and reused."""

    def __init__(self, versions: VersionLookup, predictions: PredictionReader):
        self.versions = versions
        self.predictions = predictions
        self._references: dict[tuple[str, int], Reference] = {}
        self._guard = threading.Lock()

    def reference(self, model_name: str, version: int) -> tuple[Reference, dict[str, Any]]:
        """The version's reference profile (prepared once) and its version dict."""
        version_dict = self.versions.resolve((model_name, int(version)))
        key = (model_name, int(version))
        with self._guard:
            cached = self._references.get(key)
        if cached is None:
            if not version_dict.get("profile"):
                raise Conflict(
                    f"{model_name} v{version} has no reference profile: register it with "
                    "X_sample=… to monitor drift",
                    code="no_profile",
                )
            cached = Reference.from_version(version_dict)
            with self._guard:
                self._references[key] = cached
        return cached, version_dict

    def evaluate(
        self,
        deployment: Mapping[str, Any],
        config: Mapping[str, Any],
        *,
        window: Mapping[str, Any] | None = None,
        methods: Any = None,
        min_rows: int = 0,
        progress: bool | None = False,
        workers: int | None = 1,
        title: str | None = None,
    ) -> Evaluation:
        """Drift, performance and fired rules of one window of ``deployment``'s predictions.

        ``config`` is a monitor's (stored) config; ``window`` and ``methods`` override it.
        With fewer than ``min_rows`` predictions nothing is computed (``report`` is None)."""
        reference, version = self.reference(deployment["model"], deployment["version"])
        window = dict(window if window is not None else config["window"])
        if methods is None:
            methods = config.get("methods") or version_methods(version)
        estimator = estimator_of(version)
        with_probabilities = {"probabilities": True} if estimator.get("available") else {}
        frame = self.predictions.read_log(
            deployment["prediction_log"], **window_args(window), **with_probabilities
        )
        evaluation = Evaluation(window, frame, version, reference, methods)
        if len(frame) < min_rows:
            return evaluation
        report = compute_report(
            reference,
            self.predictions.feature_frame(frame, list(reference.columns)),
            methods,
            rules=config["rules"],
            columns=config.get("columns"),
            progress=progress,
            workers=workers,
            title=title,
        )
        labelled = self.predictions.read_log(
            deployment["prediction_log"], labelled=True, **window_args(window)
        )
        evaluation.performance = self.performance(version, labelled, config.get("min_labelled", 20))
        evaluation.performance["estimated"] = self.estimated(version, estimator, frame, labelled)
        evaluation.alerts = drift_rules.evaluate(
            report.summary, report.columns, config["rules"], evaluation.performance
        )
        report.performance = evaluation.performance
        report.alerts = evaluation.alerts
        evaluation.report = report
        return evaluation

    @staticmethod
    def estimated(
        version: Mapping[str, Any],
        estimator: Mapping[str, Any],
        frame: pd.DataFrame,
        labelled: pd.DataFrame,
    ) -> dict[str, Any]:
        """CBPE on the window's logged probabilities, with the labels arrived so far beside."""
        if not estimator.get("available") or "probabilities" not in frame.columns:
            return estimation.estimate(estimator, [], [])
        if "model_version" in frame.columns and version.get("version") is not None:
            # Rows an earlier version served carry that model's probabilities, not this one's.
            served = frame["model_version"]
            frame = frame[served.isna() | (served == int(version["version"]))]
        labels = dict(zip(labelled["id"], labelled["label"], strict=True)) if len(labelled) else {}
        try:
            return estimation.estimate(
                estimator,
                frame["probabilities"].tolist(),
                frame["prediction"].tolist(),
                [labels.get(i) for i in frame["id"]],
            )
        except InvalidInput as err:  # logged probabilities that do not fit the model's classes
            return estimation.unavailable(err.message)

    @staticmethod
    def performance(
        version: Mapping[str, Any], labelled: pd.DataFrame, min_labelled: int
    ) -> dict[str, Any]:
        """Quality on the window's labelled predictions vs the version's registered metrics."""
        if len(labelled) < min_labelled:
            return {"n_labelled": int(len(labelled)), "metrics": {}}
        task = perf.task_of(version, labelled["label"].tolist())
        classes = ((version.get("signature") or {}).get("output") or {}).get("classes")
        scores = perf.score(
            task, labelled["label"].tolist(), labelled["prediction"].tolist(), classes
        )
        return perf.compare(task, scores, version.get("metrics"), int(len(labelled)))

    def rolling(
        self,
        deployment: Mapping[str, Any],
        reference: Reference,
        *,
        size: int,
        count: int,
        methods: Any = None,
        columns: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Drift share of the last ``count`` windows of ``size`` predictions, oldest first."""
        frame = self.predictions.read_log(deployment["prediction_log"], last_n=size * count)
        if frame.empty:
            return []
        resolve_methods(reference, methods)  # a bad method fails once, not once per window
        n_windows = max(1, len(frame) // size)
        start_offset = len(frame) - n_windows * size
        series = []
        for index in range(n_windows):
            chunk = frame.iloc[start_offset + index * size : start_offset + (index + 1) * size]
            report = compute_report(
                reference,
                self.predictions.feature_frame(chunk, list(reference.columns)),
                methods,
                columns=columns,
                all_statistics=False,
                progress=False,
                workers=1,
            )
            start, end = window_bounds(chunk)
            series.append(
                {
                    "window_start": start.isoformat() if start else None,
                    "window_end": end.isoformat() if end else None,
                    "n_rows": int(len(chunk)),
                    "drift_share": report.drift_share,
                    "n_drifted": report.summary["n_drifted"],
                    "drifted": report.drift_share > DATASET_DRIFT_SHARE,
                    "threshold": DATASET_DRIFT_SHARE,
                }
            )
        return series
