"""Request payloads checked against a model's signature and turned into model input.

A payload is ``{"records": [{…}, …]}`` or ``{"columns": {name: [...]}}``. The common case (all
values well typed) is one vectorised NumPy conversion per request; only when that fails does a
column-by-column pass run, to name every bad field with its rows. Prepared requests from a batch
are concatenated into ONE model input (a DataFrame with the signature's columns, or an ndarray).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np

EXTRA_POLICIES = ("ignore", "reject")
CATEGORY_POLICIES = ("accept", "reject")
DEFAULT_MAX_STRING_LENGTH = 65_536  # characters of one string value
_MISSING = object()
_MAX_ROWS_LISTED = 5


class PayloadError(Exception):
    """The request cannot be predicted: ``errors`` is a list of ``{field, message, rows}``."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = []
        grouped: dict[str, list[str]] = {}  # "is missing" for 30 fields reads better as one
        for error in self.errors:
            if error.get("field") and not error.get("rows"):
                grouped.setdefault(error["message"], []).append(f"'{error['field']}'")
        for message, fields in grouped.items():
            if len(fields) > 1:
                parts.append(f"{', '.join(fields)}: {message}")
        for error in self.errors:
            if error.get("field") and not error.get("rows") and len(grouped[error["message"]]) > 1:
                continue
            text = (
                f"'{error['field']}': {error['message']}"
                if error.get("field")
                else error["message"]
            )
            rows = error.get("rows")
            if rows:
                shown = ", ".join(str(r) for r in rows[:_MAX_ROWS_LISTED])
                more = (
                    f" and {len(rows) - _MAX_ROWS_LISTED} more"
                    if len(rows) > _MAX_ROWS_LISTED
                    else ""
                )
                text += f" (rows {shown}{more})"
            parts.append(text)
        return "invalid input: " + "; ".join(parts)

    def to_dict(self) -> dict:
        return {
            "error": {
                "code": "invalid_input",
                "message": self.message,
                "details": {"errors": self.errors},
            }
        }


def payload_error(message: str, field_name: str | None = None) -> PayloadError:
    return PayloadError([{"field": field_name, "message": message}])


@dataclass
class Prepared:
    """One request, validated: ``matrix`` (all-numeric signatures) or ``columns``."""

    n_rows: int
    matrix: np.ndarray | None = None
    columns: dict[str, np.ndarray] | None = None
    records: list[dict] = field(default_factory=list)  # per-row inputs for the prediction log
    # column -> rows holding a category the signature does not list (policy "accept")
    unknown: dict[str, list[int]] | None = None

    def row_flags(self) -> list[list[str]] | None:
        """Per row, the columns with an unknown category (for the prediction log)."""
        if not self.unknown:
            return None
        flags: list[list[str]] = [[] for _ in range(self.n_rows)]
        for column, rows in self.unknown.items():
            for row in rows:
                flags[row].append(column)
        return flags


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _rows_dict(rows: list[int], got: list[str]) -> dict:
    return {"rows": rows, "got": sorted(set(got))}


