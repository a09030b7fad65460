"""Alert rules evaluated on a drift result: the operators' questions as thresholds.

Defaults come from the seeds: "a key feature's mean shifts by 20 %" (``mean_shift_pct``: fires
when |shift| is at least 20 %) and "more than 5 % of requests miss a key feature"
(``missing_rate``: fires above 5 %). ``drift_share`` fires when more than that share of the
columns drifted; ``performance_drop`` when a quality metric is worse than the registered one by
more than that fraction (relative); ``estimated_performance_drop`` the same on the
performance estimated without labels (CBPE, ``estimation.py``) against the metric realised on
the reference sample, so a drop shows before the labels arrive. ``features`` restricts the
per-feature rules to key features (default: every column). A rule set to ``None`` is off.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInput

DEFAULT_RULES: dict[str, Any] = {
    "drift_share": 0.5,
    "mean_shift_pct": 20.0,
    "missing_rate": 0.05,
    "performance_drop": 0.1,
    "estimated_performance_drop": 0.1,
    "features": None,
}
TOLERANCE = 1e-9


def normalise_rules(rules: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults overlaid with ``rules``; unknown keys and bad values are refused."""
    merged = dict(DEFAULT_RULES)
    if rules is not None and not isinstance(rules, Mapping):
        raise InvalidInput("rules must be an object {rule: threshold}", code="invalid_rule")
    for key, value in (rules or {}).items():
        if key not in DEFAULT_RULES:
            raise InvalidInput(
                f"unknown rule {key!r}; rules are {sorted(DEFAULT_RULES)}", code="invalid_rule"
            )
        if key == "features":
            if value is not None and (
                not isinstance(value, list) or not all(isinstance(v, str) for v in value)
            ):
                raise InvalidInput("rule 'features' must be a list of column names or null")
        elif value is not None:
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise InvalidInput(f"rule {key!r} must be a non-negative number or null")
            value = float(value)
        merged[key] = value
    return merged


def _key_columns(columns: list[dict], features: list[str] | None) -> list[dict]:
    if not features:
        return columns
    wanted = set(features)
    return [c for c in columns if c["column"] in wanted]


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def evaluate(
    summary: Mapping[str, Any],
    columns: list[dict],
    rules: Mapping[str, Any] | None = None,
    performance: Mapping[str, Any] | None = None,
) -> list[dict]:
    """The alerts a result raises: ``[{rule, severity, message, details}]``."""
    rules = normalise_rules(rules)
    alerts: list[dict] = []
    share = summary.get("drift_share")
    if rules["drift_share"] is not None and _finite(share) and share > rules["drift_share"]:
        drifted = summary.get("drifted_columns", [])
        alerts.append(
            {
                "rule": "drift_share",
                "severity": "critical",
                "message": f"{share:.0%} of the features drifted "
                f"(threshold {rules['drift_share']:.0%}): {', '.join(drifted)}",
                "details": {"value": share, "threshold": rules["drift_share"], "columns": drifted},
            }
        )
    key_columns = _key_columns(columns, rules["features"])
    limit = rules["mean_shift_pct"]
    if limit is not None:
        for column in key_columns:
            shift = column.get("mean_shift_pct")
            if _finite(shift) and abs(shift) >= limit - TOLERANCE:
                alerts.append(
                    {
                        "rule": "mean_shift_pct",
                        "severity": "warning",
                        "message": f"mean of {column['column']!r} shifted by {shift:+.1f} % "
                        f"(threshold {limit:g} %): {column.get('reference_mean'):.4g} → "
                        f"{column.get('current_mean'):.4g}",
                        "details": {"column": column["column"], "value": shift, "threshold": limit},
                    }
                )
    limit = rules["missing_rate"]
    if limit is not None:
        for column in key_columns:
            rate = column.get("current_missing_rate")
            if _finite(rate) and rate > limit + TOLERANCE:
                alerts.append(
                    {
                        "rule": "missing_rate",
                        "severity": "warning",
                        "message": f"{rate:.1%} of the rows miss {column['column']!r} "
                        f"(threshold {limit:.1%})",
                        "details": {"column": column["column"], "value": rate, "threshold": limit},
                    }
                )
    limit = rules["performance_drop"]
    if limit is not None and performance:
        for metric, entry in (performance.get("metrics") or {}).items():
            drop = entry.get("drop")
            if _finite(drop) and drop > limit + TOLERANCE:
                alerts.append(
                    {
                        "rule": "performance_drop",
                        "severity": "critical",
                        "message": f"{metric} is {entry['current']:.4g} on "
                        f"{performance.get('n_labelled', 0)} labelled predictions vs "
                        f"{entry['registered']:.4g} registered ({drop:.1%} worse, "
                        f"threshold {limit:.0%})",
                        "details": {"metric": metric, **entry, "threshold": limit},
                    }
                )
    limit = rules["estimated_performance_drop"]
    estimated = (performance or {}).get("estimated") or {}
    if limit is not None and estimated.get("available"):
        for metric, entry in (estimated.get("metrics") or {}).items():
            drop = entry.get("drop")
            if _finite(drop) and drop > limit + TOLERANCE:
                alerts.append(
                    {
                        "rule": "estimated_performance_drop",
                        "severity": "warning",
                        "message": f"estimated {metric} is {entry['estimated']:.4g} on "
                        f"{estimated.get('n', 0)} predictions (no labels needed) vs "
                        f"{entry['reference']:.4g} on the reference sample ({drop:.1%} worse, "
                        f"threshold {limit:.0%})",
                        "details": {"metric": metric, **entry, "threshold": limit},
                    }
                )
    return alerts
