"""The drift charts as Vega-Lite specs: one definition for the notebook widget, the static HTML
and the panel, so they look and behave the same.

``history_spec`` (the drift share per check or window over time: drifted ones marked, the
dataset-drift threshold as a rule, tooltips) and ``histogram_spec`` (a feature's reference and
current distributions side by side, with the current values below and above the reference's
range) are plain dicts with their data inline. JupyterLab draws them with its own Vega renderer
(``@jupyterlab/vega5-extension``), which switches to Vega's dark theme when the lab's theme is
dark: the widget displays ``mime_bundle(spec)``, the REST API returns the same bundle for the
panel. ``to_svg`` draws a spec without a browser (vl-convert bundles Vega and needs no network)
for the static HTML of nbconvert, e-mail and ``jupyter mlops drift report --html``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

VEGALITE_MIME = "application/vnd.vegalite.v5+json"
SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
VEGALITE_VERSION = "5.21"  # the v5 that vl-convert ships, for the static drawing
# SVG (crisp, and its marks can be found in the page); no export menu, in the panel as in cells.
EMBED_OPTIONS = {"renderer": "svg", "actions": False}

# JupyterLab's light brand, warning and error colours: readable on Vega's white and dark grounds.
REFERENCE_COLOUR = "#1976d2"
CURRENT_COLOUR = "#f57c00"
DRIFTED_COLOUR = "#e53935"

Width = int | str  # pixels, or "container" (the width of the element it is drawn in)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def history_points(history: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The charted points: checks or windows that measured a drift share, oldest first."""
    points = []
    for index, entry in enumerate(h for h in history if _finite(h.get("drift_share"))):
        points.append(
            {
                "check": index + 1,
                "time": entry.get("window_end") or entry.get("created_at"),
                "drift_share": float(entry["drift_share"]),
                "drifted": bool(entry.get("drifted")),
                "n_drifted": entry.get("n_drifted"),
                "n_rows": entry.get("n_rows"),
                "drifted_columns": ", ".join(entry.get("drifted_columns") or []) or "none",
            }
        )
    return points


def _epoch_ms(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000
    except ValueError:
        return None


def history_description(points: Sequence[dict[str, Any]]) -> str:
    if not points:
        return "No drift checks yet"
    checks = f"{len(points)} check" + ("s" if len(points) != 1 else "")
    return f"Drift share over {checks}; latest {points[-1]['drift_share']:.0%} drifted"


def history_spec(
    history: Sequence[dict[str, Any]],
    *,
    threshold: float | None = None,
    width: Width = 480,
    height: int = 160,
) -> dict[str, Any]:
    """Drift share per check over time; ``threshold`` defaults to the latest point's."""
    points = history_points(history)
    if threshold is None:
        threshold = next(
            (h["threshold"] for h in reversed(history) if _finite(h.get("threshold"))), 0.5
        )
    times = [_epoch_ms(p["time"]) if isinstance(p["time"], str) else None for p in points]
    timed = bool(points) and None not in times
    if timed:
        # The first and last time at the ends of the axis: checks can be seconds or days apart.
        ends = sorted({min(times), max(times)})
        axis = {"values": ends, "format": "%b %d %H:%M:%S", "labelFlush": True}
        x = {"field": "time", "type": "temporal", "title": None, "axis": axis}
    else:
        x = {"field": "check", "type": "quantitative", "title": "check", "axis": {"tickMinStep": 1}}
    y = {
        "field": "drift_share",
        "type": "quantitative",
        "title": "drifted features",
        "scale": {"domain": [0, 1]},
        "axis": {"format": ".0%", "values": [0, 0.25, 0.5, 0.75, 1]},
    }
    tooltip = [
        {"field": "time", "type": "temporal", "title": "window end", "format": "%Y-%m-%d %H:%M:%S"}
        if timed
        else {"field": "check", "type": "quantitative", "title": "check"},
        {"field": "drift_share", "type": "quantitative", "title": "drift share", "format": ".0%"},
        {"field": "n_drifted", "type": "quantitative", "title": "drifted features"},
        {"field": "n_rows", "type": "quantitative", "title": "rows"},
        {"field": "drifted_columns", "type": "nominal", "title": "drifted"},
    ]
    return {
        "$schema": SCHEMA,
        "description": history_description(points),
        "title": {"text": "Drift share over time", "anchor": "start"},
        "width": width,
        "height": height,
        "data": {"values": points},
        "layer": [
            {
                "mark": {"type": "rule", "strokeDash": [4, 3], "color": DRIFTED_COLOUR},
                "encoding": {"y": {"datum": threshold, "type": "quantitative"}},
                "description": f"dataset drift at {threshold:.0%}",
            },
            {
                "mark": {"type": "line", "color": REFERENCE_COLOUR, "strokeWidth": 2},
                "encoding": {"x": x, "y": y},
            },
            {
                "mark": {"type": "point", "filled": True, "size": 60, "opacity": 1},
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": {
                        "field": "drifted",
                        "type": "nominal",
                        "scale": {
                            "domain": [False, True],
                            "range": [REFERENCE_COLOUR, DRIFTED_COLOUR],
                        },
                        "legend": None,
                    },
                    "tooltip": tooltip,
                },
            },
        ],
    }