class InputValidator:
    """Validates payloads for one signature (see the cross-team contract in COMMON.md)."""

    def __init__(
        self,
        signature: dict | None,
        *,
        extra_columns: str = "ignore",
        max_rows: int = 100_000,
        unknown_categories: str | dict[str, str] = "accept",
        max_string_length: int = DEFAULT_MAX_STRING_LENGTH,
    ):
        if extra_columns not in EXTRA_POLICIES:
            raise ValueError(f"extra_columns must be one of {EXTRA_POLICIES}")
        self.signature = signature or {}
        self.extra_columns = extra_columns
        self.max_rows = max_rows
        self.max_string_length = int(max_string_length)
        self.inputs: list[dict] = list(self.signature.get("inputs") or [])
        self.names: list[str] = [str(spec["name"]) for spec in self.inputs]
        self.name_set = frozenset(self.names)
        self.n_cols = len(self.names)
        self.kinds = [spec.get("kind", "numeric") for spec in self.inputs]
        self.nullable = np.array([bool(spec.get("nullable", False)) for spec in self.inputs])
        self.input_type = self.signature.get("input_type", "dataframe")
        self.all_numeric = bool(self.names) and all(k == "numeric" for k in self.kinds)
        self.untyped = not self.names  # no signature recorded: pass rows through
        self._getter = itemgetter(*self.names) if self.names else None
        policies = (
            unknown_categories
            if isinstance(unknown_categories, dict)
            else dict.fromkeys(self.names, unknown_categories)
        )
        self.columns: list[ColumnRule] = [
            ColumnRule.of(spec, policies.get(str(spec["name"]), "accept"), self.max_string_length)
            for spec in self.inputs
        ]

    # -- entry point --------------------------------------------------------------------------

    def prepare(self, payload: Any) -> Prepared:
        if not isinstance(payload, dict):
            raise payload_error(
                f"the body must be a JSON object with 'records' or 'columns', got "
                f"{_type_name(payload)}"
            )
        has_records, has_columns = "records" in payload, "columns" in payload
        if has_records == has_columns:
            raise payload_error(
                "the body must have exactly one of 'records' (a list of row objects) or "
                "'columns' (an object of equal-length lists)"
            )
        if has_records:
            records = payload["records"]
            if not isinstance(records, list):
                raise payload_error(
                    f"'records' must be a list, got {_type_name(records)}", "records"
                )
            if not records:
                raise payload_error("'records' is empty", "records")
            self._check_size(len(records))
            bad = [i for i, r in enumerate(records) if not isinstance(r, dict)]
            if bad:
                raise PayloadError(
                    [{"field": "records", "message": "every record must be an object", "rows": bad}]
                )
            if self.untyped:
                return Prepared(len(records), columns=_untyped_columns(records), records=records)
            if self.all_numeric:
                fast = self._fast_records(records)
                if fast is not None:
                    return fast
            return self._slow(records, None)
        columns = payload["columns"]
        if not isinstance(columns, dict):
            raise payload_error(
                f"'columns' must be an object, got {_type_name(columns)}", "columns"
            )
        if not columns:
            raise payload_error("'columns' is empty", "columns")
        lengths = {}
        for name, values in columns.items():
            if not isinstance(values, list):
                raise payload_error(f"must be a list of values, got {_type_name(values)}", name)
            lengths[name] = len(values)
        if len(set(lengths.values())) != 1:
            raise PayloadError(
                [
                    {
                        "field": name,
                        "message": f"has {n} values; all columns must have the same length",
                    }
                    for name, n in lengths.items()
                ]
            )
        n_rows = next(iter(lengths.values()))
        if n_rows == 0:
            raise payload_error("'columns' has no rows", "columns")
        self._check_size(n_rows)
        if self.untyped:
            records = [
                dict(zip(columns, values, strict=True))
                for values in zip(*columns.values(), strict=True)
            ]
            return Prepared(n_rows, columns=_untyped_columns(records), records=records)
        if self.all_numeric:
            fast = self._fast_columns(columns, n_rows)
            if fast is not None:
                return fast
        return self._slow(None, columns, n_rows)

    def _check_size(self, n_rows: int) -> None:
        if n_rows > self.max_rows:
            raise payload_error(f"too many rows: {n_rows} > {self.max_rows} per request")

    # -- fast paths (one NumPy conversion, no per-value Python checks) -------------------------

    def _fast_records(self, records: list[dict]) -> Prepared | None:
        getter = self._getter
        try:
            if self.n_cols == 1:
                rows = [(getter(r),) for r in records]
            else:
                rows = [getter(r) for r in records]
        except KeyError:
            return None
        has_extra = any(len(r) != self.n_cols for r in records)
        if has_extra and self.extra_columns == "reject":
            return None
        if bool in set(map(type, chain.from_iterable(rows))):
            return None  # true/false in a numeric column: the slow path names it
        matrix = self._numeric_matrix(rows)
        if matrix is None:
            return None
        log_rows = records
        if has_extra:
            names = self.names
            log_rows = [dict(zip(names, row, strict=True)) for row in rows]
        return Prepared(len(records), matrix=matrix, records=log_rows)

    def _fast_columns(self, columns: dict, n_rows: int) -> Prepared | None:
        if not self.name_set.issubset(columns):
            return None
        if len(columns) != self.n_cols and self.extra_columns == "reject":
            return None
        if bool in set(map(type, chain.from_iterable(columns[n] for n in self.names))):
            return None
        try:
            matrix = np.array([columns[n] for n in self.names])
        except (ValueError, TypeError):
            return None
        if matrix.ndim != 2 or matrix.dtype.kind not in "biuf":
            return None
        matrix = np.ascontiguousarray(matrix.T, dtype=np.float64)
        if not self._finite_ok(matrix):
            return None
        names = self.names
        records = [dict(zip(names, row, strict=True)) for row in matrix.tolist()]
        return Prepared(n_rows, matrix=matrix, records=records)

    def _numeric_matrix(self, rows: list) -> np.ndarray | None:
        try:
            matrix = np.array(rows)
        except (ValueError, TypeError, OverflowError):
            return None
        if matrix.ndim != 2 or matrix.dtype.kind not in "biuf":
            return None  # strings, nulls, nested lists, huge ints: let the slow path name them
        matrix = matrix.astype(np.float64, copy=False)
        if not self._finite_ok(matrix):
            return None
        return matrix

    def _finite_ok(self, matrix: np.ndarray) -> bool:
        finite = np.isfinite(matrix)
        if finite.all():
            return True
        if np.isinf(matrix).any():
            return False
        nan_cols = (~finite).any(axis=0)
        return not bool((nan_cols & ~self.nullable).any())

    # -- slow path: column by column, naming every problem ------------------------------------

    def _slow(
        self, records: list[dict] | None, columns: dict | None, n_rows: int | None = None
    ) -> Prepared:
        errors: list[dict] = []
        if records is not None:
            n_rows = len(records)
            present: set[str] = set()
            for r in records:
                present.update(r.keys())
            missing_rows = {n: [i for i, r in enumerate(records) if n not in r] for n in self.names}
        else:
            present = set(columns)
            missing_rows = {
                n: (list(range(n_rows)) if n not in columns else []) for n in self.names
            }
        extra = sorted(str(n) for n in present - self.name_set)
        if extra and self.extra_columns == "reject":
            for name in extra:
                errors.append(
                    {
                        "field": name,
                        "message": "is not an input of this model (extra columns are rejected)",
                    }
                )
        out: dict[str, np.ndarray] = {}
        unknown: dict[str, list[int]] = {}
        for rule, name, kind, nullable in zip(
            self.columns, self.names, self.kinds, self.nullable, strict=True
        ):
            missing = missing_rows[name]
            if missing:
                if len(missing) == n_rows:
                    errors.append({"field": name, "message": "is missing"})
                else:
                    errors.append({"field": name, "message": "is missing", "rows": missing})
                continue
            if records is not None:
                values = [r[name] for r in records]
            else:
                values = columns[name]
            array, error = _convert(values, kind, bool(nullable), rule)
            if error:
                errors.append({"field": name, **error})
                continue
            out[name] = array
            if rule.categories is not None:
                rows, error = rule.unknown_rows(values)
                if error:
                    errors.append({"field": name, **error})
                elif rows:
                    unknown[name] = rows
        if errors:
            raise PayloadError(errors)
        if records is not None:
            log_rows = records if not extra else [{n: r[n] for n in self.names} for r in records]
        else:
            log_rows = [
                dict(zip(self.names, vals, strict=True))
                for vals in zip(*(columns[n] for n in self.names), strict=True)
            ]
        if self.all_numeric:
            matrix = np.column_stack([out[n] for n in self.names]).astype(np.float64)
            return Prepared(n_rows, matrix=matrix, records=log_rows)
        return Prepared(n_rows, columns=out, records=log_rows, unknown=unknown or None)

    # -- model input for a batch --------------------------------------------------------------

    def model_input(self, batch: list[Prepared]) -> Any:
        """ONE model input for all requests of a batch, rows in batch order."""
        if self.all_numeric:
            matrix = batch[0].matrix if len(batch) == 1 else np.vstack([p.matrix for p in batch])
            if self.input_type == "ndarray":
                return matrix
            import pandas as pd

            return pd.DataFrame(matrix, columns=self.names, copy=False)
        import pandas as pd

        if self.untyped:
            frames = [pd.DataFrame(p.columns) for p in batch]
            return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        data = {}
        for name in self.names:
            parts = [p.columns[name] for p in batch]
            data[name] = parts[0] if len(parts) == 1 else np.concatenate(parts)
        frame = pd.DataFrame(data, columns=self.names)
        if self.input_type == "ndarray":
            return frame.to_numpy()
        return frame


