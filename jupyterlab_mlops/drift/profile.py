"""The reference profile stored with every model version (``ModelVersion.profile``).

The registry calls :func:`build_profile` on the training sample at registration, so a monitor can
later compute drift without keeping the training data: numeric columns keep summary statistics,
a 10-bin histogram (for the widget), reference-decile bins (for PSI) and a random sample of up to
5 000 values (for KS and Wasserstein; the whole column when it is smaller, so results from the
profile then equal results from the raw data); categorical and boolean columns keep their counts.

Format (the cross-team contract; extra keys are additions, never renames)::

    {"n_rows": 455, "columns": {
      "age": {"kind": "numeric", "dtype": "float64", "count": 455, "missing": 0,
              "missing_rate": 0.0, "mean": .., "std": .., "min": .., "max": ..,
              "quantiles": {"0.01": .., "0.05": .., "0.25": .., "0.5": .., "0.75": .., "0.95": ..,
                            "0.99": ..},
              "bin_edges": [11 floats], "bin_counts": [10 ints],
              "decile_edges": [<= 9 inner edges], "decile_counts": [len(decile_edges) + 1 ints],
              "sample": [<= 5000 floats], "sample_seed": 0},
      "city": {"kind": "categorical", "dtype": "object", "count": .., "missing": ..,
               "missing_rate": .., "counts": {"a": 120, "b": 335},
               "frequencies": {"a": 0.26, "b": 0.74}},
      "churned": {"kind": "boolean", ..same keys as categorical.., "mean": 0.31}}}

``count`` is the number of non-missing values; ``missing_rate = missing / n_rows``. Statistics
of an all-missing column are ``None`` (JSON null), never NaN. Datetime columns are refused with a
message saying how to convert them: drift statistics are not defined on timestamps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..columns import column_kind
from ..errors import InvalidInput

SAMPLE_SIZE = 5000
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
N_BINS = 10
DECILES = tuple(i / 10 for i in range(1, 10))
# Beyond this many distinct values a categorical profile keeps the most frequent ones and
# lumps the rest into OTHER (their count is kept, so rates stay right).
MAX_CATEGORIES = 1000
OTHER = "__other__"

KINDS = ("numeric", "categorical", "boolean")


# -- column typing (shared with stats.py) ----------------------------------------------------


def as_frame(data: Any) -> pd.DataFrame:
    """A DataFrame from a DataFrame, a 2-D array (columns ``f0..fN``), a dict or records."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame(name=data.name if data.name is not None else "f0")
    if isinstance(data, np.ndarray):
        if data.ndim == 1:
            data = data.reshape(-1, 1)
        if data.ndim != 2:
            raise InvalidInput(f"expected a 2-D array of rows × features, got {data.ndim}-D")
        return pd.DataFrame(data, columns=[f"f{i}" for i in range(data.shape[1])])
    if isinstance(data, Mapping | list):
        try:
            return pd.DataFrame(data)
        except (ValueError, TypeError) as err:
            raise InvalidInput(f"cannot read the data as a table: {err}") from None
    raise InvalidInput(
        f"expected a pandas DataFrame, a 2-D numpy array, a dict or a list of records, "
        f"got {type(data).__name__}"
    )


def numeric_values(series: pd.Series) -> np.ndarray:
    """float64 values with NaN for missing; ±inf count as missing too."""
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():  # copy first: to_numpy may return a view of the caller's data
        values = values.copy()
        values[infinite] = np.nan
    return values


def category_label(value: Any) -> str:
    """The JSON key of a category value: ``"True"``/``"False"``, ``"3"`` for 3 and 3.0, else str."""
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def category_counts(series: pd.Series, kind: str = "categorical") -> dict[str, int]:
    """Counts per category label, most frequent first, missing values left out.

    Counting happens on the raw values (hash-based, vectorised); only the distinct values are
    turned into labels, so this stays fast on millions of rows.
    """
    if kind == "boolean" and not pd.api.types.is_bool_dtype(series.dtype):
        if pd.api.types.is_numeric_dtype(series.dtype):
            series = series.where(series.isna(), series != 0)
    counts = series.value_counts(dropna=True, sort=False)
    merged: dict[str, int] = {}
    for value, count in zip(counts.index, counts.to_numpy(), strict=True):
        if count:
            label = category_label(value)
            merged[label] = merged.get(label, 0) + int(count)
    return dict(sorted(merged.items(), key=lambda item: (-item[1], item[0])))


