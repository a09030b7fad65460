"""Runs: ``run NB.ipynb -p alpha 0.1`` (or ``alpha=0.1``), ``runs list|show|cancel|reproduce``,
and the notebook's ``params``.

``run`` waits with a progress bar over the notebook's cells and its exit status says whether the
run succeeded (1: failed, timed out or cancelled; 2: refused input). ``--no-wait`` returns the
queued run at once (it keeps running after the CLI exits, or while the notebook goes on).
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path
from typing import Any

from ..runs import TERMINAL_STATES
from ..runs.limits import format_bytes
from ..runs.parameters import parse_assignments
from . import progress
from .context import Context
from .defaults import LIVE_POLL_SECONDS, RUNS_PAGE_SIZE, page
from .render import (
    Column,
    Html,
    escape,
    lines,
    seconds,
    table_html,
    table_text,
    text_table,
    timestamp,
)
from .spec import CLI, EXIT_FAILED, EXIT_OK, Command, Group, arg

GROUPS = [Group("runs", "List, show, cancel and reproduce runs.")]


# -- waiting --------------------------------------------------------------------------------


def wait_for_run(context: Context, run: dict[str, Any]) -> dict[str, Any]:
    """Follow ``run`` to its end with a progress bar; Ctrl-C stops waiting, not the run."""
    with progress.run_cells(run["id"]) as on_progress:
        try:
            return context.mlops.runs.wait(run["id"], on_progress=on_progress)
        except KeyboardInterrupt:
            context.warn(
                f"\nstopped waiting; run {run['id']} continues "
                f"(cancel it with: {context.spell('runs cancel', run['id'])})"
            )
            raise


# -- text -----------------------------------------------------------------------------------


def summary_text(run: dict[str, Any]) -> str:
    reason = f" ({run['status_reason']})" if run.get("status_reason") else ""
    parts = [f"run {run['id']}: {run['status']}{reason}"]
    if run.get("error"):
        error = run["error"]
        parts.append(f"  error in cell {error['cell_index']}: {error['ename']}: {error['evalue']}")
    if run.get("metrics"):
        parts.append("  metrics: " + ", ".join(f"{k}={v:g}" for k, v in run["metrics"].items()))
    if run.get("duration_seconds") is not None:
        parts.append(f"  duration: {run['duration_seconds']:.1f}s")
    if run.get("output_notebook_path"):
        parts.append(f"  output notebook: {run['output_notebook_path']}")
    if run.get("peak_memory_bytes") or run.get("cpu_seconds") is not None:
        parts.append(f"  usage: {usage_text(run)}")
    return "\n".join(parts)


def usage_text(run: dict[str, Any]) -> str:
    """``peak 312 MiB of 2 GiB, 4.1 CPU s on at most 2 CPUs``: what the run cost, and its limits."""
    text = f"peak {format_bytes(run.get('peak_memory_bytes')) or '?'}"
    if run.get("memory_limit_bytes"):
        text += f" of {format_bytes(run['memory_limit_bytes'])}"
    if run.get("cpu_seconds") is not None:
        text += f", {run['cpu_seconds']:.1f} CPU s"
    if run.get("cpus"):
        text += f" on at most {run['cpus']:g} CPUs"
    return text


def comparison_text(comparison: dict[str, Any]) -> str:
    if "outputs" not in comparison:
        return f"  comparison: {comparison.get('error', comparison)}"
    outputs = comparison["outputs"]
    verdict = "match" if outputs["match"] else "differ"
    parts = [f"  outputs {verdict}: {outputs['matched']}/{outputs['total']} code cells identical"]
    for cell in outputs["cells"]:
        if not cell["match"]:
            parts.append(f"    code cell {cell['code_cell']} differs:")
            parts += [f"      {line}" for line in (cell.get("diff") or "").splitlines()[:12]]
    env = comparison["environment"]
    if env["same"]:
        parts.append("  environment: unchanged")
        return "\n".join(parts)
    for kind in ("added", "removed", "changed"):
        if env["packages"][kind]:
            parts.append(f"  packages {kind}: {', '.join(env['packages'][kind])}")
    for key, change in env["git"].items():
        parts.append(f"  git {key}: {change['original']} → {change['reproduced']}")
    for kind in ("added", "removed", "changed"):
        if env["inputs"][kind]:
            parts.append(f"  inputs {kind}: {', '.join(env['inputs'][kind])}")
    return "\n".join(parts)


def detail_text(run: dict[str, Any]) -> str:
    parts = [
        summary_text(run),
        f"  notebook: {run['notebook_path']}  kernel: {run['kernel_name']}",
        f"  parameters: {run['parameters']}",
    ]
    prov = run.get("provenance") or {}
    if prov:
        git = prov.get("git") or {}
        parts.append(f"  notebook sha256: {prov.get('notebook_sha256')}")
        python = prov.get("python", {}).get("version")
        parts.append(f"  python {python} on {prov.get('platform', {}).get('hostname')}")
        if git:
            dirty = ", dirty" if git.get("dirty") else ""
            parts.append(f"  git: {git.get('commit')} ({git.get('branch')}{dirty})")
        parts += [f"  input {path}: {sha}" for path, sha in (prov.get("inputs") or {}).items()]
    if run.get("comparison"):
        parts.append(comparison_text(run["comparison"]))
    return "\n".join(parts)


# -- live output ----------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def output_text(output: dict[str, Any]) -> str:
    """One nbformat output as terminal text (images are named, not drawn)."""
    kind = output.get("output_type")
    if kind == "stream":
        return _joined(output.get("text", ""))
    if kind == "error":
        trace = "\n".join(output.get("traceback") or [])
        return ANSI.sub("", trace or f"{output.get('ename')}: {output.get('evalue')}") + "\n"
    data = output.get("data") or {}
    pictures = [kind for kind in data if kind.startswith("image/")]
    if pictures or "text/plain" not in data:
        return f"[{', '.join(pictures or sorted(data)) or kind}]\n"
    return _joined(data["text/plain"]) + "\n"


def _joined(text: Any) -> str:
    return "".join(text) if isinstance(text, list) else str(text)


class CellPrinter:
    """Prints live cells as they grow: each cell's header once, then only its new output."""

    def __init__(self, say: Any):
        self.say = say
        self.printed: dict[int, str] = {}

    def show(self, cells: list[dict[str, Any]]) -> None:
        for cell in cells:
            if cell["cell_type"] != "code":
                continue
            text = "".join(output_text(o) for o in cell["outputs"])
            before = self.printed.get(cell["index"])
            if before is None:
                count = cell["execution_count"]
                label = "parameters" if cell["injected"] else f"[{count or ' '}]"
                self.say(f"── cell {cell['index']} {label} " + "─" * 20)
                before = ""
            new = text[len(before) :] if text.startswith(before) else text
            if new:
                self.say(new.rstrip("\n"))
            self.printed[cell["index"]] = text


