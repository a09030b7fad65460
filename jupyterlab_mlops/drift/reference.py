"""The reference side of a drift comparison, from raw data or from a stored profile.

Both give the same shape — per column, the sorted non-missing values (numeric) or the category
counts, plus the summary the report needs — so the statistics never care where it came from. A
profile keeps a sample of at most 5 000 values per numeric column: when the column was larger the
KS and Wasserstein results are estimates (flagged ``approximate``); rates, means, histograms and
PSI bins come from the full column either way. Prepare a reference once and reuse it for many
windows (a monitor's rolling series does).

Pure: a model ref (``"churn@production"``) is resolved by the caller — the notebook facade,
``MLOps.drift_report`` or a monitor, each through the registry it was given — and handed in as
the version dict (:meth:`Reference.from_version`, :func:`resolve_reference`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidInput
from .profile import (
    as_frame,
    category_counts,
    column_kind,
    is_profile,
    numeric_summary,
    numeric_values,
)
from .stats import distinct_sorted


@dataclass
class NumericReference:
    name: str
    n_rows: int
    count: int
    values: np.ndarray  # sorted, finite
    mean: float | None
    std: float  # population standard deviation (ddof=0), as Evidently norms Wasserstein
    bin_edges: np.ndarray
    bin_counts: np.ndarray
    decile_edges: np.ndarray
    decile_counts: np.ndarray
    approximate: bool = False
    dtype: str = "float64"
    kind: str = "numeric"
    _distinct: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _distinct_raw: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def missing_rate(self) -> float:
        return (self.n_rows - self.count) / self.n_rows if self.n_rows else math.nan

    def distinct(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct values and their counts (scaled to the full column for a sample)."""
        if self._distinct is None:
            values, counts = self.distinct_values()
            if self.approximate and self.values.size:
                counts = np.rint(counts * (self.count / self.values.size)).astype(np.int64)
            self._distinct = (values, counts)
        return self._distinct

    def distinct_values(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct values of the (sample) values and their exact counts, for KS."""
        if self._distinct_raw is None:
            self._distinct_raw = distinct_sorted(self.values)
        return self._distinct_raw

    @property
    def n_unique(self) -> int:
        return int(self.distinct_values()[0].size)


@dataclass
class CategoricalReference:
    name: str
    kind: str  # "categorical" or "boolean"
    n_rows: int
    count: int
    counts: dict[str, int]
    dtype: str = "object"
    approximate: bool = False

    @property
    def missing_rate(self) -> float:
        return (self.n_rows - self.count) / self.n_rows if self.n_rows else math.nan

    @property
    def mean(self) -> float | None:
        """Share of True for booleans; categories have no mean."""
        if self.kind != "boolean" or not self.count:
            return None
        return self.counts.get("True", 0) / self.count

    @property
    def n_unique(self) -> int:
        return len(self.counts)


ColumnReference = NumericReference | CategoricalReference


@dataclass
class Reference:
    columns: dict[str, ColumnReference]
    n_rows: int
    source: str  # "data" or "profile"
    model: dict[str, Any] | None = None  # {"name", "version"} when built from a model ref

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_data(cls, data: Any) -> Reference:
        frame = as_frame(data)
        columns: dict[str, ColumnReference] = {}
        for name in frame.columns:
            series = frame[name]
            kind = column_kind(series, name)
            label = str(name)
            if kind == "numeric":
                values = numeric_values(series)
                present = values[~np.isnan(values)]
                present.sort()
                columns[label] = _numeric_from_entry(
                    label, numeric_summary(present, len(series), 0, 0), present, approximate=False
                )
                columns[label].dtype = str(series.dtype)
                columns[label].std = float(present.std()) if present.size else 0.0
            else:
                counts = category_counts(series, kind)
                columns[label] = CategoricalReference(
                    label, kind, len(series), sum(counts.values()), counts, str(series.dtype)
                )
        return cls(columns, len(frame), "data")

    @classmethod
    def from_profile(cls, profile: Mapping[str, Any], model: dict | None = None) -> Reference:
        if not is_profile(profile):
            raise InvalidInput(
                "the reference profile is missing or malformed (expected the dict that "
                "drift.profile.build_profile returns, with 'n_rows' and 'columns')",
                code="invalid_profile",
            )
        columns: dict[str, ColumnReference] = {}
        for name, entry in profile["columns"].items():
            n_rows = int(profile["n_rows"])
            if entry["kind"] == "numeric":
                sample = np.sort(np.asarray(entry.get("sample") or [], dtype=np.float64))
                sample = sample[np.isfinite(sample)]
                approximate = sample.size < int(entry["count"])
                columns[name] = _numeric_from_entry(name, entry, sample, approximate=approximate)
                columns[name].dtype = entry.get("dtype", "float64")
            else:
                counts = {str(k): int(v) for k, v in (entry.get("counts") or {}).items()}
                columns[name] = CategoricalReference(
                    name,
                    entry["kind"],
                    n_rows,
                    int(entry["count"]),
                    counts,
                    entry.get("dtype", "object"),
                    approximate=bool(entry.get("truncated")),
                )
        return cls(columns, int(profile["n_rows"]), "profile", model)

    @classmethod
    def from_version(cls, version: Mapping[str, Any]) -> Reference:
        """The reference of a registered version (its profile, made at registration)."""
        if not version.get("profile"):
            raise InvalidInput(
                f"model {version['name']} version {version['version']} has no reference "
                "profile (register it with X_sample=… so drift can be computed)",
                code="no_profile",
            )
        return cls.from_profile(
            version["profile"], model={"name": version["name"], "version": version["version"]}
        )

    @classmethod
    def coerce(cls, reference: Any) -> Reference:
        """A ``Reference`` from a Reference, a profile dict or data. A model ref is resolved
        by the caller first (:func:`resolve_reference`)."""
        if isinstance(reference, Reference):
            return reference
        if isinstance(reference, Mapping) and "columns" in reference and "n_rows" in reference:
            return cls.from_profile(reference)
        if isinstance(reference, str | tuple):
            raise InvalidInput(
                f"the reference {reference!r} is a model ref: use mlops.drift_report(…), which "
                "resolves it to the version's profile, or pass data, a profile or a Reference",
                code="unresolved_reference",
            )
        return cls.from_data(reference)


def version_methods(version: Mapping[str, Any] | None) -> Any:
    """A version's own drift methods (its ``drift_methods`` tag, a JSON object), if any."""
    methods = ((version or {}).get("tags") or {}).get("drift_methods")
    if isinstance(methods, str) and methods.strip().startswith("{"):
        try:
            return json.loads(methods)
        except json.JSONDecodeError as err:
            raise InvalidInput(f"drift methods are not valid JSON: {err}") from None
    return methods or None


def resolve_reference(
    reference: Any, methods: Any, resolve: Callable[[Any], Mapping[str, Any]]
) -> tuple[Any, Any]:
    """``(reference, methods)`` with a model ref (``"churn@production"``, ``("churn", 3)``)
    replaced by its version's :class:`Reference` and, unless ``methods`` is given, the
    version's own methods. ``resolve`` is the registry's look-up; data passes through."""
    if not isinstance(reference, str | tuple):
        return reference, methods
    version = resolve(reference)
    if methods is None:
        methods = version_methods(version)
    return Reference.from_version(version), methods


def _numeric_from_entry(
    name: str, entry: Mapping[str, Any], values: np.ndarray, *, approximate: bool
) -> NumericReference:
    count = int(entry["count"])
    std = entry.get("std")
    # The profile stores the sample standard deviation (ddof=1); Evidently norms by ddof=0.
    population_std = float(std) * math.sqrt((count - 1) / count) if std and count > 1 else 0.0
    return NumericReference(
        name=name,
        n_rows=int(entry["count"]) + int(entry["missing"]),
        count=count,
        values=values,
        mean=entry.get("mean"),
        std=population_std,
        bin_edges=np.asarray(entry.get("bin_edges") or [], dtype=np.float64),
        bin_counts=np.asarray(entry.get("bin_counts") or [], dtype=np.int64),
        decile_edges=np.asarray(entry.get("decile_edges") or [], dtype=np.float64),
        decile_counts=np.asarray(entry.get("decile_counts") or [], dtype=np.int64),
        approximate=approximate,
    )
