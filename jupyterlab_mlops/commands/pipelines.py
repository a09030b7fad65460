"""Pipelines: ``pipeline run FILE [-p k v | k=v …]``, ``pipeline runs list|show|repair|cancel``,
and the notebook's ``pipeline run`` / ``pipeline runs``.

``pipeline run`` starts a ``*.pipeline.yaml`` and waits with a progress bar over its steps; its
exit status says how it ended (0 succeeded, 1 failed or cancelled, 2 refused input). The waiting
process advances the pipeline itself (submits the steps whose dependencies are done, collects
their outputs), so it completes with no Jupyter server and no ``jupyter mlops scheduler``
running; where one runs, the claim in the store keeps the two from submitting a step twice.
``--no-wait`` returns at once: the pipeline then moves on wherever the scheduler runs. ``show``
is the step table (name, status, attempt/tries, reused, run id, error); ``repair`` re-runs the
failed steps and their downstream, reusing what succeeded.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from ..paths import relative_to_root, resolve_in_root
from ..runs.parameters import KNOWN_TYPES, parse_assignments, validate_parameters
from . import progress
from .context import Context
from .defaults import PAGE_SIZE, page
from .render import (
    Column,
    Html,
    escape,
    lines,
    more_text,
    pairs_html,
    pairs_text,
    table_html,
    table_text,
    timestamp,
)
from .spec import EXIT_FAILED, EXIT_OK, Command, Group, arg

GROUPS = [
    Group("pipeline", "Run notebook pipelines (*.pipeline.yaml) and follow their runs."),
    Group("pipeline runs", "Pipeline runs: list, show, repair, cancel."),
]

PIPELINE_DONE = ("succeeded", "failed", "cancelled")
WAIT_POLL_SECONDS = 0.5


# -- input ----------------------------------------------------------------------------------


def _type_name(default: Any) -> str:
    name = type(default).__name__
    return name if name in KNOWN_TYPES else "any"


def pipeline_parameters(context: Context, path: str, text: dict[str, str]) -> dict[str, Any]:
    """Text values converted to the types of the pipeline's declared defaults. Names the
    pipeline does not declare are passed on as they are, for the service to refuse."""
    _shown, spec = context.mlops.pipelines.load(path)
    declared = [{"name": k, "type": _type_name(v)} for k, v in spec.parameters.items()]
    known = {k: v for k, v in text.items() if k in spec.parameters}
    typed = validate_parameters(declared, known, from_text=True)
    return {k: typed.get(k, v) for k, v in text.items()}


def root_relative(context: Context, path: str) -> str:
    """The form the store keeps a pipeline's path in (it may no longer exist)."""
    root = context.mlops.root_dir
    return relative_to_root(root, resolve_in_root(root, path, must_exist=False))


# -- waiting --------------------------------------------------------------------------------


def wait_for_pipeline(context: Context, pipeline_run: dict[str, Any]) -> dict[str, Any]:
    """Advance ``pipeline_run`` until it ends, with a bar over its steps; Ctrl-C stops waiting,
    not the pipeline."""
    mlops = context.mlops
    with progress.pipeline_steps(pipeline_run) as on_progress:
        try:
            while True:
                on_progress(pipeline_run)
                if pipeline_run["status"] in PIPELINE_DONE:
                    return pipeline_run
                time.sleep(WAIT_POLL_SECONDS)
                mlops.runs.tick()  # start queued step runs, enforce their timeouts
                pipeline_run = mlops.pipelines.advance(pipeline_run["id"])
        except KeyboardInterrupt:
            context.warn(
                f"\nstopped waiting; pipeline run {pipeline_run['id']} continues where a server "
                "or `jupyter mlops scheduler` runs (cancel it with: "
                f"{context.spell('pipeline runs cancel', pipeline_run['id'])})"
            )
            raise


# -- presentation -----------------------------------------------------------------------------


def _tries(step: dict[str, Any]) -> str:
    return f"{step['attempt']}/{step['tries']}"


def _error(step: dict[str, Any]) -> str:
    text = " ".join((step["error"] or "").split())
    return text if len(text) <= 120 else text[:119] + "…"


