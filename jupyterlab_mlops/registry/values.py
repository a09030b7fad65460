"""Metrics, parameters and tags as the registry stores them, whoever hands them in.

The notebook API passes NumPy scalars and arbitrary objects, REST passes decoded JSON: both go
through these checks, so a stored version always holds finite float metrics, JSON parameters and
string → string tags (searchable the same way in every SQL dialect).
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..errors import InvalidInput
from .signature import to_jsonable

TAG_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")


def check_metrics(metrics: Any) -> dict[str, float]:
    if metrics is None:
        return {}
    if not isinstance(metrics, dict):
        raise InvalidInput("metrics must be an object {name: number}")
    clean = {}
    for key, value in metrics.items():
        if hasattr(value, "item") and not isinstance(value, bool):
            value = value.item()
        if (
            not isinstance(key, str)
            or isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise InvalidInput(f"metric {key!r} must be a finite number, got {value!r}")
        clean[key] = float(value)
    return clean


def check_params(params: Any) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise InvalidInput("params must be an object {name: value}")
    return to_jsonable({str(k): v for k, v in params.items()})


def check_tags(tags: Any) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise InvalidInput("tags must be an object {key: value}")
    clean = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not TAG_KEY_RE.match(key):
            raise InvalidInput(f"invalid tag key {key!r}: use letters, digits, '_', '-' or '.'")
        clean[key] = "" if value is None else str(value)
    return clean


def check_tag_filter(tag: str) -> tuple[str, str | None]:
    """``key`` or ``key=value`` → ``(key, value or None)``."""
    key, has_value, value = tag.partition("=")
    if not TAG_KEY_RE.match(key):
        raise InvalidInput(f"invalid tag filter {tag!r}: expected key or key=value")
    return key, value if has_value else None
