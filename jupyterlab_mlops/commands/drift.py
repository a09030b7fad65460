"""Drift: ``drift report REF CUR``, ``drift monitors``, ``drift alerts``, ``drift ack ALERT_ID``,
and the notebook's ``drift`` widget (a deployment's recent predictions, or two DataFrames).

A report compares ``CUR`` (a CSV/Parquet file) with ``REF`` (a model reference such as
``churn@production`` — its registered profile — or another file). It prints as a table, as JSON
with ``--json``, or is written with ``--html FILE`` as the drift widget's static page.
"""

from __future__ import annotations

import argparse
import html
import math
import time
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from .arguments import is_table_file, parse_methods, read_table
from .context import Context
from .defaults import PAGE_SIZE, page
from .render import Column, lines, more_text, table_html, table_text, timestamp
from .spec import MAGIC, Command, Group, arg

GROUPS = [Group("drift", "Drift reports, monitors and their alerts.")]


# -- values ---------------------------------------------------------------------------------


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _num(value: Any) -> str:
    return f"{value:.4g}" if _finite(value) else ""


def _p_value(value: Any) -> str:
    if not _finite(value):
        return ""
    return f"{value:.2e}" if value < 1e-3 else f"{value:.4f}"


def _rate(value: Any) -> str:
    return f"{value:.1%}" if _finite(value) else ""


def _shift(value: Any) -> str:
    return f"{value:+.1f} %" if _finite(value) else ""


REPORT_COLUMNS = [
    Column("column", lambda c: c["column"]),
    Column("kind", lambda c: c.get("kind")),
    Column("method", lambda c: c.get("method")),
    Column("statistic", lambda c: _num(c.get("statistic"))),
    Column("p-value", lambda c: _p_value(c.get("p_value"))),
    Column("threshold", lambda c: _num(c.get("threshold"))),
    Column("drifted", lambda c: "yes" if c.get("drifted") else ""),
    Column("missing", lambda c: _rate(c.get("current_missing_rate"))),
    Column("mean shift", lambda c: _shift(c.get("mean_shift_pct"))),
    Column("note", lambda c: c.get("note") or ""),
]

MONITOR_COLUMNS = [
    Column("id", lambda m: m["id"]),
    Column("deployment", lambda m: m["deployment_name"] or m["deployment_id"]),
    Column(
        "model",
        lambda m: f"{m['model_ref']} → v{m['model_version']}" if m["model_ref"] else "",
    ),
    Column("status", lambda m: m["status"] if m["enabled"] else f"{m['status']} (disabled)"),
    Column("every", lambda m: f"{m['interval_seconds']:g}s"),
    Column("last check", lambda m: timestamp(m["last_checked_at"])),
    Column("drift share", lambda m: _rate(m["drift_share"])),
    Column("open alerts", lambda m: m["open_alerts"]),
]

ALERT_COLUMNS = [
    Column("id", lambda a: a["id"]),
    Column("time", lambda a: timestamp(a["created_at"])),
    Column("deployment", lambda a: a["deployment_name"] or a["deployment_id"] or ""),
    Column("severity", lambda a: a["severity"]),
    Column("rule", lambda a: a["rule"]),
    Column("message", lambda a: a["message"]),
    Column("state", lambda a: "acknowledged" if a["acknowledged"] else "open"),
    Column("retrain run", lambda a: a["retrain_run_id"] or ""),
]


# -- a report -------------------------------------------------------------------------------

STREAMED_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv")


def load_data(context: Context, value: str, what: str) -> Any:
    """A notebook variable (magics) or a CSV/Parquet file."""
    if value in context.namespace:
        return context.namespace[value]
    if is_table_file(value):
        return read_table(value, what)
    if context.interface == MAGIC:
        raise InvalidInput(f"no variable named {value!r} in the notebook")
    raise InvalidInput(f"{what} must be a .csv, .tsv, .parquet or .pq file, got {value!r}")


def streamed_file(context: Context, value: str) -> str | None:
    """A CUR Parquet or CSV file that exists, checked readable: it is read in bounded memory,
    a few columns at a time (drift/chunked.py), not loaded whole."""
    path = Path(value).expanduser()
    if value in context.namespace or path.suffix.lower() not in STREAMED_SUFFIXES:
        return None
    if not path.is_file():
        return None  # load_data says what is wrong
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            pq.read_metadata(path)
        except (OSError, ValueError) as err:
            raise InvalidInput(f"CUR: cannot read {value!r}: {err}") from None
    return str(path)


def report(context: Context, options: argparse.Namespace) -> Any:
    methods = parse_methods(options.methods)
    reference = read_table(options.reference, "REF") if is_table_file(options.reference) else None
    current = streamed_file(context, options.current) or load_data(context, options.current, "CUR")
    result = context.mlops.drift_report(
        reference if reference is not None else options.reference, current, methods=methods
    )
    if options.html:
        write_html(result, options.html)
    return result


def write_html(result: Any, path: str) -> None:
    """The drift widget's static view as a page of its own."""
    title = html.escape(result.title)
    page_ = (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{title}</title></head><body>{result._repr_html_()}</body></html>\n"
    )
    target = Path(path).expanduser()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page_, encoding="utf-8")
    except OSError as err:
        raise InvalidInput(f"--html: cannot write {path!r}: {err.strerror or err}") from None


