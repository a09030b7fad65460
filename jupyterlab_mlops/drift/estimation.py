"""Performance estimated without labels: confidence-based performance estimation (CBPE).

As NannyML defines it: a classifier's predicted probabilities, once calibrated, are the chance
that each prediction is right, so their sums are the expected cells of the confusion matrix —
for a binary model with calibrated P(positive) ``p`` and prediction ``ŷ``, expected TP = Σ p
over ŷ = 1, FP = Σ (1 − p) over ŷ = 1, FN = Σ p over ŷ = 0, TN = Σ (1 − p) over ŷ = 0 —
and accuracy, F1 and ROC AUC follow from them without a single label. Multiclass: one
calibrator per class (one-vs-rest), rows renormalised to sum 1, expected accuracy the mean
calibrated probability of the predicted class, F1 and ROC AUC macro averages over classes.

:func:`fit_estimator` runs at registration on the reference sample (``X_sample``/``y_sample``):
it fits an isotonic calibrator per class (kept only where it lowers the expected calibration
error on held-out splits of the reference, NannyML's ``needs_calibration``), and records the
realised metrics of the reference as the baseline. Everything is plain JSON (isotonic
thresholds), stored in the version's profile under ``performance_estimation`` — never pickled.
:func:`estimate` applies it to a window of the prediction log's probabilities.

The estimate is only as good as the calibration: it holds under covariate shift (the inputs
move, P(y | x) stays), not under concept drift, and it needs a reference sample the model was
not trained on (training-set probabilities are over-confident).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import InvalidInput
from .profile import category_label

METHOD = "cbpe"
METRICS = ("accuracy", "f1", "roc_auc")
MAX_CLASSES = 50
_ECE_BINS = 10
_CALIBRATION_SPLITS = 5
_CALIBRATION_CHECK_ROWS = 20_000


def unavailable(reason: str) -> dict[str, Any]:
    """The estimation block of a version or a window that cannot be estimated, with why."""
    return {"method": METHOD, "available": False, "reason": reason}


# -- calibration (at registration) ------------------------------------------------------------


def _isotonic(scores: np.ndarray, hits: np.ndarray) -> dict[str, list[float]]:
    from sklearn.isotonic import IsotonicRegression

    fitted = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, hits)
    return {"x": fitted.X_thresholds_.tolist(), "y": fitted.y_thresholds_.tolist()}


def _apply(calibrator: Mapping[str, Sequence[float]] | None, scores: np.ndarray) -> np.ndarray:
    """The isotonic calibrator's prediction (piecewise linear, clipped), or the raw scores."""
    if not calibrator:
        return scores
    return np.interp(scores, np.asarray(calibrator["x"]), np.asarray(calibrator["y"]))


def _ece(probabilities: np.ndarray, hits: np.ndarray) -> float:
    """Expected calibration error on equal-width bins."""
    bins = np.minimum((probabilities * _ECE_BINS).astype(np.int64), _ECE_BINS - 1)
    mean_p = np.bincount(bins, probabilities, minlength=_ECE_BINS)
    mean_hit = np.bincount(bins, hits, minlength=_ECE_BINS)
    return float(np.abs(mean_p - mean_hit).sum() / max(1, probabilities.size))