def _unique_labels(edges: Sequence[float]) -> list[str]:
    """Edge labels with the fewest significant digits that keep neighbours apart."""
    for digits in range(3, 13):
        labels = [f"{e:.{digits}g}" for e in edges]
        if len(set(labels)) == len(labels):
            return labels
    return [repr(float(e)) for e in edges]


def histogram_bins(row: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per bin: its label and the reference and current counts (numeric: the
    reference's bins, with the current values below and above its range as bins of their own)."""
    hist = row.get("histogram") or {}
    reference = list(hist.get("reference") or [])
    current = list(hist.get("current") or [])
    if hist.get("type") == "numeric":
        edges = _unique_labels(hist.get("edges") or [])
        labels = [f"{lo}–{hi}" for lo, hi in zip(edges, edges[1:], strict=False)]
        below, above = hist.get("current_below") or 0, hist.get("current_above") or 0
        if below:  # the reference has no values outside its own range
            labels, reference = [f"< {edges[0]}", *labels], [0, *reference]
            current = [below, *current]
        if above:
            labels, reference = [*labels, f"> {edges[-1]}"], [*reference, 0]
            current = [*current, above]
    else:
        labels = [str(c) for c in hist.get("categories") or []]
    n = max(len(labels), len(reference), len(current))
    return [
        {
            "bin": labels[i] if i < len(labels) else str(i),
            "reference": reference[i] if i < len(reference) else 0,
            "current": current[i] if i < len(current) else 0,
        }
        for i in range(n)
    ]


def histogram_spec(
    row: dict[str, Any], *, width: Width = 480, height: int = 180
) -> dict[str, Any] | None:
    """A feature's reference and current shares per bin, side by side; None without values."""
    bins = histogram_bins(row)
    totals = {s: sum(b[s] for b in bins) for s in ("reference", "current")}
    if not any(totals.values()):
        return None
    values = [
        {
            "bin": b["bin"],
            "sample": sample,
            "count": b[sample],
            "share": b[sample] / totals[sample] if totals[sample] else 0.0,
        }
        for b in bins
        for sample in ("reference", "current")
    ]
    column = str(row.get("column"))
    statistic = row.get("statistic")
    subtitle = ("drifted" if row.get("drifted") else "not drifted") + (
        f" ({row.get('method')} {statistic:.4g})" if _finite(statistic) else ""
    )
    return {
        "$schema": SCHEMA,
        "description": f"Reference and current distributions of {column}",
        "title": {"text": column, "subtitle": subtitle, "anchor": "start"},
        "width": width,
        "height": height,
        "data": {"values": values},
        "mark": {"type": "bar", "opacity": 0.85},
        "encoding": {
            "x": {
                "field": "bin",
                "type": "nominal",
                "sort": [b["bin"] for b in bins],
                "title": None,
                "axis": {"labelAngle": -35, "labelLimit": 90},
            },
            "xOffset": {"field": "sample", "sort": ["reference", "current"]},
            "y": {
                "field": "share",
                "type": "quantitative",
                "title": "share of rows",
                "axis": {"format": ".0%"},
            },
            "color": {
                "field": "sample",
                "type": "nominal",
                "title": None,
                "scale": {
                    "domain": ["reference", "current"],
                    "range": [REFERENCE_COLOUR, CURRENT_COLOUR],
                },
                "legend": {"orient": "top"},
            },
            "tooltip": [
                {"field": "bin", "type": "nominal", "title": column},
                {"field": "sample", "type": "nominal"},
                {"field": "count", "type": "quantitative", "title": "rows"},
                {"field": "share", "type": "quantitative", "format": ".1%"},
            ],
        },
    }


def mime_bundle(spec: dict[str, Any]) -> dict[str, Any]:
    """What JupyterLab's renderer draws: ``{"data": {mime: spec}, "metadata": {…}}``."""
    return {
        "data": {VEGALITE_MIME: spec, "text/plain": spec.get("description", "chart")},
        "metadata": {VEGALITE_MIME: {"embed_options": dict(EMBED_OPTIONS)}},
    }


def to_svg(spec: dict[str, Any]) -> str:
    """The chart drawn without a browser, in Vega's light theme (no data is fetched)."""
    import vl_convert

    return vl_convert.vegalite_to_svg(spec, vl_version=VEGALITE_VERSION, allowed_base_urls=[])
