"""The drift view in a notebook: an ipywidgets widget, and the same content as static HTML.

``DriftWidget`` keeps the computed values in its synced model state (``summary``, ``columns``
with their histograms, ``alerts``, ``history``) and renders them with standard widgets: a
summary with the alerts, a per-feature table sortable from its controls, the reference-vs-current
histogram of the selected feature, and the drift share over time for deployments. The text is
coloured with JupyterLab's CSS variables; the charts are the Vega-Lite specs of ``charts.py``
(the panel draws the same ones), shown as Vega-Lite outputs that JupyterLab's renderer draws in
the light or the dark theme. ``static_html`` renders the summary, alerts, table and charts
without a kernel (nbconvert, GitHub, e-mail), the charts drawn to SVG on the server.
"""

from __future__ import annotations

import base64
import html
import math
from typing import Any

import ipywidgets as widgets
from traitlets import Bool, Dict, List, Unicode, observe

from . import charts

SORT_KEYS = {
    "drifted": "drifted first",
    "column": "column",
    "statistic": "statistic",
    "p_value": "p-value",
    "mean_shift_pct": "mean shift",
    "current_missing_rate": "missing rate",
}

_FONT = (
    "font-family: var(--jp-ui-font-family, sans-serif); font-size: var(--jp-ui-font-size1, 13px);"
)
_TEXT = "color: var(--jp-ui-font-color1, #212121);"
_MUTED = "color: var(--jp-ui-font-color2, #616161);"
_CURRENT = "var(--jp-warn-color1, #f57c00)"
_BAD = "var(--jp-error-color1, #d32f2f)"
_GOOD = "var(--jp-success-color1, #388e3c)"


# -- formatting ---------------------------------------------------------------------------


def _fmt(value: Any, kind: str = "num") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "pct":
        return f"{value:+.1f} %"
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "p":
        return f"{value:.2e}" if value < 1e-3 else f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}"


def _esc(text: Any) -> str:
    return html.escape(str(text))


def _sort_value(row: dict, key: str) -> tuple:
    value = row.get(key)
    if key == "column":
        return (0, str(value))
    if key == "drifted":
        return (0 if value else 1, str(row.get("column")))
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return (1, 0.0)  # undefined values last
    return (0, abs(value) if key == "mean_shift_pct" else value)


def sorted_columns(columns: list[dict], key: str, descending: bool) -> list[dict]:
    if key not in SORT_KEYS:
        key = "drifted"
    defined = [c for c in columns if _sort_value(c, key)[0] == 0]
    undefined = [c for c in columns if _sort_value(c, key)[0] == 1]
    reverse = descending if key != "drifted" else False
    return sorted(defined, key=lambda c: _sort_value(c, key), reverse=reverse) + undefined


# -- HTML pieces ----------------------------------------------------------------------------


