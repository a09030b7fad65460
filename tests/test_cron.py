"""Cron fire times in a time zone: no double fire, no missing fire across DST changes."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from jupyterlab_mlops.errors import InvalidInput
from jupyterlab_mlops.workflows.cron import (
    check_cron,
    check_timezone,
    describe,
    fire_times,
    next_fire,
)

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def local(times, zone=PARIS):
    return [t.astimezone(zone).strftime("%m-%d %H:%M %Z") for t in times]


def test_daily_at_six_in_paris_is_six_local_in_winter_and_summer():
    assert next_fire("0 6 * * *", PARIS, utc(2026, 1, 15, 12)) == utc(2026, 1, 16, 5)
    assert next_fire("0 6 * * *", PARIS, utc(2026, 7, 15, 12)) == utc(2026, 7, 16, 4)


def test_spring_forward_fires_a_skipped_wall_time_once_at_the_end_of_the_gap():
    # 2026-03-29: Paris clocks jump from 02:00 to 03:00.
    daily = fire_times("30 2 * * *", PARIS, utc(2026, 3, 27, 12), utc(2026, 3, 30, 12))
    assert local(daily) == ["03-28 02:30 CET", "03-29 03:00 CEST", "03-30 02:30 CEST"]
    half_hourly = fire_times(
        "*/30 * * * *", PARIS, utc(2026, 3, 29, 0, 15), utc(2026, 3, 29, 1, 45)
    )
    assert local(half_hourly) == ["03-29 01:30 CET", "03-29 03:00 CEST", "03-29 03:30 CEST"]
    assert len(set(half_hourly)) == len(half_hourly)


def test_fall_back_fires_a_repeated_wall_time_once():
    # 2026-10-25: Paris clocks go back from 03:00 to 02:00; 02:30 happens twice.
    daily = fire_times("30 2 * * *", PARIS, utc(2026, 10, 24, 12), utc(2026, 10, 26, 12))
    assert local(daily) == ["10-25 02:30 CEST", "10-26 02:30 CET"]
    times = fire_times("0 * * * *", PARIS, utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 3, 30))
    # 02:00 happens at 00:00 and 01:00 UTC: it fires at the first only.
    assert local(times) == ["10-25 02:00 CEST", "10-25 03:00 CET", "10-25 04:00 CET"]
    assert times == sorted(set(times))


def test_next_fire_from_inside_the_second_pass_of_an_overlap_moves_on():
    second_pass = datetime(2026, 10, 25, 2, 15, tzinfo=PARIS, fold=1)
    assert local([next_fire("30 2 * * *", PARIS, second_pass)]) == ["10-26 02:30 CET"]


def test_every_minute_and_impossible_expressions():
    assert next_fire("* * * * *", "UTC", utc(2026, 1, 1, 0, 0, 30)) == utc(2026, 1, 1, 0, 1)
    assert next_fire("0 0 31 2 *", "UTC", utc(2026, 1, 1)) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "5 fields"),
        ("61 * * * *", "not a valid cron"),
        ("", "required"),
        ("* * * * * *", "5 fields"),
        ("a b c d e", "not a valid cron"),
    ],
)
def test_bad_cron_is_a_400_naming_the_field(expression, message):
    with pytest.raises(InvalidInput, match=message) as caught:
        check_cron(expression)
    assert caught.value.details["field"] == "cron"


def test_unknown_time_zone_is_a_400():
    with pytest.raises(InvalidInput, match="unknown time zone 'Mars/Olympus'"):
        check_timezone("Mars/Olympus")
    assert check_cron("0  6 * *  *") == "0 6 * * *"


def test_description_in_words():
    assert describe("0 6 * * *", "Europe/Paris") == "At 06:00 (Europe/Paris)"
    assert describe("*/5 * * * *", "UTC") == "Every 5 minutes (UTC)"