def report_text(result: Any, options: argparse.Namespace, context: Context) -> str:
    s = result.summary
    if s["drift_share"] is None:
        return lines(
            f"{result.title}: insufficient data ({s['n_current_rows']} current rows, "
            f"{s.get('min_rows')} needed): no drift computed"
        )
    verdict = "; dataset drift" if s.get("dataset_drift") else ""
    columns = sorted(result.columns, key=lambda c: not c.get("drifted"))  # drifted first
    alerts = [f"  [{a.get('severity')}] {a.get('rule')}: {a.get('message')}" for a in result.alerts]
    return lines(
        f"{result.title}: {s['n_drifted']} of {s['n_columns']} columns drifted "
        f"(share {s['drift_share']:.0%}){verdict}",
        f"  reference: {options.reference} ({s['n_reference_rows']} rows); "
        f"current: {options.current} ({s['n_current_rows']} rows)",
        table_text(REPORT_COLUMNS, columns),
        "alerts:\n" + "\n".join(alerts) if alerts else None,
        f"HTML report written to {options.html}" if options.html else None,
    )


def notebook_report(context: Context, options: argparse.Namespace) -> Any:
    """``%mlops drift``: a deployment's recent predictions, or two DataFrames of the notebook."""
    if options.window is not None and options.window < 1:
        raise InvalidInput("--window must be a positive number of predictions")
    if options.reference or options.current:
        if not (options.reference and options.current):
            raise InvalidInput("give both --reference and --current")
        return context.mlops.drift_report(
            load_data(context, options.reference, "--reference"),
            load_data(context, options.current, "--current"),
            methods=parse_methods(options.methods),
        )
    if not options.target:
        example = context.spell("drift widget", "churn@production")
        raise InvalidInput(f"name a deployment or model ref, e.g. {example}")
    since = time.time() - options.since if options.since else None
    return context.mlops.monitors.deployment_report(
        options.target, last_n=options.window, since=since, methods=parse_methods(options.methods)
    )


# -- monitors and alerts --------------------------------------------------------------------


def monitors(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    offset, limit = page(options.offset, options.limit)
    return context.mlops.monitors.list(deployment_id=options.deployment, offset=offset, limit=limit)


def alerts(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    offset, limit = page(options.offset, options.limit)
    return context.mlops.monitors.alerts(
        monitor_id=options.monitor,
        acknowledged=False if options.open else None,
        offset=offset,
        limit=limit,
    )


def acknowledge(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.monitors.acknowledge(options.alert_id, user=context.user)


def _page_text(columns: list[Column], empty: str):
    def render(data: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
        if not data["items"]:
            return empty
        return lines(table_text(columns, data["items"]), more_text(data))

    return render


def _page_html(columns: list[Column], empty: str, css_class: str):
    def render(data: dict[str, Any], options: argparse.Namespace, context: Context) -> Any:
        if not data["items"]:
            return empty
        return table_html(columns, data["items"], css_class)

    return render


def ack_text(alert: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    return (
        f"alert {alert['id']} acknowledged: [{alert['severity']}] {alert['rule']}: "
        f"{alert['message']}"
    )


PAGING = (arg("--limit", type=int, default=PAGE_SIZE), arg("--offset", type=int, default=0))
NO_MONITORS = "no drift monitors"
NO_ALERTS = "no alerts"

COMMANDS = [
    Command(
        "drift report",
        "Drift of a data file against a model's reference profile or another file.",
        report,
        (
            arg(
                "reference", metavar="REF", help="churn@production, churn/3, or a CSV/Parquet file."
            ),
            arg("current", metavar="CUR", help="A CSV/Parquet file of current data."),
            arg(
                "--methods",
                default=None,
                help="One method for every column (psi), column=method,… or a JSON object; "
                "methods: ks, wasserstein, psi, chisquare, jensenshannon.",
            ),
            arg(
                "--html",
                default=None,
                metavar="FILE",
                group="output",
                help="Also write the report as an HTML page.",
            ),
        ),
        text=report_text,
        to_json=lambda result: result.to_dict(),
    ),
    Command(
        "drift monitors",
        "Drift monitors with their latest result and open alerts.",
        monitors,
        (arg("--deployment", default=None, help="Only monitors of this deployment id."), *PAGING),
        text=_page_text(MONITOR_COLUMNS, NO_MONITORS),
        notebook=_page_html(MONITOR_COLUMNS, NO_MONITORS, "jp-mlops-monitors"),
        magic="monitors",
        magic_help="Drift monitors with their latest result and open alerts.",
    ),
    Command(
        "drift alerts",
        "Drift alerts, newest first.",
        alerts,
        (
            arg("--open", action="store_true", help="Only alerts not acknowledged yet."),
            arg("--monitor", default=None, help="Only alerts of this monitor id."),
            *PAGING,
        ),
        text=_page_text(ALERT_COLUMNS, NO_ALERTS),
        notebook=_page_html(ALERT_COLUMNS, NO_ALERTS, "jp-mlops-alerts"),
        magic="alerts",
        magic_help="Drift alerts, newest first (--open: not acknowledged yet).",
    ),
    Command(
        "drift ack",
        "Acknowledge a drift alert.",
        acknowledge,
        (arg("alert_id", type=int, metavar="ALERT_ID"),),
        text=ack_text,
        magic="ack",
        magic_returns=True,
    ),
    Command(
        "drift widget",
        "Drift widget: a deployment's recent predictions (TARGET = churn@production, a deployment "
        "name or id) against its version's reference profile, or two DataFrames of the notebook.",
        notebook_report,
        (
            arg("target", nargs="?", help="model ref, deployment name or id"),
            arg("--window", type=int, default=None, help="last N predictions"),
            arg("--since", type=float, default=None, help="the last S seconds"),
            arg("--methods", default=None, help="one method for all columns, col=method,… or JSON"),
            arg("--reference", default=None, help="variable (or file) holding reference data"),
            arg("--current", default=None, help="variable (or file) holding current data"),
        ),
        notebook=lambda result, options, context: result,
        cli=False,
        magic="drift",
    ),
]
