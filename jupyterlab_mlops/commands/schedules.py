"""Schedules: ``schedules create NB "CRON" [-p k v | k=v …]``, ``schedules list|show|pause|resume|
trigger|delete``, and the notebook's ``schedule`` / ``schedules``.

A schedule runs a notebook at the times of a 5-field cron expression in an IANA time zone; the
output shows the expression in words and the next fire time (in the schedule's zone). Parameters
arrive as text and are converted to the types of the notebook's defaults before anything is
stored, as for ``run``; a bad cron expression, time zone or parameter is refused (exit 2) with a
message naming it. ``show`` lists the schedule's recent fire times with the runs they started.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..runs.parameters import parse_assignments, validate_parameters
from ..schemas import parse
from ..workflows.pipeline_spec import SUFFIX as PIPELINE_SUFFIX
from ..workflows.schemas import ScheduleCreate, ScheduleUpdate
from .context import Context
from .defaults import PAGE_SIZE, page
from .pipelines import pipeline_parameters
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
)
from .spec import EXIT_FAILED, EXIT_OK, Command, Group, arg

GROUPS = [Group("schedules", "Run notebooks on a cron schedule: create, list, pause, run now.")]

RECENT_FIRES = 10


# -- values ---------------------------------------------------------------------------------


def when(value: str | None, zone: str | None = None) -> str:
    """An ISO time to the second with its offset (in ``zone`` if given):
    ``2026-03-02 06:00:00+01:00``."""
    if not value:
        return ""
    instant = datetime.fromisoformat(value).replace(microsecond=0)
    return (instant.astimezone(ZoneInfo(zone)) if zone else instant).isoformat(sep=" ")


def state(schedule: dict[str, Any]) -> str:
    return "active" if schedule["active"] else "paused"


def parameters_text(parameters: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in parameters.items())


def schedule_pairs(schedule: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        ("name", schedule["name"]),
        (schedule["target_kind"], schedule["target_path"]),
        ("parameters", parameters_text(schedule["parameters"]) or "(defaults)"),
        ("cron", schedule["cron"]),
        ("when", schedule["description"]),
        ("next fire", when(schedule["next_fire_at"]) or "-"),
        ("state", state(schedule)),
        ("overlap", schedule["overlap"]),
        ("catch-up", schedule["catch_up"]),
        (
            "kernel",
            schedule["kernel_name"]
            or ("(each step's)" if schedule["target_kind"] == "pipeline" else "(the notebook's)"),
        ),
        ("timeout", f"{schedule['timeout']:g}s" if schedule["timeout"] else "-"),
        ("last fire", when(schedule["last_fire_at"]) or "-"),
        ("last status", schedule["last_status"] or "-"),
    ]


SCHEDULE_COLUMNS = [
    Column("id", lambda s: s["id"], lambda s: f"<code>{escape(s['id'])}</code>"),
    Column("name", lambda s: s["name"]),
    Column("target", lambda s: s["target_path"]),
    Column("when", lambda s: s["description"]),
    Column("next fire", lambda s: when(s["next_fire_at"])),
    Column("state", state),
    Column("last status", lambda s: s["last_status"] or ""),
]


def fire_columns(run_status: dict[str, str], zone: str) -> list[Column]:
    return [
        Column("fire time", lambda f: when(f["fire_time"], zone)),
        Column("fire", lambda f: f["status"] + (" (run now)" if f["manual"] else "")),
        Column("run", lambda f: f["run_id"] or f["pipeline_run_id"] or ""),
        Column("run status", lambda f: run_status.get(f["run_id"] or "", "")),
        Column("reason", lambda f: f["reason"] or ""),
    ]


# -- input ----------------------------------------------------------------------------------


def typed_parameters(context: Context, target: str, text: dict[str, str]) -> dict[str, Any]:
    """Text values converted to the types of the notebook's (or pipeline's) defaults; an
    unknown name or a value of the wrong type is refused, naming it."""
    if not text:
        return {}
    if target.endswith(PIPELINE_SUFFIX):
        return pipeline_parameters(context, target, text)
    declared = context.mlops.runs.inspect(target)["parameters"]
    return validate_parameters(declared, text, from_text=True)


def assignments_of(options: argparse.Namespace) -> dict[str, str]:
    return parse_assignments([tuple(p) for p in options.parameter] + list(options.assignments))


# -- commands -------------------------------------------------------------------------------


def create_schedule(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    target = options.notebook
    body = {
        "pipeline_path" if target.endswith(PIPELINE_SUFFIX) else "notebook_path": target,
        "cron": options.cron,
        "timezone": options.timezone,
        "kernel_name": options.kernel,
        "timeout": options.timeout,
        "overlap": options.overlap,
        "catch_up": options.catch_up,
        "active": not options.paused,
        "name": options.name,
    }
    request = parse(ScheduleCreate, {k: v for k, v in body.items() if v is not None})
    parameters = typed_parameters(context, target, assignments_of(options))
    request = request.model_copy(update={"parameters": parameters})
    return context.mlops.schedules.create(request, user=context.user)


def created_text(schedule: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    return lines(f"schedule {schedule['id']} created", pairs_text(schedule_pairs(schedule)))


def schedule_html(schedule: dict[str, Any], options: argparse.Namespace, context: Context) -> Html:
    title = f"<p>Schedule <code>{escape(schedule['id'])}</code></p>"
    return Html(title + pairs_html(schedule_pairs(schedule), "jp-mlops-schedule"))


def list_schedules(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    offset, limit = page(options.offset, options.limit)
    active = {"active": True, "paused": False}.get(options.state)
    return context.mlops.schedules.list(offset=offset, limit=limit, active=active)


NO_SCHEDULES = "no schedules (create one with: {hint})"


def list_text(data: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    if not data["items"]:
        return NO_SCHEDULES.format(hint=context.spell("schedules create", 'NB "CRON"'))
    return lines(table_text(SCHEDULE_COLUMNS, data["items"]), more_text(data))


def list_html(data: dict[str, Any], options: argparse.Namespace, context: Context) -> Html:
    if not data["items"]:
        hint = context.spell("schedules create", "train.ipynb", '"0 6 * * *"')
        return Html(f"<p>{escape(NO_SCHEDULES.format(hint=hint))}</p>")
    table = table_html(SCHEDULE_COLUMNS, data["items"], "jp-mlops-schedules")
    return Html(f"{table}<p>{len(data['items'])} of {data['total']} schedules</p>")


def show_schedule(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    mlops = context.mlops
    schedule = mlops.schedules.get(options.schedule_id)
    fires = mlops.schedules.fires(options.schedule_id, limit=RECENT_FIRES)
    runs = mlops.runs.list(0, RECENT_FIRES, schedule_id=options.schedule_id)
    return {**schedule, "fires": fires["items"], "runs": runs["items"]}


def _run_status(data: dict[str, Any]) -> dict[str, str]:
    return {run["id"]: run["status"] for run in data["runs"]}


def show_text(data: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    fires = (
        table_text(fire_columns(_run_status(data), data["timezone"]), data["fires"])
        if data["fires"]
        else "  (it has not fired yet)"
    )
    return lines(
        f"schedule {data['id']}",
        pairs_text(schedule_pairs(data)),
        "recent fires:",
        fires,
    )


def show_html(data: dict[str, Any], options: argparse.Namespace, context: Context) -> Html:
    columns = fire_columns(_run_status(data), data["timezone"])
    fires = table_html(columns, data["fires"], "jp-mlops-schedule-fires")
    return Html(schedule_html(data, options, context) + "<p>Recent fires</p>" + fires)


def _set_active(active: bool):
    def call(context: Context, options: argparse.Namespace) -> dict[str, Any]:
        return context.mlops.schedules.update(
            options.schedule_id, ScheduleUpdate(active=active), user=context.user
        )

    return call


def state_text(schedule: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    text = f"schedule {schedule['id']}: {state(schedule)}"
    if schedule["active"] and schedule["next_fire_at"]:
        text += f", next fire {when(schedule['next_fire_at'])}"
    return text


def trigger_schedule(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.schedules.trigger(options.schedule_id, user=context.user)


def trigger_text(fire: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    started = fire.get("run_id") or fire.get("pipeline_run_id")
    if started:
        return f"schedule {fire['schedule_id']}: started run {started}"
    return f"schedule {options.schedule_id}: {fire.get('status')} ({fire.get('reason')})"


def trigger_exit_code(fire: dict[str, Any], options: argparse.Namespace) -> int:
    return EXIT_OK if fire.get("run_id") or fire.get("pipeline_run_id") else EXIT_FAILED


def delete_schedule(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.schedules.delete(options.schedule_id)


SCHEDULE_ID = arg("schedule_id", metavar="ID", help="The schedule's id.")

CREATE_ARGUMENTS = (
    arg("notebook", help="Notebook path, relative to the root."),
    arg("cron", help='5-field cron expression, e.g. "0 6 * * *" (every day at 06:00).'),
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
    arg(
        "--timezone",
        default=None,
        help="IANA time zone of the cron times (default: c.MLOps.default_timezone).",
    ),
    arg("--name", default=None, help="A name (default: the notebook's file name)."),
    arg(
        "--overlap",
        choices=("skip", "queue"),
        default=None,
        help="While the previous run is active: skip the fire time (default) or queue a run.",
    ),
    arg(
        "--catch-up",
        choices=("none", "latest"),
        default=None,
        help="After downtime: drop missed times (default) or run once for the latest.",
    ),
    arg("--timeout", type=float, default=None, help="Time limit of each run in seconds."),
    arg("--kernel", default=None, help="Kernel name (default: the notebook's)."),
    arg("--paused", action="store_true", help="Create it paused (resume it later)."),
)

COMMANDS = [
    Command(
        "schedules create",
        "Run a notebook on a cron schedule, with parameters.",
        create_schedule,
        CREATE_ARGUMENTS,
        text=created_text,
        notebook=schedule_html,
        magic="schedule",
        magic_help='Schedule a notebook: %mlops schedule train.ipynb "0 6 * * *" C=0.5 '
        "[--timezone Europe/Paris].",
        magic_returns=True,
    ),
    Command(
        "schedules list",
        "Schedules with their times in words, next fire and last status.",
        list_schedules,
        (
            arg("--state", choices=("active", "paused"), default=None, help="Only these."),
            arg("--limit", type=int, default=PAGE_SIZE),
            arg("--offset", type=int, default=0),
        ),
        text=list_text,
        notebook=list_html,
        magic="schedules",
        magic_help="Schedules as a table.",
        magic_returns=True,
    ),
    Command(
        "schedules show",
        "One schedule with its recent fire times and the runs they started.",
        show_schedule,
        (SCHEDULE_ID,),
        text=show_text,
        notebook=show_html,
    ),
    Command(
        "schedules pause",
        "Stop a schedule from firing (until resumed).",
        _set_active(False),
        (SCHEDULE_ID,),
        text=state_text,
    ),
    Command(
        "schedules resume",
        "Fire a paused schedule again, from its next time on (missed times are not run).",
        _set_active(True),
        (SCHEDULE_ID,),
        text=state_text,
    ),
    Command(
        "schedules trigger",
        "Run a schedule's notebook now, outside its cron times.",
        trigger_schedule,
        (SCHEDULE_ID,),
        text=trigger_text,
        exit_code=trigger_exit_code,
    ),
    Command(
        "schedules delete",
        "Delete a schedule (the runs it started are kept).",
        delete_schedule,
        (SCHEDULE_ID,),
        text=lambda schedule, options, context: f"schedule {schedule['id']} deleted",
    ),
]