STEP_COLUMNS = [
    Column("step", lambda s: s["name"]),
    Column("status", lambda s: s["status"]),
    Column("attempt/tries", _tries),
    Column("reused", lambda s: "reused" if s["reused"] else ""),
    Column(
        "run",
        lambda s: s["run_id"] or "",
        lambda s: f"<code>{escape(s['run_id'])}</code>" if s["run_id"] else "",
    ),
    Column("error", _error),
]


def _steps_done(pipeline_run: dict[str, Any]) -> str:
    steps = pipeline_run["steps"]
    succeeded = sum(1 for s in steps if s["status"] == "succeeded")
    return f"{succeeded}/{len(steps)}"


RUN_COLUMNS = [
    Column("id", lambda r: r["id"], lambda r: f"<code>{escape(r['id'])}</code>"),
    Column("pipeline", lambda r: r["pipeline_path"]),
    Column("status", lambda r: r["status"]),
    Column("attempt", lambda r: r["attempt"]),
    Column("steps ok", _steps_done),
    Column("trigger", lambda r: r["trigger"]),
    Column("started", lambda r: timestamp(r["created_at"])),
    Column("finished", lambda r: timestamp(r["finished_at"])),
]


def run_pairs(pipeline_run: dict[str, Any]) -> list[tuple[str, Any]]:
    parameters = ", ".join(f"{k}={v}" for k, v in pipeline_run["parameters"].items())
    return [
        ("pipeline", f"{pipeline_run['name']} ({pipeline_run['pipeline_path']})"),
        ("status", pipeline_run["status"]),
        ("attempt", pipeline_run["attempt"]),
        ("parameters", parameters or "(defaults)"),
        ("trigger", pipeline_run["trigger"]),
        ("started", timestamp(pipeline_run["created_at"])),
        ("finished", timestamp(pipeline_run["finished_at"]) or "-"),
        ("error", pipeline_run["error"] or "-"),
    ]


def detail_text(pipeline_run: dict[str, Any]) -> str:
    return lines(
        f"pipeline run {pipeline_run['id']}: {pipeline_run['status']}",
        pairs_text(run_pairs(pipeline_run)),
        table_text(STEP_COLUMNS, pipeline_run["steps"]),
    )


def detail_html(pipeline_run: dict[str, Any]) -> Html:
    return Html(
        f"<p>Pipeline run <code>{escape(pipeline_run['id'])}</code> of "
        f"<b>{escape(pipeline_run['pipeline_path'])}</b>: "
        f"<b>{escape(pipeline_run['status'])}</b></p>"
        + pairs_html(run_pairs(pipeline_run), "jp-mlops-pipeline-run")
        + table_html(STEP_COLUMNS, pipeline_run["steps"], "jp-mlops-pipeline-steps")
    )


def waited_text(pipeline_run: dict[str, Any], options: argparse.Namespace, context: Context):
    if options.no_wait:
        return pipeline_run["id"]
    return detail_text(pipeline_run)


def waited_html(pipeline_run: dict[str, Any], options: argparse.Namespace, context: Context):
    if options.no_wait:
        return Html(
            f"<p>Pipeline run <code>{escape(pipeline_run['id'])}</code> started "
            f"({escape(pipeline_run['status'])}).</p>"
        )
    return detail_html(pipeline_run)


def waited_exit_code(pipeline_run: dict[str, Any], options: argparse.Namespace) -> int:
    if options.no_wait or pipeline_run["status"] == "succeeded":
        return EXIT_OK
    return EXIT_FAILED


# -- commands -------------------------------------------------------------------------------


