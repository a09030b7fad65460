"""When a schedule fires: 5-field cron expressions in an IANA time zone, DST handled.

croniter walks the *wall clock* of the schedule's zone; each wall time becomes an instant with
zoneinfo. Across a spring-forward gap a wall time that does not exist (02:30 on the night clocks
jump from 02:00 to 03:00) fires at the same instant as the wall time after the gap, once; across a
fall-back overlap a wall time that happens twice (01:30) fires at its first occurrence only. So
every schedule fires at strictly increasing instants: never twice for one wall time, never
skipped because a wall time is missing. Everything returned is timezone-aware UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from croniter.croniter import CroniterBadCronError, CroniterBadDateError

from ..errors import InvalidInput

UTC = timezone.utc
# A cron expression with no fire time in this long is a mistake (e.g. "0 0 31 2 *").
HORIZON = timedelta(days=366 * 5)


def check_cron(expression: str, *, field: str = "cron") -> str:
    """A valid 5-field cron expression (normalised spacing), or a 400 naming ``field``."""
    if not isinstance(expression, str) or not expression.strip():
        raise InvalidInput(f"{field!r} is required", details={"field": field})
    parts = expression.split()
    if len(parts) != 5:
        raise InvalidInput(
            f"{field!r} must have 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)}: {expression!r}",
            details={"field": field},
        )
    normal = " ".join(parts)
    try:
        croniter(normal, datetime(2000, 1, 1))
        if not croniter.is_valid(normal):
            raise ValueError(normal)
    except (CroniterBadCronError, ValueError, KeyError) as err:
        raise InvalidInput(
            f"{field!r} is not a valid cron expression: {expression!r} ({err})",
            details={"field": field},
        ) from None
    return normal


def check_timezone(name: str, *, field: str = "timezone") -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"{field!r} is required", details={"field": field})
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"{field!r}: unknown time zone {name!r} (use an IANA name such as 'Europe/Paris')",
            details={"field": field},
        ) from None


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive wall time in ``zone``: its first occurrence in an overlap, the
    end of the gap for a wall time the clocks skipped."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    return _gap_end(wall, zone)


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant whose wall time is later than ``wall`` (which the gap skipped)."""
    probe = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    # The gap is at most a few hours: step back to the transition, minute by minute.
    while (probe - timedelta(minutes=1)).astimezone(zone).replace(tzinfo=None) > wall:
        probe -= timedelta(minutes=1)
    return probe.replace(second=0, microsecond=0)


def next_fire(expression: str, zone: ZoneInfo | str, after: datetime) -> datetime | None:
    """The first fire instant strictly after ``after`` (aware), or ``None`` within 5 years."""
    zone = check_timezone(zone) if isinstance(zone, str) else zone
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    wall = after.astimezone(zone).replace(tzinfo=None)
    # Start a little before, so a wall time in an overlap is not skipped.
    walker = croniter(expression, wall - timedelta(hours=3))
    limit = after + HORIZON
    while True:
        try:
            candidate = walker.get_next(datetime)
        except CroniterBadDateError:
            return None
        instant = _instant(candidate, zone)
        if instant > after:
            return instant
        if instant > limit:
            return None


def fire_times(
    expression: str, zone: ZoneInfo | str, after: datetime, until: datetime
) -> list[datetime]:
    """Every fire instant in ``(after, until]`` (for catching up after downtime)."""
    times: list[datetime] = []
    current = after
    while True:
        instant = next_fire(expression, zone, current)
        if instant is None or instant > until:
            return times
        times.append(instant)
        current = instant


def describe(expression: str, zone: str) -> str:
    """The schedule in words, as the panel shows it: "At 06:00 (Europe/Paris)"."""
    from cron_descriptor import ExpressionDescriptor, Options

    options = Options()
    options.use_24hour_time_format = True
    options.verbose = False
    try:
        words = ExpressionDescriptor(expression, options).get_description()
    except Exception:  # the descriptor does not know every croniter extension
        words = expression
    return f"{words} ({zone})"