def _untyped_columns(records: list[dict]) -> dict[str, np.ndarray]:
    names: dict[str, None] = {}
    for r in records:
        for key in r:
            names.setdefault(key)
    return {name: np.array([r.get(name) for r in records], dtype=object) for name in names}


@dataclass(frozen=True)
class ColumnRule:
    """What one input column accepts: its categories and policy, the longest string."""

    categories: frozenset | None
    numeric_categories: bool
    policy: str
    max_string_length: int

    @classmethod
    def of(cls, spec: dict, policy: str, max_string_length: int) -> ColumnRule:
        if policy not in CATEGORY_POLICIES:
            raise ValueError(f"unknown_categories must be one of {CATEGORY_POLICIES}")
        listed = spec.get("categories")
        categories = frozenset(listed) if isinstance(listed, list) else None
        if categories is None:  # too many to list: only a text dtype says "strings only"
            numeric = str(spec.get("dtype", "object")) not in ("object", "string", "str")
        else:
            numeric = any(isinstance(c, (int, float)) and not isinstance(c, bool) for c in listed)
        return cls(categories, numeric, policy, max_string_length)

    def unknown_rows(self, values: list) -> tuple[list[int], dict | None]:
        """Rows whose (non-null) category is not in the signature; an error under "reject"."""
        known = self.categories or frozenset()
        rows = [
            i
            for i, v in enumerate(values)
            if v is not None and not (isinstance(v, float) and math.isnan(v)) and v not in known
        ]
        if not rows or self.policy == "accept":
            return rows, None
        seen = sorted({str(values[i]) for i in rows})[:_MAX_ROWS_LISTED]
        return rows, {
            "message": f"unknown categor{'y' if len(seen) == 1 else 'ies'} "
            f"{', '.join(repr(v) for v in seen)} (not in the model's signature; "
            "unknown_categories is reject)",
            "rows": rows,
        }