def run_pipeline(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    assignments = [tuple(p) for p in options.parameter] + list(options.assignments)
    text = parse_assignments(assignments)
    parameters = pipeline_parameters(context, options.pipeline, text) if text else {}
    started = context.mlops.pipelines.start(
        options.pipeline, parameters, user=context.user, trigger=context.trigger
    )
    return started if options.no_wait else wait_for_pipeline(context, started)


def list_runs(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    offset, limit = page(options.offset, options.limit)
    path = root_relative(context, options.pipeline) if options.pipeline else None
    return context.mlops.pipelines.list(pipeline_path=path, offset=offset, limit=limit)


NO_RUNS = "no pipeline runs (start one with: {hint})"


def list_text(data: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    if not data["items"]:
        return NO_RUNS.format(hint=context.spell("pipeline run", "FILE.pipeline.yaml"))
    return lines(table_text(RUN_COLUMNS, data["items"]), more_text(data))


def list_html(data: dict[str, Any], options: argparse.Namespace, context: Context) -> Html:
    if not data["items"]:
        hint = context.spell("pipeline run", "train.pipeline.yaml")
        return Html(f"<p>{escape(NO_RUNS.format(hint=hint))}</p>")
    table = table_html(RUN_COLUMNS, data["items"], "jp-mlops-pipeline-runs")
    return Html(f"{table}<p>{len(data['items'])} of {data['total']} pipeline runs</p>")


def show_run(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.pipelines.get(options.pipeline_run_id)


def repair_run(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    repaired = context.mlops.pipelines.repair(options.pipeline_run_id, user=context.user)
    return repaired if options.no_wait else wait_for_pipeline(context, repaired)


def cancel_run(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.pipelines.cancel(options.pipeline_run_id, user=context.user)


NO_WAIT = arg(
    "--no-wait",
    action="store_true",
    help="Start and return at once (it moves on where a server or `jupyter mlops scheduler` runs).",
)
PIPELINE_RUN_ID = arg("pipeline_run_id", metavar="ID", help="The pipeline run's id.")

RUN_ARGUMENTS = (
    arg("pipeline", metavar="FILE", help="A *.pipeline.yaml file, relative to the root."),
    arg(
        "assignments",
        nargs="*",
        metavar="NAME=VALUE",
        help="Pipeline parameter values, converted to the type of the declared default.",
    ),
    arg(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="A pipeline parameter value (like NAME=VALUE); repeatable.",
    ),
    NO_WAIT,
)

COMMANDS = [
    Command(
        "pipeline run",
        "Run a pipeline of notebooks (*.pipeline.yaml) and wait for it, with progress.",
        run_pipeline,
        RUN_ARGUMENTS,
        text=waited_text,
        notebook=waited_html,
        exit_code=waited_exit_code,
        magic="pipeline run",
        magic_help="Run a pipeline of notebooks with parameters; shows progress over its steps "
        "and the step table.",
        magic_returns=True,
    ),
    Command(
        "pipeline runs list",
        "Pipeline runs, newest first.",
        list_runs,
        (
            arg("--pipeline", default=None, metavar="FILE", help="Only runs of this pipeline."),
            arg("--limit", type=int, default=PAGE_SIZE),
            arg("--offset", type=int, default=0),
        ),
        text=list_text,
        notebook=list_html,
        magic="pipeline runs",
        magic_help="Pipeline runs as a table (--pipeline FILE: of one pipeline).",
        magic_returns=True,
    ),
    Command(
        "pipeline runs show",
        "One pipeline run: its steps with status, attempt/tries, reuse, run and error.",
        show_run,
        (PIPELINE_RUN_ID,),
        text=lambda pipeline_run, options, context: detail_text(pipeline_run),
        notebook=lambda pipeline_run, options, context: detail_html(pipeline_run),
    ),
    Command(
        "pipeline runs repair",
        "Re-run a failed or cancelled pipeline run's broken steps and everything downstream, "
        "reusing the steps that succeeded; waits unless --no-wait.",
        repair_run,
        (PIPELINE_RUN_ID, NO_WAIT),
        text=waited_text,
        notebook=waited_html,
        exit_code=waited_exit_code,
    ),
    Command(
        "pipeline runs cancel",
        "Cancel a pipeline run (its running steps' runs are cancelled too).",
        cancel_run,
        (PIPELINE_RUN_ID,),
        text=lambda pipeline_run, options, context: (
            f"pipeline run {pipeline_run['id']}: {pipeline_run['status']}"
        ),
    ),
]
