"""``%mlops params``, ``%mlops run other.ipynb alpha=0.1``, ``%mlops runs``.

``run`` blocks the cell while the run executes in its own process, showing a progress widget
(cells done / total, current cell), then the result with a link that opens the executed
notebook in the lab. ``--no-wait`` returns at once (follow the run in the MLOps panel).
"""

from __future__ import annotations

import argparse
import html
import os
from pathlib import Path
from typing import Any

from IPython.display import HTML, display

from ..errors import InvalidInput
from ..runs import TERMINAL_STATES
from ..runs.parameters import parse_assignments
from . import MagicContext, subcommand

STATUS_STYLE = {"succeeded": "success", "failed": "danger", "timed_out": "danger"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        raise InvalidInput(f"{message}\nusage: {self.format_usage().strip()}")


def _this_notebook() -> str:
    from ..tracking import notebook_path

    return notebook_path()


@subcommand("params", "params [NOTEBOOK]", "Show a notebook's parameters (default: this one).")
def params(context: MagicContext, args: list[str]) -> dict[str, Any]:
    path = args[0] if args else _this_notebook()
    info = context.mlops.runs.inspect(path)
    if not info["has_parameters_cell"]:
        display(HTML(f"<p><b>{html.escape(info['path'])}</b>: {html.escape(info['hint'])}</p>"))
        return info
    rows = "".join(
        f"<tr><td><code>{html.escape(p['name'])}</code></td><td>{html.escape(p['type'])}</td>"
        f"<td><code>{html.escape(p['default_source'])}</code></td>"
        f"<td>{html.escape(p['help'])}</td></tr>"
        for p in info["parameters"]
    )
    display(
        HTML(
            f"<p>Parameters of <b>{html.escape(info['path'])}</b> "
            f"(kernel {html.escape(str(info['kernel_name']))}):</p>"
            "<table><tr><th>name</th><th>type</th><th>default</th><th>help</th></tr>"
            f"{rows}</table>"
        )
    )
    return info


class _Progress:
    """An ipywidgets progress bar, or plain text where widgets are unavailable."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        try:
            import ipywidgets as widgets

            self.bar = widgets.IntProgress(value=0, min=0, max=1, description="queued")
            self.label = widgets.HTML(value=f"run <code>{run_id}</code> queued")
            display(widgets.HBox([self.bar, self.label]))
        except ImportError:
            self.bar = None

    def update(self, run: dict[str, Any]) -> None:
        if self.bar is None:
            return
        progress = run["progress"]
        self.bar.max = max(1, progress["cells_total"])
        self.bar.value = min(progress["cells_done"], self.bar.max)
        self.bar.description = run["status"]
        cell = progress["current_cell"]
        where = f", cell {cell}" if cell is not None and run["status"] == "running" else ""
        self.label.value = (
            f"run <code>{run['id']}</code>: {progress['cells_done']}/{progress['cells_total']} "
            f"cells{where}"
        )
        if run["status"] in TERMINAL_STATES:
            self.bar.bar_style = STATUS_STYLE.get(run["status"], "warning")


def _link(context: MagicContext, root_relative: str) -> str:
    """A link relative to the kernel's directory: JupyterLab opens it in a new tab."""
    target = Path(context.mlops.root_dir) / root_relative
    return os.path.relpath(target, os.getcwd())


def result_html(context: MagicContext, run: dict[str, Any]) -> str:
    parts = [
        f"<p>Run <code>{run['id']}</code> of <b>{html.escape(run['notebook_path'])}</b>: "
        f"<b>{run['status']}</b>"
    ]
    if run.get("duration_seconds") is not None:
        parts.append(f" in {run['duration_seconds']:.1f}s")
    parts.append("</p>")
    if run.get("error"):
        e = run["error"]
        parts.append(
            f"<p>Error in cell {e['cell_index']}: <code>{html.escape(str(e['ename']))}: "
            f"{html.escape(str(e['evalue']))}</code></p>"
        )
    elif run.get("status_reason") and run["status"] != "succeeded":
        parts.append(f"<p>{html.escape(run['status_reason'])}</p>")
    if run.get("metrics"):
        metrics = ", ".join(f"{html.escape(k)} = {v:.4g}" for k, v in run["metrics"].items())
        parts.append(f"<p>Metrics: {metrics}</p>")
    if run.get("output_notebook_path"):
        href = html.escape(_link(context, run["output_notebook_path"]))
        parts.append(f'<p>Output notebook: <a href="{href}">{html.escape(href)}</a></p>')
    return "".join(parts)


@subcommand(
    "run",
    "run NOTEBOOK [name=value ...] [--timeout S] [--kernel K] [--no-wait]",
    "Run a notebook headlessly with parameters; shows progress and a link to the output.",
)
def run(context: MagicContext, args: list[str]) -> dict[str, Any]:
    parser = _Parser(prog="%mlops run", add_help=False)
    parser.add_argument("notebook")
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--kernel", default=None)
    parser.add_argument("--tag", action="append", default=[])
    parser.add_argument("--no-wait", action="store_true")
    options = parser.parse_args(args)
    service = context.mlops.runs
    submitted = service.submit(
        options.notebook,
        parse_assignments(options.assignments),
        kernel_name=options.kernel,
        timeout=options.timeout,
        tags=options.tag,
        user=context.mlops.current_user(),
        trigger="magic",
        from_text=True,
    )
    if options.no_wait:
        display(
            HTML(f"<p>Run <code>{submitted['id']}</code> submitted ({submitted['status']}).</p>")
        )
        return submitted
    progress = _Progress(submitted["id"])
    try:
        final = service.wait(submitted["id"], on_progress=progress.update)
    except KeyboardInterrupt:
        print(f"stopped waiting; run {submitted['id']} continues in the background")
        return service.get(submitted["id"])
    display(HTML(result_html(context, final)))
    return final


@subcommand("runs", "runs [--limit N] [--notebook X] [--status S]", "Recent runs as a table.")
def runs(context: MagicContext, args: list[str]) -> dict[str, Any]:
    parser = _Parser(prog="%mlops runs", add_help=False)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--notebook", default=None)
    parser.add_argument("--status", default=None)
    options = parser.parse_args(args)
    page = context.mlops.runs.list(
        0, max(1, min(options.limit, 500)), notebook=options.notebook, status=options.status
    )
    rows = []
    for r in page["items"]:
        params = ", ".join(f"{k}={v}" for k, v in r["parameters"].items())
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in r["metrics"].items())
        duration = "" if r["duration_seconds"] is None else f"{r['duration_seconds']:.1f}s"
        output = ""
        if r["output_notebook_path"]:
            href = html.escape(_link(context, r["output_notebook_path"]))
            output = f'<a href="{href}">output</a>'
        rows.append(
            f"<tr><td><code>{r['id']}</code></td><td>{r['status']}</td>"
            f"<td>{html.escape(r['notebook_path'])}</td><td>{html.escape(params)}</td>"
            f"<td>{html.escape(metrics)}</td><td>{duration}</td>"
            f"<td>{(r['started_at'] or r['created_at'] or '')[:19].replace('T', ' ')}</td>"
            f"<td>{output}</td></tr>"
        )
    display(
        HTML(
            "<table><tr><th>id</th><th>status</th><th>notebook</th><th>parameters</th>"
            "<th>metrics</th><th>duration</th><th>started</th><th></th></tr>"
            + "".join(rows)
            + f"</table><p>{len(rows)} of {page['total']} runs</p>"
        )
    )
    return page