def psi_bins(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Bin index of each value for PSI: bin i holds ``edges[i-1] <= x < edges[i]``."""
    return np.searchsorted(edges, values, side="right")


# -- the profile ---------------------------------------------------------------------------


def _float(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def numeric_summary(present: np.ndarray, n_rows: int, sample_size: int, seed: int) -> dict:
    """The numeric profile entry of the non-missing values ``present`` of ``n_rows`` rows."""
    count = int(present.size)
    entry: dict[str, Any] = {
        "kind": "numeric",
        "count": count,
        "missing": n_rows - count,
        "missing_rate": (n_rows - count) / n_rows if n_rows else 0.0,
    }
    if count == 0:
        entry.update(
            mean=None,
            std=None,
            min=None,
            max=None,
            quantiles={str(q): None for q in QUANTILES},
            bin_edges=[],
            bin_counts=[],
            decile_edges=[],
            decile_counts=[],
            sample=[],
            sample_seed=seed,
        )
        return entry
    lo, hi = float(present.min()), float(present.max())
    if lo == hi:  # a constant column: one unit-wide range centred on the value
        hist_range = (lo - 0.5, hi + 0.5)
    else:
        hist_range = (lo, hi)
    counts, edges = np.histogram(present, bins=N_BINS, range=hist_range)
    deciles = np.unique(np.quantile(present, DECILES))
    decile_counts = np.bincount(psi_bins(deciles, present), minlength=deciles.size + 1)
    if count > sample_size:
        rng = np.random.default_rng(seed)
        sample = present[np.sort(rng.choice(count, size=sample_size, replace=False))]
    else:
        sample = present
    entry.update(
        mean=_float(present.mean()),
        std=_float(present.std(ddof=1)) if count > 1 else 0.0,
        min=lo,
        max=hi,
        quantiles={
            str(q): float(v)
            for q, v in zip(QUANTILES, np.quantile(present, QUANTILES), strict=True)
        },
        bin_edges=[float(e) for e in edges],
        bin_counts=[int(c) for c in counts],
        decile_edges=[float(e) for e in deciles],
        decile_counts=[int(c) for c in decile_counts],
        sample=sample.tolist(),
        sample_seed=seed,
    )
    return entry


def _categorical_profile(series: pd.Series, kind: str, n_rows: int) -> dict:
    counts = category_counts(series, kind)
    count = sum(counts.values())
    truncated = len(counts) > MAX_CATEGORIES
    if truncated:
        kept = dict(list(counts.items())[:MAX_CATEGORIES])
        kept[OTHER] = count - sum(kept.values())
        counts = kept
    entry: dict[str, Any] = {
        "kind": kind,
        "count": count,
        "missing": n_rows - count,
        "missing_rate": (n_rows - count) / n_rows if n_rows else 0.0,
        "counts": counts,
        "frequencies": {k: v / count for k, v in counts.items()} if count else {},
        "truncated": truncated,
    }
    if kind == "boolean":
        entry["mean"] = counts.get("True", 0) / count if count else None
    return entry


def profile_column(series: pd.Series, *, sample_size: int = SAMPLE_SIZE, seed: int = 0) -> dict:
    """The profile entry of one column (see the module docstring for its keys)."""
    kind = column_kind(series)
    n_rows = int(series.size)
    if kind == "numeric":
        entry = _numeric_profile(numeric_values(series), n_rows, sample_size, seed)
    else:
        entry = _categorical_profile(series, kind, n_rows)
    entry["dtype"] = str(series.dtype)
    return entry


def _numeric_profile(values: np.ndarray, n_rows: int, sample_size: int, seed: int) -> dict:
    return numeric_summary(values[~np.isnan(values)], n_rows, sample_size, seed)


def build_profile(df: Any, *, sample_size: int = SAMPLE_SIZE, seed: int = 0) -> dict:
    """The reference profile of a training sample: JSON-ready, NaN-free, deterministic.

    ``df`` may be a DataFrame, a 2-D array (columns named ``f0..fN`` like the signature) or
    anything ``pandas.DataFrame`` accepts. Raises ``InvalidInput`` for datetime columns and
    duplicated column names.
    """
    frame = as_frame(df)
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        duplicated = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInput(f"duplicated column names: {duplicated}")
    columns = {
        str(name): profile_column(frame[name], sample_size=sample_size, seed=seed)
        for name in frame.columns
    }
    return {"n_rows": int(len(frame)), "columns": columns}


def is_profile(value: Any) -> bool:
    """Whether ``value`` looks like a profile built here (used to accept it as a reference)."""
    return (
        isinstance(value, Mapping)
        and isinstance(value.get("columns"), Mapping)
        and "n_rows" in value
        and all(
            isinstance(c, Mapping) and c.get("kind") in KINDS for c in value["columns"].values()
        )
    )