def _long_strings(values: list, limit: int) -> list[int]:
    return [i for i, v in enumerate(values) if isinstance(v, str) and len(v) > limit]


def _convert(values: list, kind: str, nullable: bool, rule: ColumnRule) -> tuple[Any, dict | None]:
    """One column → array, or an error dict naming the bad rows and the types seen."""
    if kind == "numeric":
        bad, nulls, got = [], [], []
        for i, v in enumerate(values):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                nulls.append(i)
            elif isinstance(v, float) and math.isinf(v):
                bad.append(i)
                got.append("infinity")
            elif isinstance(v, bool) or not isinstance(v, (int, float)):
                bad.append(i)
                got.append(_type_name(v))
        if bad:
            return None, {
                "message": f"expected a number, got {', '.join(sorted(set(got)))}",
                **_rows_dict(bad, got),
            }
        if nulls and not nullable:
            return None, {"message": "must not be null or NaN", "rows": nulls}
        try:
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64), None
        except OverflowError:
            return None, {"message": "number out of range"}
    if kind == "boolean":
        bad = [i for i, v in enumerate(values) if v is not None and not isinstance(v, bool)]
        if bad:
            got = [_type_name(values[i]) for i in bad]
            return None, {
                "message": f"expected true or false, got {', '.join(sorted(set(got)))}",
                **_rows_dict(bad, got),
            }
        nulls = [i for i, v in enumerate(values) if v is None]
        if nulls and not nullable:
            return None, {"message": "must not be null", "rows": nulls}
        if nulls:
            return np.array(values, dtype=object), None
        return np.array(values, dtype=bool), None
    # categorical: strings (numbers too when the signature's categories are numbers)
    numbers_ok = rule.numeric_categories
    bad = [
        i
        for i, v in enumerate(values)
        if v is not None
        and not isinstance(v, str)
        and not (isinstance(v, float) and math.isnan(v))
        and (isinstance(v, bool) or not numbers_ok or not isinstance(v, (int, float)))
    ]
    if bad:
        got = [_type_name(values[i]) for i in bad]
        expected = "a category (a string or a number)" if numbers_ok else "a category (a string)"
        return None, {
            "message": f"expected {expected}, got {', '.join(sorted(set(got)))}",
            **_rows_dict(bad, got),
        }
    long = _long_strings(values, rule.max_string_length)
    if long:
        return None, {
            "message": f"strings longer than {rule.max_string_length} characters are refused",
            "rows": long,
        }
    nulls = [
        i for i, v in enumerate(values) if v is None or (isinstance(v, float) and math.isnan(v))
    ]
    if nulls and not nullable:
        return None, {"message": "must not be null", "rows": nulls}
    array = np.empty(len(values), dtype=object)
    array[:] = [np.nan if i_v is None else i_v for i_v in values]
    return array, None
