"""Capacity schedules: the syntax, its errors (named entry, clear reason), and the floor over an interval."""

from datetime import datetime, timedelta

import pytest

from autoscaler.schedule import ScheduleError, floor_between, parse, zone
from autoscaler.settings import ConfigError, Policy, load_settings

BERLIN = zone("Europe/Berlin")
MONDAY_7 = datetime(2025, 11, 24, 7, 0, tzinfo=BERLIN).timestamp()  # a Monday, 07:00 in Berlin
HOUR = 3600


def at(day: int, hour: float, tz=BERLIN) -> float:
    """Epoch seconds of `hour` o'clock on day `day` of the week of 2025-11-24 (0 = Monday)."""
    return (datetime(2025, 11, 24, tzinfo=tz) + timedelta(days=day, hours=hour)).timestamp()


def test_the_documented_example_parses():
    windows = parse("Mon-Fri 08:00-18:00=3; Sat 10:00-14:00=2; Daily 22:00-02:00=2; Sun=1")
    assert [(sorted(w.weekdays), w.start, w.end, w.count) for w in windows] == [
        ([0, 1, 2, 3, 4], 480, 1080, 3),
        ([5], 600, 840, 2),
        ([0, 1, 2, 3, 4, 5, 6], 1320, 1560, 2),  # 22:00 to 02:00 the next day
        ([6], 0, 1440, 1),
    ]


@pytest.mark.parametrize(
    "text, days",
    [
        ("mon=1", [0]),
        ("Monday=1", [0]),
        ("Mon,Wed,Fri=1", [0, 2, 4]),
        ("Fri-Mon=1", [0, 4, 5, 6]),  # a range wraps over the weekend
        ("*=1", list(range(7))),
        ("  Tue  09:30 - 17:00 = 2 ", [1]),
    ],
)
def test_day_forms(text, days):
    [window] = parse(text)
    assert sorted(window.weekdays) == days


def test_empty_is_no_schedule():
    assert parse("") == () and parse(" ; ;") == ()


@pytest.mark.parametrize(
    "text, message",
    [
        ("Mon-Fry 08:00-18:00=3", "entry 1 'Mon-Fry 08:00-18:00=3': unknown day 'Fry'"),
        ("Mon 08:00-18:00=3; Tue 08:00-25:00=2", "entry 2 'Tue 08:00-25:00=2': 25:00 is not a time of day"),
        ("Mon 08:60-09:00=2", "08:60 is not a time of day"),
        ("Mon 24:00-02:00=2", "cannot start at 24:00"),
        ("Mon 8-9=2", "times are HH:MM-HH:MM after the days"),
        ("Mon 08:00-09:00", "expected DAYS [HH:MM-HH:MM]=COUNT"),
        ("=3", "expected DAYS [HH:MM-HH:MM]=COUNT"),
        ("Mon=0", "count 0 must be from 1 to 1000"),
        ("Mon=two", "count 'two' is not a whole number"),
        (";".join(["Mon=1"] * 33), "33 entries: at most 32"),
    ],
)
def test_errors_name_the_entry_and_the_problem(text, message):
    with pytest.raises(ScheduleError, match=None) as error:
        parse(text)
    assert message in str(error.value)


@pytest.mark.parametrize(
    "text",
    [
        "Daily=٣",  # ARABIC-INDIC DIGIT THREE: int() reads it as 3
        "Daily=３",  # FULLWIDTH DIGIT THREE
        "Daily=𝟑",  # MATHEMATICAL BOLD DIGIT THREE
        "Daily=+3",  # int() takes a sign
        "Daily=1_0",  # and underscores
        "Daily=٣ ",
    ],
)
def test_a_count_is_ascii_digits_only(text):
    with pytest.raises(ScheduleError, match="is not a whole number \\(digits 0-9\\)"):
        parse(text)