def run_logs(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    """Print the cells executed so far; with ``--follow``, keep printing until the run ends."""
    runs = context.mlops.runs
    printer = CellPrinter(context.say)
    seq = 0
    while True:
        live = runs.live(options.run_id, seq)
        printer.show(live["cells"])
        seq = live["seq"]
        if not options.follow or live["status"] in TERMINAL_STATES:
            break
        time.sleep(LIVE_POLL_SECONDS)
    run = runs.get(options.run_id)
    if not printer.printed and run["status"] in TERMINAL_STATES:
        context.warn(f"run {run['id']} recorded no live output")
    return run


# -- HTML -----------------------------------------------------------------------------------


def notebook_link(context: Context, root_relative: str) -> str:
    """A link relative to the kernel's directory: JupyterLab opens it in a new tab."""
    target = Path(context.mlops.root_dir) / root_relative
    return os.path.relpath(target, os.getcwd())


def result_html(run: dict[str, Any], context: Context) -> Html:
    parts = [
        f"<p>Run <code>{escape(run['id'])}</code> of <b>{escape(run['notebook_path'])}</b>: "
        f"<b>{escape(run['status'])}</b>"
    ]
    if run.get("duration_seconds") is not None:
        parts.append(f" in {run['duration_seconds']:.1f}s")
    parts.append("</p>")
    if run.get("error"):
        e = run["error"]
        parts.append(
            f"<p>Error in cell {escape(e['cell_index'])}: <code>{escape(e['ename'])}: "
            f"{escape(e['evalue'])}</code></p>"
        )
    elif run.get("status_reason") and run["status"] != "succeeded":
        parts.append(f"<p>{escape(run['status_reason'])}</p>")
    if run.get("metrics"):
        metrics = ", ".join(f"{escape(k)} = {v:.4g}" for k, v in run["metrics"].items())
        parts.append(f"<p>Metrics: {metrics}</p>")
    if run.get("output_notebook_path"):
        href = escape(notebook_link(context, run["output_notebook_path"]))
        parts.append(f'<p>Output notebook: <a href="{href}">{href}</a></p>')
    return Html("".join(parts))


def run_columns(context: Context) -> list[Column]:
    def output(run: dict[str, Any]) -> str:
        if not run["output_notebook_path"]:
            return ""
        href = escape(notebook_link(context, run["output_notebook_path"]))
        return f'<a href="{href}">output</a>'

    return [
        Column("id", lambda r: r["id"], lambda r: f"<code>{escape(r['id'])}</code>"),
        Column("status", lambda r: r["status"]),
        Column("notebook", lambda r: r["notebook_path"]),
        Column("parameters", lambda r: ", ".join(f"{k}={v}" for k, v in r["parameters"].items())),
        Column("metrics", lambda r: ", ".join(f"{k}={v:.4g}" for k, v in r["metrics"].items())),
        Column("duration", lambda r: seconds(r["duration_seconds"])),
        Column("peak memory", lambda r: format_bytes(r.get("peak_memory_bytes"))),
        Column("started", lambda r: timestamp(r["started_at"] or r["created_at"])),
        Column("", lambda r: r["output_notebook_path"], output, in_text=False),
    ]


# -- commands -------------------------------------------------------------------------------


def run_notebook(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    """Submit; a CLI that waits executes the run itself when it may start at once, with its
    kernel started while the run is validated and recorded."""
    here = context.interface == CLI and not options.no_wait
    kernel = None
    settings = context.mlops.run_settings()  # no store yet: the kernel starts first
    if here and not (options.memory or options.cpus or settings.default_limits.any):
        kernel = start_kernel(settings, options)
    runs = context.mlops.runs
    assignments = [tuple(p) for p in options.parameter] + list(options.assignments)
    timeout = options.timeout if options.timeout is not None else context.defaults.run_timeout
    try:
        run = runs.submit(
            options.notebook,
            parse_assignments(assignments),
            kernel_name=options.kernel,
            timeout=timeout,
            tags=options.tag,
            input_files=options.input,
            user=context.user,
            trigger=context.trigger,
            from_text=True,
            memory=options.memory,
            cpus=options.cpus,
            launch=not here,
            run_id=kernel.run_id if kernel is not None else None,
        )
    except BaseException:
        if kernel is not None:
            kernel.shutdown()
        raise
    if options.no_wait:
        return run
    if here:
        final = execute_here(context, run, kernel)
        if final is not None:
            return final
    return wait_for_run(context, run)


def start_kernel(settings: Any, options: argparse.Namespace) -> Any:
    """The run's kernel, started early; None when that fails (the run starts its own)."""
    from ..runs.inprocess import start_kernel as start

    try:
        return start(settings, options.notebook, options.kernel)
    except Exception:  # a bad path or kernel: the submission says what is wrong
        return None


def execute_here(context: Context, run: dict[str, Any], kernel: Any) -> dict[str, Any] | None:
    """Execute the run in this process when a slot is free (no worker start-up to pay)."""
    from ..runs.inprocess import execute_here as execute

    with progress.run_cells(run["id"]) as on_progress:
        return execute(context.mlops.runs, run["id"], on_progress, kernel)


def run_text(run: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    return run["id"] if options.no_wait else summary_text(run)


def run_html(run: dict[str, Any], options: argparse.Namespace, context: Context) -> Html:
    if options.no_wait:
        return Html(
            f"<p>Run <code>{escape(run['id'])}</code> submitted ({escape(run['status'])}).</p>"
        )
    return result_html(run, context)


def run_exit_code(run: dict[str, Any], options: argparse.Namespace) -> int:
    return EXIT_OK if options.no_wait or run["status"] == "succeeded" else EXIT_FAILED


def list_runs(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    offset, limit = page(options.offset, options.limit, RUNS_PAGE_SIZE)
    return context.mlops.runs.list(offset, limit, notebook=options.notebook, status=options.status)


def list_text(data: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    table = table_text(run_columns(context), data["items"])
    return lines(table, f"{len(data['items'])} of {data['total']} runs")


def list_html(data: dict[str, Any], options: argparse.Namespace, context: Context) -> Html:
    table = table_html(run_columns(context), data["items"], "jp-mlops-runs")
    return Html(f"{table}<p>{len(data['items'])} of {data['total']} runs</p>")


def show_run(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.runs.get(options.run_id)


def cancel_run(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.runs.cancel(options.run_id, user=context.user)


def reproduce_run(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    run = context.mlops.runs.reproduce(options.run_id, user=context.user)
    return run if options.no_wait else wait_for_run(context, run)


def reproduce_text(run: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    if options.no_wait:
        return run["id"]
    return lines(summary_text(run), run.get("comparison") and comparison_text(run["comparison"]))


def reproduce_exit_code(run: dict[str, Any], options: argparse.Namespace) -> int:
    if options.no_wait:
        return EXIT_OK
    comparison = run.get("comparison") or {}
    ok = run["status"] == "succeeded" and comparison.get("outputs_match")
    return EXIT_OK if ok else EXIT_FAILED


def this_notebook() -> str:
    """The notebook of this kernel."""
    from ..facade.tracking import notebook_path

    return notebook_path()


def notebook_parameters(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.runs.inspect(options.notebook or this_notebook())


def parameters_html(info: dict[str, Any], options: argparse.Namespace, context: Context) -> Html:
    if not info["has_parameters_cell"]:
        return Html(f"<p><b>{escape(info['path'])}</b>: {escape(info['hint'])}</p>")
    rows = "".join(
        f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['type'])}</td>"
        f"<td><code>{escape(p['default_source'])}</code></td><td>{escape(p['help'])}</td></tr>"
        for p in info["parameters"]
    )
    return Html(
        f"<p>Parameters of <b>{escape(info['path'])}</b> "
        f"(kernel {escape(info['kernel_name'])}):</p>"
        "<table><tr><th>name</th><th>type</th><th>default</th><th>help</th></tr>"
        f"{rows}</table>"
    )


def parameters_text(info: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    if not info["has_parameters_cell"]:
        return f"{info['path']}: {info['hint']}"
    rows = [(p["name"], p["type"], p["default_source"], p["help"]) for p in info["parameters"]]
    return lines(
        f"Parameters of {info['path']} (kernel {info['kernel_name']}):",
        text_table(["name", "type", "default", "help"], rows),
    )


RUN_ARGUMENTS = (
    arg("notebook", help="Notebook path, relative to the root."),
    arg(
        "assignments",
        nargs="*",
        metavar="NAME=VALUE",
        help="Parameter values, converted to the type of the notebook's default.",
    ),
    arg(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="A parameter value (like NAME=VALUE); repeatable.",
    ),
    arg("--kernel", default=None, help="Kernel name (default: the notebook's)."),
    arg(
        "--timeout",
        type=float,
        default=None,
        help="Time limit in seconds (default: c.MLOps.default_timeout).",
    ),
    arg(
        "--memory",
        default=None,
        help="Memory limit of the kernel, e.g. 2GiB (default: c.MLOps.run_memory_limit).",
    ),
    arg(
        "--cpus",
        type=float,
        default=None,
        help="CPUs the kernel may use (default: c.MLOps.run_cpus).",
    ),
    arg("--tag", action="append", default=[], help="Tag the run; repeatable."),
    arg(
        "--input",
        action="append",
        default=[],
        metavar="FILE",
        help="A data file the run reads (its sha256 is recorded); repeatable.",
    ),
    arg("--no-wait", action="store_true", help="Submit and return at once."),
)

LIST_ARGUMENTS = (
    arg("--notebook", default=None, help="Only runs of notebooks matching this."),
    arg("--status", default=None, help="Only runs in these states (comma-separated)."),
    arg("--limit", type=int, default=RUNS_PAGE_SIZE),
    arg("--offset", type=int, default=0),
)

COMMANDS = [
    Command(
        "run",
        "Run a notebook headlessly with parameters (papermill), reproducibly.",
        run_notebook,
        RUN_ARGUMENTS,
        text=run_text,
        notebook=run_html,
        exit_code=run_exit_code,
        magic="run",
        magic_help="Run a notebook headlessly with parameters; shows progress and a link to "
        "the output.",
        magic_returns=True,
    ),
    Command(
        "runs list",
        "Recent runs, newest first.",
        list_runs,
        LIST_ARGUMENTS,
        text=list_text,
        notebook=list_html,
        magic="runs",
        magic_help="Recent runs as a table.",
        magic_returns=True,
    ),
    Command(
        "runs show",
        "One run: parameters, metrics, provenance, error.",
        show_run,
        (arg("run_id"),),
        text=lambda run, options, context: detail_text(run),
    ),
    Command(
        "runs logs",
        "Print the cells a run executed so far with their outputs; --follow until it ends.",
        run_logs,
        (
            arg("run_id"),
            arg("-f", "--follow", action="store_true", help="Keep printing until the run ends."),
        ),
        text=lambda run, options, context: f"run {run['id']}: {run['status']}",
        exit_code=lambda run, options: EXIT_OK if run["status"] != "failed" else EXIT_FAILED,
    ),
    Command(
        "runs cancel",
        "Cancel a queued or running run (kills its kernel).",
        cancel_run,
        (arg("run_id"),),
        text=lambda run, options, context: f"run {run['id']}: {run['status']}",
        magic="cancel",
        magic_returns=True,
    ),
    Command(
        "runs reproduce",
        "Re-run a run's stored notebook with its parameters and compare.",
        reproduce_run,
        (arg("run_id"), arg("--no-wait", action="store_true")),
        text=reproduce_text,
        exit_code=reproduce_exit_code,
    ),
    Command(
        "params",
        "Show a notebook's parameters (default: this one).",
        notebook_parameters,
        (arg("notebook", nargs="?", default=None),),
        text=parameters_text,
        notebook=parameters_html,
        cli=False,
        magic="params",
        magic_returns=True,
    ),
]