def _needs_calibration(scores: np.ndarray, hits: np.ndarray, seed: int = 0) -> bool:
    """Whether isotonic calibration lowers the ECE on held-out halves of the reference."""
    if np.unique(hits).size < 2 or scores.size < 20:
        return False
    rng = np.random.default_rng(seed)
    if scores.size > _CALIBRATION_CHECK_ROWS:  # the decision needs no more rows than this
        keep = rng.choice(scores.size, _CALIBRATION_CHECK_ROWS, replace=False)
        scores, hits = scores[keep], hits[keep]
    raw, calibrated = [], []
    for _ in range(_CALIBRATION_SPLITS):
        order = rng.permutation(scores.size)
        train, test = order[: scores.size // 2], order[scores.size // 2 :]
        if np.unique(hits[train]).size < 2:
            continue
        calibrator = _isotonic(scores[train], hits[train])
        raw.append(_ece(scores[test], hits[test]))
        calibrated.append(_ece(_apply(calibrator, scores[test]), hits[test]))
    return bool(raw) and float(np.mean(calibrated)) < float(np.mean(raw))


def _class_index(values: Sequence[Any], classes: Sequence[str]) -> np.ndarray:
    """Each value's class position (-1 for a value that is not a class)."""
    lookup = {label: i for i, label in enumerate(classes)}
    return np.fromiter(
        (lookup.get(category_label(v), -1) for v in values), dtype=np.int64, count=len(values)
    )


def fit_estimator(model: Any, X: Any, y: Any) -> dict[str, Any] | None:
    """The CBPE calibration of ``model`` on the reference sample, as plain JSON data.

    None without labels (nothing to calibrate on); an ``available: false`` block with the
    reason for a model that is not a classifier with ``predict_proba``. Never raises: a
    registration must not fail because its estimator could not be made."""
    if y is None or model is None:
        return None
    if not hasattr(model, "predict_proba"):
        return unavailable(
            f"{type(model).__name__} has no predict_proba: performance is estimated only for "
            "classifiers that give probabilities"
        )
    classes = getattr(model, "classes_", None)
    if classes is None or np.asarray(classes, dtype=object).ndim != 1:
        return unavailable("the model has no single list of classes (classes_)")
    labels = [category_label(c) for c in np.asarray(classes, dtype=object).tolist()]
    if not 2 <= len(labels) <= MAX_CLASSES:
        return unavailable(f"the model has {len(labels)} classes (2 to {MAX_CLASSES} supported)")
    try:
        with warnings.catch_warnings():  # a sample given as an array has f0..fN names
            warnings.simplefilter("ignore", UserWarning)
            probabilities = np.asarray(model.predict_proba(X), dtype=np.float64)
            predictions = np.asarray(model.predict(X), dtype=object).tolist()
    except Exception as err:  # noqa: BLE001 - the model's own error, kept as the reason
        return unavailable(f"predict_proba failed on the reference sample: {err}")
    truth = _class_index(np.asarray(y, dtype=object).tolist(), labels)
    if probabilities.shape != (truth.size, len(labels)) or not np.isfinite(probabilities).all():
        return unavailable("predict_proba gave no finite (rows × classes) probabilities")
    known = truth >= 0
    if known.sum() < 2:
        return unavailable("the reference labels are none of the model's classes")
    probabilities, truth = probabilities[known], truth[known]
    predictions = [p for p, keep in zip(predictions, known, strict=True) if keep]
    positions = range(1, 2) if len(labels) == 2 else range(len(labels))
    calibrators: list[dict[str, list[float]] | None] = []
    for k in positions:
        hits = (truth == k).astype(np.float64)
        scores = probabilities[:, k]
        calibrators.append(_isotonic(scores, hits) if _needs_calibration(scores, hits) else None)
    estimator = {
        "method": METHOD,
        "available": True,
        "classes": labels,
        "calibrators": calibrators,
        "n_reference": int(truth.size),
    }
    predicted = _predicted_index(estimator, probabilities, predictions)
    estimator["reference"] = realised_metrics(probabilities, predicted, truth)
    return estimator


# -- estimation (per monitoring window) -------------------------------------------------------


def probability_matrix(estimator: Mapping[str, Any], values: Sequence[Any]) -> np.ndarray:
    """The log's per-row probability lists as a (rows × classes) array; a 400 when they do not
    fit the model's classes (rows without probabilities are dropped by the caller)."""
    n_classes = len(estimator["classes"])
    try:
        matrix = np.asarray(list(values), dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(
            "predicted probabilities must be lists of numbers", code="invalid_probabilities"
        ) from None
    if matrix.ndim != 2 or matrix.shape[1] != n_classes:
        raise InvalidInput(
            f"predicted probabilities must be (rows × {n_classes}) for the classes "
            f"{estimator['classes']}, got shape {list(matrix.shape)}",
            code="invalid_probabilities",
        )
    if not np.isfinite(matrix).all() or (matrix < 0).any() or (matrix > 1).any():
        raise InvalidInput(
            "predicted probabilities must be finite and within [0, 1]",
            code="invalid_probabilities",
        )
    return matrix


def _predicted_index(
    estimator: Mapping[str, Any], probabilities: np.ndarray, predictions: Sequence[Any]
) -> np.ndarray:
    """The predicted class of each row: the logged prediction, else the most probable class."""
    predicted = _class_index(predictions, estimator["classes"])
    missing = predicted < 0
    predicted[missing] = probabilities[missing].argmax(axis=1)
    return predicted


def calibrated(estimator: Mapping[str, Any], probabilities: np.ndarray) -> np.ndarray:
    """Calibrated probabilities (rows × classes): binary from P(positive), multiclass per class
    then renormalised."""
    calibrators = estimator["calibrators"]
    if probabilities.shape[1] == 2:
        positive = _apply(calibrators[0], probabilities[:, 1])
        return np.column_stack([1.0 - positive, positive])
    columns = [_apply(c, probabilities[:, k]) for k, c in enumerate(calibrators)]
    result = np.column_stack(columns)
    totals = result.sum(axis=1, keepdims=True)
    uniform = np.full_like(result, 1.0 / result.shape[1])
    return np.where(totals > 0, result / np.where(totals > 0, totals, 1.0), uniform)


def _f1(tp: float, fp: float, fn: float) -> float:
    denominator = 2 * tp + fp + fn
    return 2 * tp / denominator if denominator > 0 else 0.0


def _expected_auc(scores: np.ndarray, expected_positive: np.ndarray) -> float | None:
    """ROC AUC expected when row i is positive with probability ``expected_positive[i]``,
    ranked by ``scores`` (NannyML's estimated ROC curve; ties share one threshold)."""
    order = np.argsort(-scores, kind="stable")
    s, p = scores[order], expected_positive[order]
    positives, negatives = p.sum(), (1.0 - p).sum()
    if positives <= 0 or negatives <= 0:
        return None
    last_of_tie = np.r_[s[1:] != s[:-1], True]
    tpr = np.r_[0.0, np.cumsum(p)[last_of_tie] / positives]
    fpr = np.r_[0.0, np.cumsum(1.0 - p)[last_of_tie] / negatives]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def _metrics(
    probabilities: np.ndarray, predicted: np.ndarray, positive: np.ndarray
) -> dict[str, float | None]:
    """Accuracy, F1 and ROC AUC where ``positive[i, k]`` is (the chance) that row i is class k:
    calibrated probabilities give the estimate, one-hot labels the realised value."""
    n, n_classes = probabilities.shape
    hit = positive[np.arange(n), predicted]
    result: dict[str, float | None] = {"accuracy": float(hit.mean())}
    classes = [1] if n_classes == 2 else range(n_classes)
    f1s, aucs = [], []
    for k in classes:
        chosen = predicted == k
        tp = float(positive[chosen, k].sum())
        fp = float(chosen.sum()) - tp
        fn = float(positive[~chosen, k].sum())
        f1s.append(_f1(tp, fp, fn))
        aucs.append(_expected_auc(probabilities[:, k], positive[:, k]))
    result["f1"] = float(np.mean(f1s))
    known = [a for a in aucs if a is not None]
    result["roc_auc"] = float(np.mean(known)) if known else None
    return result


def realised_metrics(
    probabilities: np.ndarray, predicted: np.ndarray, truth: np.ndarray
) -> dict[str, float | None]:
    """The same metrics from the true labels (class positions), on the raw probabilities."""
    one_hot = np.zeros_like(probabilities)
    one_hot[np.arange(truth.size), truth] = 1.0
    return _metrics(probabilities, predicted, one_hot)


def estimated_metrics(
    estimator: Mapping[str, Any], probabilities: np.ndarray, predicted: np.ndarray
) -> dict[str, float | None]:
    """CBPE: the metrics expected from the calibrated probabilities (no labels)."""
    return _metrics(probabilities, predicted, calibrated(estimator, probabilities))


def _drop(reference: float | None, value: float | None) -> float | None:
    if reference is None or value is None or reference == 0 or not math.isfinite(value):
        return None
    return (reference - value) / abs(reference)


def estimate(
    estimator: Mapping[str, Any] | None,
    probabilities: Sequence[Any],
    predictions: Sequence[Any],
    labels: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """The estimation block of one window: per metric ``{estimated, reference, drop,
    realised}``. ``labels`` (None where a label has not arrived) adds the realised value on the
    labelled rows beside the estimate. ``drop`` is (reference − estimated) / reference, the
    reference being the metric realised on the reference sample at registration."""
    if not estimator:
        return unavailable(
            "the version has no performance estimator: register it with X_sample and "
            "y_sample (a held-out labelled sample) to estimate performance without labels"
        )
    if not estimator.get("available"):
        return unavailable(estimator.get("reason") or "performance cannot be estimated")
    present = [i for i, p in enumerate(probabilities) if p is not None]
    if not present:
        return unavailable(
            "the window's predictions carry no probabilities (the served model did not "
            "return predict_proba)"
        )
    matrix = probability_matrix(estimator, [probabilities[i] for i in present])
    predicted = _predicted_index(estimator, matrix, [predictions[i] for i in present])
    values = estimated_metrics(estimator, matrix, predicted)
    reference = estimator.get("reference") or {}
    realised: dict[str, float | None] = {}
    n_labelled = 0
    if labels is not None:
        truth = _class_index([labels[i] for i in present], estimator["classes"])
        known = truth >= 0
        n_labelled = int(known.sum())
        if n_labelled:
            realised = realised_metrics(matrix[known], predicted[known], truth[known])
    metrics = {
        name: {
            "estimated": values[name],
            "reference": reference.get(name),
            "drop": _drop(reference.get(name), values[name]),
            "realised": realised.get(name),
        }
        for name in METRICS
    }
    return {
        "method": METHOD,
        "available": True,
        "n": len(present),
        "n_labelled": n_labelled,
        "calibrated": any(c for c in estimator["calibrators"]),
        "metrics": metrics,
    }


def build_reference_profile(frame: Any, model: Any = None, y: Any = None) -> dict[str, Any]:
    """The version's reference profile (``profile.build_profile``) with, when the sample is
    labelled, the CBPE estimator under ``performance_estimation`` — what registration stores."""
    from .profile import build_profile

    profile = build_profile(frame)
    estimator = fit_estimator(model, frame, y)
    if estimator is not None:
        profile["performance_estimation"] = estimator
    return profile