@pytest.mark.parametrize("text", ["Mon ٠٨:٠٠-١٨:٠٠=2", "Mon 0٨:00-18:00=2", "Mon 08:00-1８:00=2", "Mon٣=2"])
def test_times_are_ascii_digits_only(text):
    with pytest.raises(ScheduleError, match="times are HH:MM-HH:MM after the days"):
        parse(text)


def test_a_tag_schedule_above_the_instance_ceiling_is_refused():
    with pytest.raises(ConfigError, match="autoscale_schedule: asks for 11 instances, above the instance ceiling 10"):
        Policy().with_overrides({"autoscale_schedule": "Mon=11", "autoscale_max_instances": "11"})
    with pytest.raises(ConfigError, match="autoscale_schedule: .*is not ASCII"):
        Policy().with_overrides({"autoscale_schedule": "Daily=٣"})
    assert Policy().with_overrides({"autoscale_schedule": "Mon=10", "autoscale_max_instances": "10"}).schedule


def test_a_bad_schedule_is_a_config_error_naming_the_key_or_the_tag():
    with pytest.raises(ConfigError, match="AUTOSCALE_SCHEDULE: .*entry 1 'Mon-Fry=3': unknown day 'Fry'"):
        load_settings(
            {"AUTOSCALE_COMPARTMENT_ALLOWLIST": "ocid1.compartment.oc1..x", "AUTOSCALE_SCHEDULE": "Mon-Fry=3"}
        )
    with pytest.raises(ConfigError, match="autoscale_time_zone: .*unknown time zone 'Mars/Base'"):
        Policy().with_overrides({"autoscale_time_zone": "Mars/Base"})
    with pytest.raises(ConfigError, match="schedule asks for 9 instances, above max_instances 4"):
        Policy().with_overrides({"autoscale_schedule": "Mon=9"})
    assert Policy().with_overrides({"autoscale_schedule": "Mon=9", "autoscale_max_instances": "9"}).schedule == "Mon=9"


def test_the_floor_is_the_largest_window_open_in_the_interval():
    windows = parse("Mon-Fri 08:00-18:00=3; Mon 12:00-13:00=5; Daily 22:00-02:00=2")
    assert floor_between(windows, at(0, 6), at(0, 7), BERLIN).count == 0
    found = floor_between(windows, MONDAY_7, MONDAY_7 + 75 * 60, BERLIN)  # 07:00 + 75 min reaches 08:00
    assert (found.count, found.text, found.opens.hour) == (3, "Mon-Fri 08:00-18:00=3", 8)
    assert floor_between(windows, at(0, 11.5), at(0, 12.5), BERLIN).count == 5
    assert floor_between(windows, at(1, 12), at(1, 13), BERLIN).count == 3  # Tuesday: no 5
    assert floor_between(windows, at(5, 8), at(5, 9), BERLIN).count == 0  # Saturday
    assert floor_between(windows, at(5, 1), at(5, 1.5), BERLIN).count == 2  # Friday 22:00 runs into Saturday
    assert floor_between(windows, at(0, 18), at(0, 19), BERLIN).count == 0  # the end is excluded


def test_a_window_is_read_in_its_time_zone_across_daylight_saving():
    windows = parse("Daily 08:00-09:00=2")
    summer = datetime(2025, 7, 1, 6, 30, tzinfo=zone("UTC")).timestamp()  # 08:30 in Berlin (UTC+2)
    winter = datetime(2025, 12, 1, 7, 30, tzinfo=zone("UTC")).timestamp()  # 08:30 in Berlin (UTC+1)
    for moment in (summer, winter):
        assert floor_between(windows, moment - 60, moment, BERLIN).count == 2
        assert floor_between(windows, moment - 60, moment, zone("UTC")).count == 0 or moment == summer


def test_unknown_zones_are_refused_and_utc_needs_no_database():
    assert zone("UTC") is zone("utc")
    with pytest.raises(ScheduleError, match="unknown time zone"):
        zone("Europe/Berln")