def summary_html(data: dict) -> str:
    s = data.get("summary") or {}
    title = _esc(data.get("title") or "Drift report")
    n_drifted, n_columns = s.get("n_drifted", 0), s.get("n_columns", 0)
    share = s.get("drift_share")
    colour = _BAD if s.get("dataset_drift") else (_CURRENT if n_drifted else _GOOD)
    drifted = ", ".join(_esc(c) for c in s.get("drifted_columns") or []) or "none"
    cards = [
        ("drifted features", f"{n_drifted} / {n_columns}"),
        ("drift share", "insufficient data" if share is None else f"{share:.0%}"),
        ("reference rows", _fmt(s.get("n_reference_rows"))),
        ("current rows", _fmt(s.get("n_current_rows"))),
        ("alerts", str(len(data.get("alerts") or []))),
    ]
    perf = data.get("performance") or {}
    for metric, entry in (perf.get("metrics") or {}).items():
        cards.append(
            (
                f"{metric} (now / registered)",
                f"{_fmt(entry.get('current'))} / {_fmt(entry.get('registered'))}",
            )
        )
    estimated = perf.get("estimated") or {}
    for metric, entry in (estimated.get("metrics") or {}).items():
        if entry.get("estimated") is None:
            continue
        realised = entry.get("realised")
        cards.append(
            (
                f"{metric} estimated without labels / reference"
                + (" / realised" if realised is not None else ""),
                f"{_fmt(entry.get('estimated'))} / {_fmt(entry.get('reference'))}"
                + (f" / {_fmt(realised)}" if realised is not None else ""),
            )
        )
    card_html = "".join(
        f"<div style='padding:4px 12px;border-left:3px solid {colour};'>"
        f"<div style='{_MUTED}'>{_esc(label)}</div>"
        f"<div style='font-size:var(--jp-ui-font-size3, 18px);{_TEXT}'>{value}</div></div>"
        for label, value in cards
    )
    alerts = "".join(
        f"<li style='color:{_BAD if a.get('severity') == 'critical' else _CURRENT};'>"
        f"<b>{_esc(a.get('rule'))}</b>: {_esc(a.get('message'))}</li>"
        for a in data.get("alerts") or []
    )
    source = s.get("reference_source")
    model = s.get("model")
    origin = f"reference: {_esc(source)}" if source else ""
    if model:
        origin += f" ({_esc(model.get('name'))} v{_esc(model.get('version'))})"
    return (
        f"<div class='jp-mlops-drift-summary' style='{_FONT}{_TEXT}'>"
        f"<div style='font-size:var(--jp-ui-font-size2, 15px);font-weight:600;'>{title}</div>"
        f"<div style='{_MUTED}'>{origin}</div>"
        f"<div style='display:flex;flex-wrap:wrap;gap:8px;margin:6px 0;'>{card_html}</div>"
        f"<div>drifted: {drifted}</div>"
        + (f"<ul style='margin:4px 0;'>{alerts}</ul>" if alerts else "")
        + "</div>"
    )


TABLE_HEADERS = [
    ("column", "feature"),
    ("kind", "kind"),
    ("method", "method"),
    ("statistic", "statistic"),
    ("p_value", "p-value"),
    ("threshold", "threshold"),
    ("drifted", "drifted"),
    ("current_missing_rate", "missing"),
    ("mean_shift_pct", "mean shift"),
    ("note", "note"),
]


