"""How a column is typed for signatures and drift: numeric, categorical or boolean.

One rule shared by the registry (a version's input signature) and drift (its reference profile
and reports), so that a column is never numeric in one and categorical in the other.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .errors import InvalidInput


def is_datetime_like(series: pd.Series) -> bool:
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return True
    if isinstance(dtype, pd.PeriodDtype):
        return True
    if pd.api.types.is_object_dtype(dtype):
        first = series.first_valid_index()
        if first is not None:
            import datetime as _dt

            value = series.loc[first]
            if isinstance(value, pd.Series):  # duplicated index labels
                value = value.iloc[0]
            return isinstance(value, _dt.date | _dt.time | np.datetime64 | pd.Timedelta)
    return False


def column_kind(series: pd.Series, name: Any = None) -> str:
    """``numeric``, ``categorical`` or ``boolean``; datetimes are refused with a clear message."""
    label = series.name if name is None else name
    if is_datetime_like(series):
        raise InvalidInput(
            f"column {label!r} holds datetimes ({series.dtype}); drift statistics are not "
            "defined on timestamps. Convert it to a number (e.g. age in days, hour of day) "
            "or leave it out of the data.",
            code="datetime_column",
            details={"column": str(label)},
        )
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return "numeric"
    if pd.api.types.is_object_dtype(dtype):
        values = series.dropna()
        if len(values) and values.map(type).isin([bool, np.bool_]).all():
            return "boolean"
    return "categorical"
