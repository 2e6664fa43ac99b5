"""Capacity schedules: time-of-day and day-of-week instance floors. Pure: no I/O, no clock.

Syntax (docs/schedules.md), in the deployment's time zone:

    Mon-Fri 08:00-18:00=3; Sat 10:00-14:00=2; Daily 22:00-02:00=2; Sun=1

An entry is DAYS [START-END]=COUNT. DAYS is a day (Mon..Sun), a range (Mon-Fri, Fri-Mon wraps), a
comma list (Mon,Wed,Fri) or Daily / *. START-END is HH:MM-HH:MM (24:00 allowed as an end); an end at or
before the start runs into the next day (22:00-02:00); no times means the whole day. COUNT is the least
number of instances while the window is open. Where windows overlap, the largest count wins.
Numbers are ASCII digits only: Python's \\d, int() and str.isdigit() also take other scripts' digits
("Daily=٣" would be a floor of 3), so every number here is matched with [0-9].
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_LENGTH = 1024
MAX_ENTRIES = 32
MAX_COUNT = 1000
_TIMES = re.compile(r"(?P<start>[0-9]{1,2}:[0-9]{2})\s*-\s*(?P<end>[0-9]{1,2}:[0-9]{2})\s*$")
_COUNT = re.compile(r"[0-9]+")


class ScheduleError(ValueError):
    """The schedule text is not valid; the message names the entry and what is wrong."""


@dataclass(frozen=True)
class Window:
    weekdays: frozenset[int]  # 0 = Monday
    start: int  # minutes after midnight
    end: int  # minutes after midnight of the start day; > 1440 runs into the next day
    count: int
    text: str


@dataclass(frozen=True)
class Floor:
    count: int  # 0: no window applies
    text: str = ""  # the entry that sets it
    opens: datetime | None = None  # when that window opens (local time)


def zone(name: str) -> tzinfo:
    """The time zone `name` (UTC or an IANA name such as Europe/Berlin); ScheduleError if unknown."""
    if name.strip().upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"unknown time zone {name[:60]!r}: use UTC or an IANA name such as Europe/Berlin "
            "(the function image needs the tz database for IANA names)"
        ) from None


@functools.lru_cache(maxsize=256)
def parse(text: str) -> tuple[Window, ...]:
    """The windows of a schedule; "" is no schedule. ScheduleError says which entry is wrong and why."""
    if len(text) > MAX_LENGTH:
        raise ScheduleError(f"schedule of {len(text)} characters exceeds {MAX_LENGTH}")
    entries = [entry.strip() for entry in text.split(";")]
    entries = [entry for entry in entries if entry]
    if len(entries) > MAX_ENTRIES:
        raise ScheduleError(f"{len(entries)} entries: at most {MAX_ENTRIES}")
    return tuple(_window(entry, number) for number, entry in enumerate(entries, 1))


def _window(entry: str, number: int) -> Window:
    where = f"entry {number} {entry[:80]!r}"
    left, equals, count_text = entry.rpartition("=")
    times = _TIMES.search(left)
    days_text = (left[: times.start()] if times else left).strip()
    if not equals or not days_text or not count_text.strip():
        raise ScheduleError(f"{where}: expected DAYS [HH:MM-HH:MM]=COUNT, e.g. 'Mon-Fri 08:00-18:00=3'")
    weekdays = _days(days_text, where)
    start, end = 0, 1440
    if times:
        start, end = _minutes(times["start"], where), _minutes(times["end"], where)
        if start == 1440:
            raise ScheduleError(f"{where}: a window cannot start at 24:00")
        if end <= start:
            end += 1440  # runs into the next day
    if not _COUNT.fullmatch(count_text.strip()):  # not int(): it reads "٣", "+3" and "1_0" too
        raise ScheduleError(f"{where}: count {count_text.strip()[:20]!r} is not a whole number (digits 0-9)")
    count = int(count_text.strip())
    if not 1 <= count <= MAX_COUNT:
        raise ScheduleError(f"{where}: count {count} must be from 1 to {MAX_COUNT}")
    return Window(weekdays, start, end, count, entry)


def _days(text: str, where: str) -> frozenset[int]:
    if text.lower() in ("daily", "*"):
        return frozenset(range(7))
    if any(character.isdigit() for character in text):  # any script: refused either way
        raise ScheduleError(f"{where}: times are HH:MM-HH:MM after the days, e.g. 'Mon-Fri 08:00-18:00=3'")
    days: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        first, dash, last = part.partition("-")
        first_index = _day(first.strip(), where)
        if not dash:
            days.add(first_index)
            continue
        last_index = _day(last.strip(), where)
        span = (last_index - first_index) % 7
        days |= {(first_index + step) % 7 for step in range(span + 1)}
    return frozenset(days)


def _day(name: str, where: str) -> int:
    key = name[:3].lower()
    full = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    if key in DAYS and name.lower() in (key, full[DAYS.index(key)]):
        return DAYS.index(key)
    raise ScheduleError(f"{where}: unknown day {name[:20]!r} (Mon Tue Wed Thu Fri Sat Sun, a range Mon-Fri, or Daily)")


def _minutes(text: str, where: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ScheduleError(f"{where}: {text} is not a time of day (00:00 to 24:00)")
    return hours * 60 + minutes


def max_count(windows: tuple[Window, ...]) -> int:
    return max((window.count for window in windows), default=0)


def floor_between(windows: tuple[Window, ...], start: float, end: float, tz: tzinfo) -> Floor:
    """The largest count of a window open at any moment in (start, end] (epoch seconds), with its entry."""
    best = Floor(0)
    if not windows or end <= start:
        return best
    first = datetime.fromtimestamp(start, tz).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end, tz).date()
    day = first
    while day <= last:
        for window in windows:
            if day.weekday() not in window.weekdays or window.count <= best.count:
                continue
            opens, closes = _local(day, window.start, tz), _local(day, window.end, tz)
            if opens.timestamp() < end and closes.timestamp() > start:
                best = Floor(window.count, window.text, opens)
        day += timedelta(days=1)
    return best


def _local(day: date, minutes: int, tz: tzinfo) -> datetime:
    """The local wall-clock time `minutes` after midnight of `day` (beyond 24:00 on the next days)."""
    moment = day + timedelta(days=minutes // 1440)
    wall = time((minutes % 1440) // 60, minutes % 60)
    return datetime.combine(moment, wall, tzinfo=tz)
