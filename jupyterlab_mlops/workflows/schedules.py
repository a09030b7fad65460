"""Cron schedules of notebooks (and pipelines): create, pause, fire exactly once per fire time.

A scheduler job calls :meth:`ScheduleService.tick` every few seconds, in the server and/or in
``jupyter mlops scheduler``. For each active schedule that is due it works out which fire times
to honour (``catch_up``), then *claims* each one by inserting ``(schedule_id, fire_time)`` into
``schedule_fires``: the unique key makes exactly one process win, however many share the store.
The winner applies the ``overlap`` policy and submits the run (trigger ``schedule``, with the
schedule's id) through the runs service it is given — or starts a pipeline run through the
pipelines service when the schedule's target is a ``*.pipeline.yaml``. This module never touches
the runs tables.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidInput, MLOpsError, NotFound
from ..runs.parameters import summarize
from ..store.db import Database
from ..store.models import Schedule, ScheduleFire, utcnow
from . import cron
from .records import this_process
from .schemas import ScheduleCreate, ScheduleUpdate

log = logging.getLogger(__name__)

ACTIVE_RUN_STATES = ("queued", "running")
ACTIVE_PIPELINE_STATES = ("pending", "running")


@dataclass(frozen=True)
class ScheduleRuns:
    """What schedules need from the runs domain (wired in app.py)."""

    # (notebook_path, parameters, kernel_name) -> {"notebook_path": root-relative, "parameters"}
    check: Callable[[str, dict[str, Any], str | None], dict[str, Any]]
    # submit(notebook_path, parameters, kernel_name=, timeout=, user=, trigger=,
    #        trigger_details=, schedule_id=) -> run dict
    submit: Callable[..., dict[str, Any]]
    # run id -> its status
    status: Callable[[str], str]


@dataclass(frozen=True)
class SchedulePipelines:
    """What schedules of pipelines need from workflows/pipelines.py (wired in app.py)."""

    # (pipeline_path, parameters) -> {"pipeline_path": root-relative, "parameters"}
    check: Callable[[str, dict[str, Any]], dict[str, Any]]
    # start(pipeline_path, parameters, user=, trigger=, schedule_id=) -> pipeline run dict
    start: Callable[..., dict[str, Any]]
    # pipeline run id -> its status
    status: Callable[[str], str]


def _iso(value: datetime | None, zone: ZoneInfo | None = None) -> str | None:
    if value is None:
        return None
    return (value.astimezone(zone) if zone else value).isoformat()


def fire_dict(row: ScheduleFire) -> dict[str, Any]:
    return {
        "fire_time": _iso(row.fire_time),
        "status": row.status,
        "reason": row.reason,
        "run_id": row.run_id,
        "pipeline_run_id": row.pipeline_run_id,
        "manual": bool(row.manual),
    }


class ScheduleService:
    """Schedules and their fire times (the ``schedules`` and ``schedule_fires`` tables)."""

    def __init__(
        self,
        db: Database,
        runs: ScheduleRuns,
        *,
        pipelines: SchedulePipelines | None = None,
        default_timezone: str = "UTC",
        misfire_grace: float = 120.0,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.db = db
        self.runs = runs
        self.pipelines = pipelines
        self.default_timezone = default_timezone
        self.misfire_grace = timedelta(seconds=misfire_grace)
        self.owner = owner or this_process()
        self.clock = clock

    # -- presentation -------------------------------------------------------------------------

    def to_dict(self, row: Schedule, last: ScheduleFire | None = None) -> dict[str, Any]:
        zone = ZoneInfo(row.timezone)
        last_status = None
        if last is not None:
            last_status = self._fire_status(last)
        return {
            "id": row.id,
            "name": row.name,
            "target_kind": row.target_kind,
            "target_path": row.target_path,
            "parameters": dict(row.parameters or {}),
            "kernel_name": row.kernel_name,
            "timeout": row.timeout_seconds,
            "cron": row.cron,
            "timezone": row.timezone,
            "description": cron.describe(row.cron, row.timezone),
            "overlap": row.overlap,
            "catch_up": row.catch_up,
            "active": bool(row.active),
            "end_at": _iso(row.end_at, zone),
            "notify": dict(row.notify or {}),
            "next_fire_at": _iso(row.next_fire_at, zone) if row.active else None,
            "last_fire_at": _iso(row.last_fire_at, zone),
            "last_fire": fire_dict(last) if last is not None else None,
            "last_status": last_status,
            "created_by": row.created_by,
            "created_at": _iso(row.created_at),
            "updated_at": _iso(row.updated_at),
        }

    def _last_fire(self, session, schedule_id: str) -> ScheduleFire | None:
        return session.scalars(
            select(ScheduleFire)
            .where(ScheduleFire.schedule_id == schedule_id)
            .order_by(ScheduleFire.fire_time.desc(), ScheduleFire.id.desc())
            .limit(1)
        ).first()

    def _fire_status(self, fire: ScheduleFire) -> str | None:
        """The status of what a fire started (its run or pipeline run), else the fire's own."""
        try:
            if fire.run_id:
                return self.runs.status(fire.run_id)
            if fire.pipeline_run_id and self.pipelines is not None:
                return self.pipelines.status(fire.pipeline_run_id)
        except NotFound:
            return None
        return fire.status

    def _row(self, session, schedule_id: str) -> Schedule:
        row = session.get(Schedule, schedule_id)
        if row is None:
            raise NotFound(f"no schedule {schedule_id!r}")
        return row

    # -- CRUD -----------------------------------------------------------------------------------

    def _validated(
        self, kind: str, target_path: str, parameters: dict, kernel_name: str | None
    ) -> dict:
        if kind == "pipeline":
            checked = self._pipelines().check(target_path, parameters)
            return {"target_path": checked["pipeline_path"], "parameters": checked["parameters"]}
        checked = self.runs.check(target_path, parameters, kernel_name)
        return {"target_path": checked["notebook_path"], "parameters": checked["parameters"]}

    def _pipelines(self) -> SchedulePipelines:
        if self.pipelines is None:
            raise InvalidInput(
                "scheduling a pipeline needs the pipelines service, which is not set up here",
                details={"field": "pipeline_path"},
            )
        return self.pipelines

    def create(self, body: ScheduleCreate, *, user: str = "") -> dict[str, Any]:
        if (body.notebook_path is None) == (body.pipeline_path is None):
            raise InvalidInput(
                "give exactly one of 'notebook_path' and 'pipeline_path'",
                details={"field": "notebook_path"},
            )
        kind = "notebook" if body.pipeline_path is None else "pipeline"
        if kind == "pipeline":
            # A pipeline's steps name their own kernels and timeouts.
            for field in ("kernel_name", "timeout"):
                if getattr(body, field) is not None:
                    raise InvalidInput(
                        f"'{field}' does not apply to a pipeline: set it on its steps",
                        details={"field": field},
                    )
        expression = cron.check_cron(body.cron)
        zone_name = body.timezone or self.default_timezone
        zone = cron.check_timezone(zone_name)
        target = self._validated(
            kind, body.notebook_path or body.pipeline_path, body.parameters, body.kernel_name
        )
        now = self.clock()
        if body.end_at is not None and body.end_at.tzinfo is None:
            raise InvalidInput("'end_at' needs a UTC offset", details={"field": "end_at"})
        with self.db.write_session() as session:
            row = Schedule(
                name=body.name or target["target_path"].rsplit("/", 1)[-1],
                target_kind=kind,
                target_path=target["target_path"],
                parameters=target["parameters"],
                kernel_name=body.kernel_name,
                timeout_seconds=body.timeout,
                cron=expression,
                timezone=zone_name,
                overlap=body.overlap,
                catch_up=body.catch_up,
                active=body.active,
                end_at=body.end_at,
                notify=(body.notify.model_dump() if body.notify else {}),
                next_fire_at=self._next(expression, zone, now, body.end_at),
                last_fire_at=None,
                created_by=user,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return self.to_dict(row)

    def list(
        self, *, offset: int = 0, limit: int = 50, active: bool | None = None
    ) -> dict[str, Any]:
        condition = True if active is None else Schedule.active.is_(active)
        with self.db.session() as session:
            total = session.scalar(select(func.count()).select_from(Schedule).where(condition))
            rows = session.scalars(
                select(Schedule)
                .where(condition)
                .order_by(Schedule.created_at.desc(), Schedule.id)
                .offset(offset)
                .limit(limit)
            ).all()
            items = [self.to_dict(row, self._last_fire(session, row.id)) for row in rows]
        for item in items:  # a list page stays small: long values are cut (the detail has them)
            item["parameters"] = summarize(item["parameters"])[0]
        return {"items": items, "total": total or 0, "offset": offset, "limit": limit}

    def get(self, schedule_id: str) -> dict[str, Any]:
        with self.db.session() as session:
            row = self._row(session, schedule_id)
            return self.to_dict(row, self._last_fire(session, row.id))

    def update(self, schedule_id: str, changes: ScheduleUpdate, *, user: str = "") -> dict:
        given = changes.model_fields_set
        now = self.clock()
        with self.db.write_session() as session:
            row = self._row(session, schedule_id)
            expression = cron.check_cron(changes.cron) if "cron" in given else row.cron
            zone_name = (
                (changes.timezone or self.default_timezone)
                if "timezone" in given
                else (row.timezone)
            )
            zone = cron.check_timezone(zone_name)
            if row.target_kind == "pipeline":
                for field in ("kernel_name", "timeout"):
                    if field in given and getattr(changes, field) is not None:
                        raise InvalidInput(
                            f"'{field}' does not apply to a pipeline: set it on its steps",
                            details={"field": field},
                        )
            if "parameters" in given or "kernel_name" in given:
                target = self._validated(
                    row.target_kind,
                    row.target_path,
                    changes.parameters if "parameters" in given else row.parameters,
                    changes.kernel_name if "kernel_name" in given else row.kernel_name,
                )
                row.parameters = target["parameters"]
            for field in ("kernel_name", "overlap", "catch_up", "name"):
                if field in given and getattr(changes, field) is not None:
                    setattr(row, field, getattr(changes, field))
            if "timeout" in given:
                row.timeout_seconds = changes.timeout
            if "end_at" in given:
                row.end_at = changes.end_at
            if "notify" in given:
                row.notify = changes.notify.model_dump() if changes.notify else {}
            if "active" in given and changes.active is not None:
                row.active = changes.active
            row.cron, row.timezone, row.updated_at = expression, zone_name, now
            # Resuming never fires what was missed while paused: next fire from now.
            row.next_fire_at = self._next(expression, zone, now, row.end_at)
            if "active" in given and changes.active:
                row.last_fire_at = max(row.last_fire_at or now, now)
            session.flush()
            return self.to_dict(row, self._last_fire(session, row.id))

    def delete(self, schedule_id: str) -> dict[str, Any]:
        with self.db.write_session() as session:
            row = self._row(session, schedule_id)
            gone = self.to_dict(row)
            session.delete(row)
        return gone

    def notify_of(self, schedule_id: str) -> dict[str, Any] | None:
        """The schedule's notification settings (``None``: the global default applies)."""
        with self.db.session() as session:
            row = session.get(Schedule, schedule_id)
            return dict(row.notify) if row is not None and row.notify else None

    def fires(self, schedule_id: str, *, offset: int = 0, limit: int = 50) -> dict[str, Any]:
        with self.db.session() as session:
            self._row(session, schedule_id)
            condition = ScheduleFire.schedule_id == schedule_id
            total = session.scalar(select(func.count()).select_from(ScheduleFire).where(condition))
            rows = session.scalars(
                select(ScheduleFire)
                .where(condition)
                .order_by(ScheduleFire.fire_time.desc(), ScheduleFire.id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
            items = [fire_dict(row) for row in rows]
        return {"items": items, "total": total or 0, "offset": offset, "limit": limit}

    # -- firing ---------------------------------------------------------------------------------

    @staticmethod
    def _next(expression: str, zone: ZoneInfo, after: datetime, end: datetime | None):
        instant = cron.next_fire(expression, zone, after)
        if instant is None or (end is not None and instant > end):
            return None
        return instant

    def trigger(self, schedule_id: str, *, user: str = "") -> dict[str, Any]:
        """Run now, outside the cron times (``manual``; the overlap policy does not apply)."""
        with self.db.session() as session:
            row = self._row(session, schedule_id)
            snapshot = self._snapshot(row)
        fire = self._fire(snapshot, self.clock(), manual=True, user=user)
        if fire is None:  # another process claimed this very microsecond: try once more
            fire = self._fire(snapshot, self.clock(), manual=True, user=user)
        return fire or {}

    @staticmethod
    def _snapshot(row: Schedule) -> dict[str, Any]:
        return {
            "id": row.id,
            "target_kind": row.target_kind,
            "target_path": row.target_path,
            "parameters": dict(row.parameters or {}),
            "kernel_name": row.kernel_name,
            "timeout": row.timeout_seconds,
            "overlap": row.overlap,
            "created_by": row.created_by,
        }

    def tick(self) -> list[dict[str, Any]]:
        """Fire every due schedule's due times (claimed in the store: once across processes)."""
        now = self.clock()
        with self.db.write_session() as session:
            due = session.scalars(
                select(Schedule).where(
                    Schedule.active.is_(True),
                    Schedule.next_fire_at.is_not(None),
                    Schedule.next_fire_at <= now,
                )
            ).all()
            work = []
            for row in due:
                zone = ZoneInfo(row.timezone)
                since = row.last_fire_at or (row.next_fire_at - timedelta(microseconds=1))
                times = cron.fire_times(row.cron, zone, since, now)
                if row.end_at is not None:
                    times = [t for t in times if t <= row.end_at]
                if row.catch_up == "latest":
                    chosen = times[-1:]
                else:  # none: only a fire time we are not late for
                    chosen = [t for t in times[-1:] if now - t <= self.misfire_grace]
                missed = len(times) - len(chosen)
                if missed:
                    log.info("schedule %s: %d missed fire time(s) dropped", row.id, missed)
                work.append((self._snapshot(row), chosen))
                row.last_fire_at = times[-1] if times else row.last_fire_at
                row.next_fire_at = self._next(row.cron, zone, now, row.end_at)
        fired = []
        for snapshot, chosen in work:
            for instant in chosen:
                result = self._fire(snapshot, instant)
                if result is not None:
                    fired.append(result)
        return fired

    def _claim(self, schedule_id: str, instant: datetime, *, manual: bool) -> int | None:
        try:
            with self.db.write_session() as session:
                fire = ScheduleFire(
                    schedule_id=schedule_id,
                    fire_time=instant,
                    status="claimed",
                    manual=manual,
                    claimed_by=self.owner,
                )
                session.add(fire)
                session.flush()
                return fire.id
        except IntegrityError:
            return None  # another process owns this fire time

    def _previous_active(self, schedule_id: str, exclude: int) -> str | None:
        """A run (or pipeline run) of this schedule that is still going, if any."""
        with self.db.session() as session:
            rows = session.scalars(
                select(ScheduleFire)
                .where(
                    ScheduleFire.schedule_id == schedule_id,
                    ScheduleFire.id != exclude,
                    (ScheduleFire.run_id.is_not(None) | ScheduleFire.pipeline_run_id.is_not(None)),
                )
                .order_by(ScheduleFire.fire_time.desc())
                .limit(5)
            ).all()
            started = [(fire.run_id, fire.pipeline_run_id) for fire in rows]
        for run_id, pipeline_run_id in started:
            try:
                if run_id and self.runs.status(run_id) in ACTIVE_RUN_STATES:
                    return f"run {run_id}"
                if (
                    pipeline_run_id
                    and self.pipelines is not None
                    and self.pipelines.status(pipeline_run_id) in ACTIVE_PIPELINE_STATES
                ):
                    return f"pipeline run {pipeline_run_id}"
            except NotFound:
                continue
        return None

    def _set_fire(self, fire_id: int, **values: Any) -> dict[str, Any]:
        with self.db.write_session() as session:
            fire = session.get(ScheduleFire, fire_id)
            for key, value in values.items():
                setattr(fire, key, value)
            session.flush()
            return {"schedule_id": fire.schedule_id, **fire_dict(fire)}

    def _fire(
        self, schedule: dict[str, Any], instant: datetime, *, manual: bool = False, user: str = ""
    ) -> dict[str, Any] | None:
        fire_id = self._claim(schedule["id"], instant, manual=manual)
        if fire_id is None:
            return None
        if schedule["overlap"] == "skip" and not manual:
            active = self._previous_active(schedule["id"], fire_id)
            if active is not None:
                log.info(
                    "schedule %s skipped %s: run %s is still active",
                    schedule["id"],
                    instant.isoformat(),
                    active,
                )
                return self._set_fire(
                    fire_id,
                    status="skipped",
                    reason=f"{active} of this schedule is still active",
                )
        if schedule["target_kind"] == "pipeline":
            return self._start_pipeline(fire_id, schedule, instant, user=user)
        try:
            run = self.runs.submit(
                schedule["target_path"],
                schedule["parameters"],
                kernel_name=schedule["kernel_name"],
                timeout=schedule["timeout"],
                user=user or schedule["created_by"],
                trigger="schedule",
                trigger_details={
                    "schedule_id": schedule["id"],
                    "fire_time": instant.isoformat(),
                    "manual": manual,
                },
                schedule_id=schedule["id"],
            )
        except MLOpsError as err:  # the notebook went away or no longer takes its parameters
            log.warning("schedule %s could not start its run: %s", schedule["id"], err.message)
            return self._set_fire(fire_id, status="failed", reason=err.message)
        log.info(
            "schedule %s fired for %s: run %s of %s",
            schedule["id"],
            instant.isoformat(),
            run["id"],
            schedule["target_path"],
        )
        return self._set_fire(fire_id, status="submitted", run_id=run["id"])

    def _start_pipeline(
        self, fire_id: int, schedule: dict[str, Any], instant: datetime, *, user: str
    ) -> dict[str, Any]:
        try:
            flow = self._pipelines().start(
                schedule["target_path"],
                schedule["parameters"],
                user=user or schedule["created_by"],
                trigger="schedule",
                schedule_id=schedule["id"],
            )
        except MLOpsError as err:  # the pipeline file went away or changed its parameters
            log.warning("schedule %s could not start its pipeline: %s", schedule["id"], err.message)
            return self._set_fire(fire_id, status="failed", reason=err.message)
        log.info(
            "schedule %s fired for %s: pipeline run %s of %s",
            schedule["id"],
            instant.isoformat(),
            flow["id"],
            schedule["target_path"],
        )
        return self._set_fire(fire_id, status="submitted", pipeline_run_id=flow["id"])
