"""Model signature: input columns (name, dtype, kind, nullable, categories) and output type.

Inferred from the training sample at registration so serving can validate requests and drift
monitoring knows which columns are numeric or categorical. Format: see the team contract.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..columns import column_kind
from ..errors import InvalidInput

MAX_CATEGORIES = 1000


def to_jsonable(value: Any) -> Any:
    """NumPy/pandas scalars → Python; NaN/inf → None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def as_frame(X_sample: Any) -> pd.DataFrame:
    """The sample as a DataFrame; arrays get the column names ``f0..fN`` (as in the signature)."""
    if isinstance(X_sample, pd.DataFrame):
        if not all(isinstance(c, str) for c in X_sample.columns):
            X_sample = X_sample.rename(columns=str)
        return X_sample
    if isinstance(X_sample, pd.Series):
        return X_sample.to_frame(name=str(X_sample.name) if X_sample.name is not None else "f0")
    array = np.asarray(X_sample)
    if array.ndim != 2:
        raise InvalidInput(
            f"X_sample must be a DataFrame or a 2-D array (rows × features), got {array.ndim}-D"
        )
    return pd.DataFrame(array, columns=[f"f{i}" for i in range(array.shape[1])])


def _kind(series: pd.Series) -> str:
    """numeric | categorical | boolean, decided exactly as the reference profile decides it."""
    return column_kind(series)


def _column(series: pd.Series) -> dict[str, Any]:
    kind = _kind(series)
    entry: dict[str, Any] = {
        "name": str(series.name),
        "dtype": str(series.dtype),
        "kind": kind,
        "nullable": bool(series.isna().any()),
    }
    if kind == "categorical":
        values = series.dropna().unique()
        if len(values) <= MAX_CATEGORIES:
            entry["categories"] = sorted(to_jsonable(list(values)), key=lambda v: (str(type(v)), v))
    return entry


def _output(y_sample: Any, model: Any) -> dict[str, Any]:
    from sklearn.base import is_classifier, is_regressor

    y = None
    if y_sample is not None:
        y = y_sample if isinstance(y_sample, pd.Series | pd.DataFrame) else np.asarray(y_sample)
    classes = getattr(model, "classes_", None) if model is not None else None
    if model is not None and is_classifier(model):
        task = "classification"
    elif model is not None and is_regressor(model):
        task = "regression"
    elif y is not None:
        dtype = y.dtypes.iloc[0] if isinstance(y, pd.DataFrame) else y.dtype
        task = "regression" if pd.api.types.is_float_dtype(dtype) else "classification"
    else:
        task = "unknown"
    output: dict[str, Any] = {"task": task}
    if y is not None:
        output["dtype"] = str(y.dtypes.iloc[0] if isinstance(y, pd.DataFrame) else y.dtype)
        if isinstance(y, pd.DataFrame) or getattr(y, "ndim", 1) > 1:
            output["n_outputs"] = int(y.shape[1])
    elif classes is not None:
        output["dtype"] = str(np.asarray(classes).dtype)
    if task == "classification":
        if classes is not None and np.asarray(classes).ndim == 1:
            output["classes"] = to_jsonable(np.asarray(classes))
        elif y is not None and getattr(y, "ndim", 1) == 1:
            output["classes"] = to_jsonable(sorted(pd.Series(y).dropna().unique().tolist()))
    return output


def infer_signature(X_sample: Any, y_sample: Any = None, model: Any = None) -> dict[str, Any]:
    """The signature of a model trained on ``X_sample`` (and ``y_sample``)."""
    input_type = "dataframe" if isinstance(X_sample, pd.DataFrame | pd.Series) else "ndarray"
    frame = as_frame(X_sample)
    if frame.shape[1] == 0:
        raise InvalidInput("X_sample has no columns")
    return {
        "input_type": input_type,
        "inputs": [_column(frame[name]) for name in frame.columns],
        "output": _output(y_sample, model),
    }


def signature_from_model(model: Any) -> dict[str, Any]:
    """What a fitted estimator itself says about its inputs (no sample available).

    Column names come from ``feature_names_in_`` (else ``f0..fN`` from ``n_features_in_``);
    their dtypes are unknown, so they are described as numeric float64 — the only input
    scikit-learn accepts without a preprocessing step.
    """
    names = getattr(model, "feature_names_in_", None)
    count = getattr(model, "n_features_in_", None)
    if names is not None:
        input_type, columns = "dataframe", [str(n) for n in names]
    elif count is not None:
        input_type, columns = "ndarray", [f"f{i}" for i in range(int(count))]
    else:
        return {}
    return {
        "input_type": input_type,
        "inputs": [
            {"name": n, "dtype": "float64", "kind": "numeric", "nullable": False} for n in columns
        ],
        "output": _output(None, model),
        "inferred_from": "model",
    }