def table_html(columns: list[dict]) -> str:
    cell = (
        "padding:2px 8px;border-bottom:1px solid var(--jp-border-color2, #e0e0e0);text-align:left;"
        "white-space:nowrap;"
    )
    head = "".join(f"<th style='{cell}{_MUTED}'>{label}</th>" for _, label in TABLE_HEADERS)
    rows = []
    for row in columns:
        colour = f"color:{_BAD};font-weight:600;" if row.get("drifted") else ""
        values = [
            _esc(row.get("column")),
            _esc(row.get("kind")),
            _esc(row.get("method")),
            _fmt(row.get("statistic")),
            _fmt(row.get("p_value"), "p"),
            _fmt(row.get("threshold")),
            _fmt(bool(row.get("drifted"))),
            f"{_fmt(row.get('current_missing_rate'), 'rate')}",
            _fmt(row.get("mean_shift_pct"), "pct"),
            _esc(row.get("note") or ""),
        ]
        cells = "".join(
            f"<td style='{cell}{colour if i < 7 else ''}'>{v}</td>" for i, v in enumerate(values)
        )
        rows.append(f"<tr data-column='{_esc(row.get('column'))}'>{cells}</tr>")
    return (
        f"<table class='jp-mlops-drift-table' style='border-collapse:collapse;{_FONT}{_TEXT}'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def svg_image(svg: str, alt: str = "chart") -> str:
    """An SVG as ``<img src="data:…">``: survives HTML sanitizers (untrusted notebooks, e-mail)
    that strip inline SVG."""
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"<img alt='{_esc(alt)}' src='data:image/svg+xml;base64,{encoded}'/>"


def chart_image(spec: dict | None) -> str:
    """A chart of ``charts.py`` drawn on the server, as an image ('' without one)."""
    if spec is None:
        return ""
    return svg_image(charts.to_svg(spec), alt=spec.get("description", "chart"))


def static_html(data: dict) -> str:
    """Everything but the interactive controls, for renderers without a kernel."""
    columns = sorted_columns(data.get("columns") or [], "drifted", False)
    drifted = [c for c in columns if c.get("drifted")][:3]
    history = data.get("history") or []
    histograms = "".join(chart_image(charts.histogram_spec(c)) for c in drifted)
    return (
        "<div class='jp-mlops-drift-report'>"
        + summary_html(data)
        + "<div style='overflow-x:auto;'>"
        + table_html(columns)
        + "</div>"
        + (chart_image(charts.history_spec(history)) if charts.history_points(history) else "")
        + histograms
        + "</div>"
    )


# -- the widget -------------------------------------------------------------------------------


class DriftWidget(widgets.VBox):
    """Interactive drift view; its synced state holds the computed report."""

    title = Unicode("Drift report").tag(sync=True)
    summary = Dict().tag(sync=True)
    columns = List().tag(sync=True)
    alerts = List().tag(sync=True)
    history = List().tag(sync=True)
    performance = Dict().tag(sync=True)
    sort_by = Unicode("drifted").tag(sync=True)
    sort_descending = Bool(True).tag(sync=True)
    selected_column = Unicode("", allow_none=True).tag(sync=True)

    def __init__(self, data: dict, **kwargs: Any):
        super().__init__(**kwargs)
        self.add_class("jp-mlops-drift-widget")
        self._summary_view = widgets.HTML()
        self._table_view = widgets.HTML()
        self._histogram_view = widgets.Output()
        self._history_view = widgets.Output()
        self._sort = widgets.Dropdown(
            options=[(label, key) for key, label in SORT_KEYS.items()],
            value="drifted",
            description="sort by",
            layout=widgets.Layout(width="220px"),
        )
        self._order = widgets.ToggleButton(
            value=True,
            description="descending",
            icon="sort-amount-desc",
            layout=widgets.Layout(width="120px"),
        )
        self._feature = widgets.Dropdown(
            description="feature", layout=widgets.Layout(width="280px")
        )
        widgets.link((self._sort, "value"), (self, "sort_by"))
        widgets.link((self._order, "value"), (self, "sort_descending"))
        widgets.link((self._feature, "value"), (self, "selected_column"))
        self.set_data(data)
        self.children = [
            self._summary_view,
            widgets.HBox([self._sort, self._order]),
            self._table_view,
            self._feature,
            self._histogram_view,
            self._history_view,
        ]

    @classmethod
    def from_report(cls, report: Any) -> DriftWidget:
        return cls(report.to_dict())

    def set_data(self, data: dict) -> None:
        """Replace the computed values (e.g. after a new monitor check)."""
        with self.hold_trait_notifications():
            self.title = data.get("title") or "Drift report"
            self.summary = data.get("summary") or {}
            self.columns = data.get("columns") or []
            self.alerts = data.get("alerts") or []
            self.history = data.get("history") or []
            self.performance = data.get("performance") or {}
        names = [c["column"] for c in sorted_columns(self.columns, "drifted", False)]
        self._feature.options = names
        self._feature.value = names[0] if names else None
        self._render()

    def _data(self) -> dict:
        return {
            "title": self.title,
            "summary": self.summary,
            "alerts": self.alerts,
            "performance": self.performance,
        }

    @observe("sort_by", "sort_descending", "selected_column")
    def _on_view_change(self, _change: Any = None) -> None:
        if hasattr(self, "_table_view"):
            self._render()

    def _render(self) -> None:
        self._summary_view.value = summary_html(self._data())
        ordered = sorted_columns(self.columns, self.sort_by, self.sort_descending)
        self._table_view.value = f"<div style='overflow-x:auto;'>{table_html(ordered)}</div>"
        selected = next((c for c in self.columns if c["column"] == self.selected_column), None)
        _show(self._histogram_view, charts.histogram_spec(selected) if selected else None)
        history = charts.history_points(self.history)
        _show(self._history_view, charts.history_spec(self.history) if history else None)


def _show(view: widgets.Output, spec: dict | None) -> None:
    """The chart as the view's one output (set directly: no kernel needed to capture it)."""
    if spec is None:
        view.outputs = ()
        return
    bundle = charts.mime_bundle(spec)
    view.outputs = ({"output_type": "display_data", **bundle},)
