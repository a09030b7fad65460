"""Turning what was typed into values: ``KEY=VALUE`` options, JSON options, drift methods, and
data files (CSV/Parquet). Every refusal is an ``InvalidInput`` naming the option, so the CLI exits
with 2 and the magic prints one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import InvalidInput

TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".parquet": None, ".pq": None}


def parse_pairs(values: list[str] | None, option: str) -> dict[str, str]:
    """``["team=risk", …]`` → ``{"team": "risk"}``."""
    result = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"{option} must be KEY=VALUE, got {item!r}")
        result[key] = value
    return result


def parse_metrics(values: list[str] | None, option: str = "--metric") -> dict[str, float]:
    metrics = {}
    for key, value in parse_pairs(values, option).items():
        try:
            metrics[key] = float(value)
        except ValueError:
            raise InvalidInput(f"{option} {key}: {value!r} is not a number") from None
    return metrics


def parse_json(text: str | None, option: str) -> Any:
    """The value of a JSON option; ``None`` when it was not given."""
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInput(f"{option} is not valid JSON: {err}") from None


def parse_methods(text: str | None) -> Any:
    """``--methods``: one method for every column (``psi``), ``col=method,col=method``, or a JSON
    object ``{"col": "method"}``; the drift engine checks the names."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if text.startswith("{"):
        methods = parse_json(text, "--methods")
        if not isinstance(methods, dict):
            raise InvalidInput("--methods must be a JSON object {column: method}")
        return methods
    if "=" not in text:
        return text
    methods: dict[str, str] = {}
    for item in text.split(","):
        column, sep, method = item.rpartition("=")
        if not sep or not column.strip() or not method.strip():
            raise InvalidInput(f"--methods must be column=method[,column=method…], got {item!r}")
        methods[column.strip()] = method.strip()
    return methods


def is_table_file(value: str) -> bool:
    """Whether ``value`` names a data file rather than a model reference."""
    path = Path(value).expanduser()
    return path.suffix.lower() in TABLE_SUFFIXES or path.is_file()


def read_table(value: str, what: str):
    """A DataFrame from a CSV (``.csv``, ``.tsv``) or Parquet (``.parquet``, ``.pq``) file."""
    import pandas as pd

    path = Path(value).expanduser()
    if not path.is_file():
        raise InvalidInput(f"{what}: no such file {value!r}")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InvalidInput(f"{what}: {value!r} is not a .csv, .tsv, .parquet or .pq file")
    try:
        if TABLE_SUFFIXES[suffix] is None:
            return pd.read_parquet(path)
        return pd.read_csv(path, sep=TABLE_SUFFIXES[suffix])
    except ImportError as err:
        raise InvalidInput(f"{what}: cannot read Parquet here ({err})") from None
    except (ValueError, OSError, pd.errors.ParserError) as err:
        raise InvalidInput(f"{what}: cannot read {value!r}: {err}") from None
