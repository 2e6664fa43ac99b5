"""OCI Monitoring as the emulator models it: MQL, metric datapoints, SummarizeMetricsData, alarm evaluation,
per-stream alarm state and alarm history. Pure Python (no HTTP, no Store): the emulator's Store wraps one
`Monitoring`, and the benchmark can drive one with its virtual epoch clock.

Sources (OCI docs pages by title, and the oci SDK 2.189.0 model/client docstrings):
- "Monitoring Query Language (MQL) Reference": components in the order
  metric[interval]{dimensionname="dimensionvalue"}.groupingfunction.statistic, then for alarms
  `operator value` or `operator (value1, value2)`; valid intervals 1m-60m, 1h-24h, 1d.
- "Selecting Dimensions for a Query": several name-value pairs separated by commas are ANDed; `=~` matches
  fuzzily with `|` alternatives and `*` wildcards; the quotes may be omitted unless the value has a space or
  is fuzzy; whitespace is allowed (`CpuUtilization [1m]{...}`).
- "Using groupBy(x) in a Query": one combined value per group for the statistic; `.grouping()` aggregates
  every stream into one ("Selecting Dimensions": `.grouping().max()`), so the groupBy/grouping comes BEFORE the
  statistic.
- "Specifying a Predicate in a Query": `> >= < <= == !=`, `in (60, 80)` = between 60 and 80; a predicate in a
  metric query turns values into 1 (true) and drops false ones.
- "Selecting the Statistic for a Query": count, max, mean (= sum / count), min, percentile, rate (per-interval
  average rate of change, per second), sum.
- CreateAlarmDetails: pending_duration PT1M-PT1H (default PT1M: the first breaching evaluation fires; OK again
  when the condition has been clear for the most recent minute), repeat_notification_duration PT1M-P30D
  (default none), evaluation_slack_duration PT3M-PT2H (default PT3M, "slack period to wait for metric
  ingestion before evaluating"), resolution 1m only, alarm query must have a trigger rule.
- "Alarm Message Format": dedupeKey per alarm (grouped) or per alarm + metric stream (split); title = the
  notification title, else the display name; timestamp(EpochMillis) = the evaluation time.
- MetricData / SummarizeMetricsDataDetails: <= 100,000 datapoints and <= 2,000 streams per answer; time range
  7 d at 1m resolution, 30 d at 5m, 90 d at 1h and 1d; resolution <= the query interval; startTime included,
  endTime excluded; defaults: the last 3 hours.
- PostMetricData / MetricDataDetails: <= 50 streams per call, 1-20 dimensions, datapoints less than 2 h old and
  less than 10 min in the future, reserved namespace prefixes oci_ and oracle_, NON_ATOMIC by default.
- RetrieveDimensionStatesDetails: dimension filters match the EXACT dimension set of a stream.
- "Listing Metric Stream Status in an Alarm": lists streams that transitioned; "available only" for alarms
  with split notifications (Console); RESET stops tracking a stream. "Getting History of an Alarm": kept 90 days.

Where the docs are silent the choice is named in a comment ("not documented").
"""

from __future__ import annotations

import bisect
import copy
import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

# -- errors and small helpers --


class UnsupportedQuery(ValueError):
    """Valid MQL (per the docs) that this emulator does not evaluate: absent(), nested or joined queries."""


class ApiError(Exception):
    """A Monitoring API error (HTTP status, OCI error code, message); the Store turns it into its OciError."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


def _bad(message: str) -> ApiError:
    return ApiError(400, "InvalidParameter", message)


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value, what: str = "timestamp") -> float:
    """Epoch seconds from an RFC 3339 string, a datetime or a number (epoch seconds); ValueError if not."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be an RFC 3339 date-time, got {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{what} must be finite")
        return float(value)
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("z", "Z"))
        except ValueError:
            raise ValueError(f"{what} {value!r} is not an RFC 3339 date-time (e.g. 2023-02-01T01:02:29.600Z)") from None
    else:
        raise ValueError(f"{what} must be an RFC 3339 date-time, got {type(value).__name__}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def duration_seconds(text: str) -> int:
    """Seconds of an ISO 8601 duration such as PT5M, PT1H, P30D; ValueError if not one."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as PT5M or PT1H")
    weeks, days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds


DEFAULT_SLACK_SECONDS = 180  # evaluation_slack_duration "Default: PT3M"
HISTORY_RETENTION_SECONDS = 90 * 86400  # "Getting History of an Alarm": history is kept for 90 days


def page_items(items: list, page, limit, default_limit: int = 1000) -> tuple[list, str | None]:
    """OCI list paging: `page` is the opc-next-page token of the previous answer (here an offset)."""
    try:
        size = default_limit if limit in (None, "") else int(limit)
        offset = 0 if page in (None, "") else int(page)
    except (TypeError, ValueError):
        raise _bad("limit must be an integer and page a token from opc-next-page") from None
    if not 1 <= size <= 1000 or offset < 0:
        raise _bad("limit must be between 1 and 1000")
    end = offset + size
    return items[offset:end], (str(end) if end < len(items) else None)


# -- MQL --

INTERVAL_LIMITS = {"m": (1, 60, 60), "h": (1, 24, 3600), "d": (1, 1, 86400)}  # MQL reference: 1m-60m, 1h-24h, 1d
STATISTICS = ("count", "max", "mean", "min", "percentile", "rate", "sum")
OPERATORS = (">=", "<=", "==", "!=", ">", "<")
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_.$\-]*")
_METRIC = re.compile(r"[A-Za-z][A-Za-z0-9_.$\-]*")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_BARE_VALUE = re.compile(r'[^\s,{}"()]+')


def interval_seconds(text: str, what: str = "interval") -> int:
    match = re.fullmatch(r"(\d+)([mhd])", text or "")
    if not match:
        raise ValueError(f"{what} {text!r} is not one of 1m-60m, 1h-24h, 1d")
    number, unit = int(match.group(1)), match.group(2)
    low, high, scale = INTERVAL_LIMITS[unit]
    if not low <= number <= high:
        raise ValueError(f"{what} {text!r} is out of range: valid values are 1m-60m, 1h-24h, 1d")
    return number * scale


@dataclass(frozen=True)
class DimensionFilter:
    name: str
    op: str  # "=" exact, "=~" fuzzy (alternatives separated by |, * wildcard)
    value: str

    def matches(self, dimensions: dict) -> bool:
        actual = dimensions.get(self.name)
        if actual is None:
            return False
        if self.op == "=":
            return actual == self.value
        # "Selecting Dimensions for a Query": fuzzy matching, OR over |; case sensitivity is not documented.
        return any(
            re.fullmatch(".*".join(re.escape(part) for part in alt.split("*")), actual) for alt in self.value.split("|")
        )


@dataclass(frozen=True)
class Query:
    """One parsed MQL expression: what a caller needs to evaluate it."""

    text: str
    metric: str
    interval: str  # as written, e.g. "1m"
    interval_seconds: int
    filters: tuple[DimensionFilter, ...]
    grouping: str  # "none" (one stream per full dimension set), "groupBy" (per key values), "grouping" (one)
    group_keys: tuple[str, ...]
    statistic: str
    percentile: float | None = None
    operator: str | None = None  # > >= < <= == != in "not in"; None for a metric query without trigger rule
    threshold: float | None = None
    threshold_high: float | None = None  # second value of in / not in

    @property
    def interval_minutes(self) -> float:
        return self.interval_seconds / 60

    @property
    def equal_filters(self) -> dict[str, str]:
        return {f.name: f.value for f in self.filters if f.op == "="}

    @property
    def expression(self) -> str:
        """The key of metricValues in alarm messages, e.g. "CpuUtilization[1m].mean()".

        alarms/high_cpu.json drops the dimension filter; keeping the grouping function is a choice (not documented)."""
        group = {"none": "", "grouping": ".grouping()", "groupBy": f".groupBy({', '.join(self.group_keys)})"}
        arg = "" if self.percentile is None else f"{self.percentile:g}"
        return f"{self.metric}[{self.interval}]{group[self.grouping]}.{self.statistic}({arg})"

    def matches(self, dimensions: dict) -> bool:
        return all(f.matches(dimensions) for f in self.filters)

    def stream_dimensions(self, dimensions: dict) -> dict | None:
        """The dimensions that identify the query's stream for a raw metric stream (None: not part of any).

        A raw stream lacking a groupBy key is left out (not documented)."""
        if self.grouping == "grouping":
            return {}
        if self.grouping == "groupBy":
            if any(key not in dimensions for key in self.group_keys):
                return None
            return {key: dimensions[key] for key in self.group_keys}
        return dict(dimensions)

    def breaches(self, value: float) -> bool:
        op, low, high = self.operator, self.threshold, self.threshold_high
        if op is None:
            return value != 0  # CreateAlarmDetails: zero is false, non-zero true
        if op == "in":
            return low <= value <= high  # "between 60 and 80"; inclusiveness not documented
        if op == "not in":
            return not low <= value <= high
        return {
            ">": value > low,
            ">=": value >= low,
            "<": value < low,
            "<=": value <= low,
            "==": value == low,
            "!=": value != low,
        }[op]


class _Parser:
    def __init__(self, text: str):
        self.text, self.pos = text, 0

    def fail(self, message: str):
        raise ValueError(f"Invalid MQL query at position {self.pos}: {message} (query: {self.text!r})")

    def ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self, literal: str) -> bool:
        self.ws()
        return self.text.startswith(literal, self.pos)

    def expect(self, literal: str, what: str) -> None:
        if not self.peek(literal):
            found = self.text[self.pos : self.pos + 12] or "end of query"
            self.fail(f"expected {what} ({literal!r}), found {found!r}")
        self.pos += len(literal)

    def match(self, pattern: re.Pattern, what: str) -> str:
        self.ws()
        found = pattern.match(self.text, self.pos)
        if not found:
            self.fail(f"expected {what}, found {self.text[self.pos : self.pos + 12] or 'end of query'!r}")
        self.pos = found.end()
        return found.group(0)

    def value(self) -> tuple[str, bool]:
        self.ws()
        if self.peek('"'):
            self.pos += 1
            out = []
            while self.pos < len(self.text):
                char = self.text[self.pos]
                if char == "\\" and self.pos + 1 < len(self.text):
                    out.append(self.text[self.pos + 1])
                    self.pos += 2
                    continue
                if char == '"':
                    self.pos += 1
                    return "".join(out), True
                out.append(char)
                self.pos += 1
            self.fail("unterminated dimension value (missing closing double quote)")
        return self.match(_BARE_VALUE, "a dimension value"), False

    def number(self, what: str) -> float:
        number = float(self.match(_NUMBER, what))
        if not math.isfinite(number):
            self.fail(f"{what} must be finite")
        return number


def parse_query(text: str) -> Query:
    """Parse an MQL expression; ValueError (with the position and the problem) if it is not valid MQL.

    UnsupportedQuery (a ValueError) for documented MQL this emulator does not evaluate: absent(), nested or
    joined queries, a second grouping function after the statistic."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("Invalid MQL query: the query is empty")
    if len(text) > 4096:
        raise ValueError("Invalid MQL query: longer than 4096 characters")
    p = _Parser(text)
    if p.peek("("):
        raise UnsupportedQuery(f"nested MQL queries are not evaluated by the emulator: {text!r}")
    metric = p.match(_METRIC, "a metric name")
    p.expect("[", "an interval in brackets after the metric name")
    p.ws()
    interval_start = p.pos
    interval = p.match(re.compile(r"[0-9A-Za-z]+"), "an interval such as 1m")
    try:
        seconds = interval_seconds(interval)
    except ValueError as error:
        p.pos = interval_start
        p.fail(str(error))
    p.expect("]", "']' closing the interval")
    filters: list[DimensionFilter] = []
    if p.peek("{"):
        p.pos += 1
        if p.peek("}"):
            p.fail("empty dimension filter {}")
        while True:
            name = p.match(_NAME, "a dimension name")
            p.ws()
            if p.text.startswith("=~", p.pos):
                op = "=~"
            elif p.text.startswith("=", p.pos) and not p.text.startswith("==", p.pos):
                op = "="
            else:
                p.fail(f"dimension {name} needs '=' or '=~' followed by a value (other operators are not MQL)")
            p.pos += len(op)
            value, quoted = p.value()
            if op == "=~" and not quoted:
                p.fail(f"the fuzzy value of {name} must be in double quotes")
            if not value:
                p.fail(f"empty value for dimension {name}")
            filters.append(DimensionFilter(name, op, value))
            if p.peek(","):
                p.pos += 1
                continue
            p.expect("}", "',' or '}' in the dimension filter")
            break
    grouping, keys, statistic, percentile = "none", (), None, None
    p.expect(".", "'.' and a statistic such as .mean()")
    name = p.match(_NAME, "a grouping function or a statistic")
    if name in ("groupBy", "grouping"):
        p.expect("(", f"'(' after {name}")
        if name == "groupBy":
            found = [p.match(_NAME, "a dimension name in groupBy()")]
            while p.peek(","):
                p.pos += 1
                found.append(p.match(_NAME, "a dimension name in groupBy()"))
            if len(set(found)) != len(found):
                p.fail("a dimension appears twice in groupBy()")
            keys = tuple(found)
        p.expect(")", f"')' closing {name}(")
        grouping = name
        p.expect(".", f"'.' and a statistic after {name}()")
        name = p.match(_NAME, "a statistic such as mean()")
    absent = name == "absent"
    if name not in STATISTICS and not absent:
        p.fail(f"unknown statistic {name}(); expected one of {', '.join(s + '()' for s in STATISTICS)} or absent()")
    statistic = name
    p.expect("(", f"'(' after {name}")
    if name == "percentile":
        percentile = p.number("the percentile, a number between 0 and 1")
        if not 0 < percentile < 1:
            p.fail(f"percentile({percentile:g}) must be between 0 and 1, e.g. percentile(0.9)")
    elif absent and not p.peek(")"):
        p.match(re.compile(r"\d+[mhd]?"), "an absence detection period such as 20h")
    p.expect(")", f"')' closing {name}(")
    if p.peek("."):
        raise UnsupportedQuery(f"a second grouping function or statistic is not evaluated by the emulator: {text!r}")
    operator = low = high = None
    p.ws()
    rest = p.text[p.pos :]
    if rest and not absent:
        for op in OPERATORS:
            if rest.startswith(op):
                operator = op
                p.pos += len(op)
                low = p.number(f"a number after {op}")
                break
        else:
            range_op = re.match(r"(not\s+in|in)\b", rest)
            if not range_op:
                p.fail("expected the end of the query or a condition: > >= < <= == != value, or in / not in (a, b)")
            operator = "in" if range_op.group(1) == "in" else "not in"
            p.pos += range_op.end()
            p.expect("(", f"'(' after {operator}")
            low = p.number("the first value of the range")
            p.expect(",", "',' between the two values of the range")
            high = p.number("the second value of the range")
            p.expect(")", "')' closing the range")
            if low > high:
                p.fail(f"the range ({low:g}, {high:g}) must have its lower value first")
    p.ws()
    if p.pos != len(p.text):
        if re.match(r"(&&|\|\||[-+*/])", p.text[p.pos :]):
            raise UnsupportedQuery(f"joined queries and arithmetic are not evaluated by the emulator: {text!r}")
        p.fail("unexpected text after the query")
    if absent:
        raise UnsupportedQuery(f"absent() alarms are not evaluated by the emulator: {text!r}")
    return Query(
        text, metric, interval, seconds, tuple(filters), grouping, keys, statistic, percentile, operator, low, high
    )


def check_alarm_query(text: str) -> Query | None:
    """What CreateAlarm/UpdateAlarm check: valid MQL with a trigger rule. ValueError if not; None if valid but not
    evaluated here (UnsupportedQuery)."""
    try:
        query = parse_query(text)
    except UnsupportedQuery:
        return None
    if query.operator is None:
        raise ValueError(
            f"Invalid alarm query {text!r}: an alarm query needs a trigger rule, "
            "e.g. '> 80', 'in (60, 80)' or the absent() statistic"
        )
    return query


# -- statistics --

Point = tuple[float, float, int]  # (timestamp epoch seconds, value, count)


def aggregate(query: Query, per_stream: list[list[Point]]) -> float | None:
    """The query's statistic over the raw datapoints of the streams of one group (None: no data).

    A datapoint's count is "the number of occurrences of the associated value" (Datapoint docstring): it weighs
    sum, mean, count and percentile. rate() of a group adds the rates of its streams (not documented)."""
    points = [p for stream in per_stream for p in stream]
    if not points:
        return None
    stat = query.statistic
    if stat == "max":
        return max(p[1] for p in points)
    if stat == "min":
        return min(p[1] for p in points)
    if stat == "count":
        return float(sum(p[2] for p in points))
    if stat == "sum":
        return sum(p[1] * p[2] for p in points)
    if stat == "mean":
        return sum(p[1] * p[2] for p in points) / sum(p[2] for p in points)
    if stat == "percentile":  # nearest rank over the weighted values ("estimated value" in the docs)
        ordered = sorted((p[1], p[2]) for p in points)
        rank, seen = math.ceil(query.percentile * sum(c for _, c in ordered)), 0
        for value, count in ordered:
            seen += count
            if seen >= rank:
                return value
        return ordered[-1][0]
    rates = []  # rate: per-interval average rate of change, per second
    for stream in per_stream:
        if len(stream) >= 2 and stream[-1][0] > stream[0][0]:
            rates.append((stream[-1][1] - stream[0][1]) / (stream[-1][0] - stream[0][0]))
    return sum(rates) if rates else None


# -- metric store --


@dataclass(frozen=True)
class StreamId:
    compartment_id: str
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    resource_group: str | None = None


NAMESPACE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
METRIC_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._\-$]*$")
RESOURCE_GROUP_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._\-$]*$")
DIMENSION_KEY_RE = re.compile(r"^[\x21-\x7e]{1,256}$")
METRIC_DATA_FIELDS = {"namespace", "resourceGroup", "compartmentId", "name", "dimensions", "metadata", "datapoints"}
MAX_STREAMS_PER_POST = 50
MAX_DATAPOINTS, MAX_STREAMS = 100_000, 2_000


def _range_limit(resolution_seconds: int) -> int:
    """MetricData docstring: 7 days at 1m, 30 days at 5m, 90 days at 1h and 1d (other resolutions: not documented,
    the limit of the next documented one below is used)."""
    if resolution_seconds < 300:
        return 7 * 86400
    if resolution_seconds < 3600:
        return 30 * 86400
    return 90 * 86400


def _stream_key(dimensions: dict) -> tuple:
    return tuple(sorted(dimensions.items()))


def _stream_hash(dimensions: dict) -> str:
    return hashlib.sha256(json.dumps(dimensions, sort_keys=True).encode()).hexdigest()[:10]


# -- alarm state --


@dataclass
class StreamState:
    dimensions: dict
    status: str = "OK"
    breaching: int = 0  # consecutive breaching evaluations
    value: float | None = None  # last evaluated value
    transitioned: float | None = None  # transition time (the end of the evaluated window), epoch seconds
    last_notified: float = 0.0
    episode: int = 0  # epoch millis of the evaluation that opened the firing episode
    last_data: float | None = None  # evaluation time of the last window with data


@dataclass
class AlarmState:
    streams: dict[tuple, StreamState] = field(default_factory=dict)
    status: str = "OK"  # collective, across all streams
    transitioned: float | None = None
    episode: int = 0
    last_notified: float = 0.0
    last_evaluated: float | None = None  # epoch seconds of the last evaluation
    history: list[dict] = field(default_factory=list)


GROUPED = "Grouped messages across metric streams"  # as in alarms/*.json
SPLIT = "Split messages per metric stream"  # "Alarm Message Format"
REGIONS = {"iad": "us-ashburn-1", "phx": "us-phoenix-1", "fra": "eu-frankfurt-1", "lhr": "uk-london-1"}


class Monitoring:
    """Metrics, alarm evaluation, alarm state and history of one emulated tenancy.

    wall_clock: epoch seconds (time.time by default; the benchmark passes its virtual epoch clock).
    slack_seconds: None = each alarm's evaluationSlackDuration (default PT3M); a number overrides every alarm
      (the benchmark passes 0 or 180). The evaluation at `now` looks at the window ending at now - slack.
    reset_after_seconds: a FIRING stream without data for that long is dropped with a RESET message; None (the
      default) never resets (the internal reset period is not given in the pages consulted).
    dimension_states_split_only: RetrieveDimensionStates lists streams only for split alarms ("Listing Metric
      Stream Status in an Alarm" says the view is available only for them; what the API answers for a grouped
      alarm is not documented). Off by default.
    window_stamp: what the timestamp of a SummarizeMetricsData datapoint marks, "end" (the default: the window
      (t - interval, t]) or "start" (the window [t, t + interval)). The AggregatedDatapoint docstring says only "the
      date and time associated with the value"; "Selecting a Nondefault Resolution for a Query" draws windows "from
      0:n to 5:00, 5:n to 10:00", which suggests the end without saying so. Either way the timestamps lie in
      [startTime, endTime) (SummarizeMetricsDataDetails: startTime included, endTime excluded). Alarm evaluation
      is not affected.
    """

    def __init__(
        self,
        wall_clock: Callable[[], float] = time.time,
        slack_seconds: float | None = None,
        reset_after_seconds: float | None = None,
        retention_seconds: float = 8 * 86400,
        max_catch_up_minutes: int = 60,
        dimension_states_split_only: bool = False,
        window_stamp: str = "end",
    ):
        self.wall_clock = wall_clock
        self.slack_seconds = slack_seconds
        self.reset_after_seconds = reset_after_seconds
        self.retention_seconds = retention_seconds
        self.max_catch_up_minutes = max_catch_up_minutes
        self.dimension_states_split_only = dimension_states_split_only
        if window_stamp not in ("end", "start"):
            raise ValueError(f"window_stamp must be 'end' or 'start', not {window_stamp!r}")
        self.window_stamp = window_stamp
        self._lock = threading.RLock()
        self._queries: dict[str, Query | None] = {}
        self.reset()

    def reset(self) -> None:
        """Forget every datapoint, alarm state and history entry (the configuration stays)."""
        with self._lock:
            self._series: dict[StreamId, list[Point]] = {}
            self._group_cache: dict[tuple, tuple[int, dict]] = {}  # a query's grouping, valid until a new stream
            self._by_metric: dict[tuple[str, str, str], list[StreamId]] = {}
            self._alarms: dict[str, AlarmState] = {}

    # -- metrics in --

    def post(
        self,
        compartment_id: str,
        namespace: str,
        name: str,
        dimensions: dict,
        datapoints: Iterable,
        resource_group: str | None = None,
    ) -> None:
        """Service-side ingestion (what Data Science itself emits): datapoints as (timestamp, value) or
        (timestamp, value, count); timestamps epoch seconds, RFC 3339 strings or datetimes. No reserved-namespace
        or time-window checks."""
        if not all(isinstance(x, str) and x for x in (compartment_id, namespace, name)):
            raise ValueError("compartment_id, namespace and name must be non-empty strings")
        if not isinstance(dimensions, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and k and v for k, v in dimensions.items()
        ):
            raise ValueError("dimensions must map non-empty strings to non-empty strings")
        points = []
        for point in datapoints:
            timestamp, value, *rest = point
            count = rest[0] if rest else 1
            value = float(value)
            if not math.isfinite(value) or not isinstance(count, int) or count < 1:
                raise ValueError(f"bad datapoint {point!r}: value must be finite and count an integer >= 1")
            points.append((parse_time(timestamp), value, count))
        stream = StreamId(compartment_id, namespace, name, _stream_key(dimensions), resource_group)
        with self._lock:
            series = self._series.get(stream)
            if series is None:
                series = self._series[stream] = []
                self._group_cache.clear()
                self._by_metric.setdefault((compartment_id, namespace, name), []).append(stream)
            for item in points:
                bisect.insort(series, item, key=lambda p: p[0])
            if series and series[-1][0] - series[0][0] > self.retention_seconds:
                del series[: bisect.bisect_left(series, series[-1][0] - self.retention_seconds, key=lambda p: p[0])]

    def post_metric_data(self, details: dict, service: bool = False) -> dict:
        """PostMetricData (PostMetricDataDetails in, PostMetricDataResponseDetails out), validated like the
        ingestion API. service=True: metrics emitted by an OCI service (reserved namespaces, no time window)."""
        if not isinstance(details, dict):
            raise _bad("PostMetricDataDetails must be a JSON object")
        unknown = sorted(set(details) - {"metricData", "batchAtomicity"})
        if unknown:
            raise _bad(f"Unknown field(s) {', '.join(unknown)} in PostMetricDataDetails")
        metric_data = details.get("metricData")
        atomicity = details.get("batchAtomicity") or "NON_ATOMIC"
        if atomicity not in ("ATOMIC", "NON_ATOMIC"):
            raise _bad(f"batchAtomicity must be ATOMIC or NON_ATOMIC, got {atomicity!r}")
        if not isinstance(metric_data, list) or not metric_data:
            raise _bad("metricData must be a non-empty list of metric objects")
        streams = {
            json.dumps([m.get(k) for k in ("compartmentId", "namespace", "name", "dimensions")], sort_keys=True)
            for m in metric_data
            if isinstance(m, dict)
        }
        if len(streams) > MAX_STREAMS_PER_POST:
            raise _bad(f"{len(streams)} metric streams in one call: the limit is {MAX_STREAMS_PER_POST}")
        now = self.wall_clock()
        accepted, failed = [], []
        for metric in metric_data:
            try:
                accepted.append(self._validate_metric(metric, now, service))
            except ValueError as error:
                failed.append({"message": str(error), "metricData": metric})
        if failed and (atomicity == "ATOMIC" or not accepted):
            raise _bad(f"{len(failed)} of {len(metric_data)} metric objects failed validation: {failed[0]['message']}")
        for compartment, namespace, name, dimensions, points, group in accepted:
            self.post(compartment, namespace, name, dimensions, points, group)
        return {"failedMetricsCount": len(failed), "failedMetrics": failed}

    @staticmethod
    def _validate_metric(metric, now: float, service: bool):
        if not isinstance(metric, dict):
            raise ValueError("a metric object must be a JSON object")
        unknown = sorted(set(metric) - METRIC_DATA_FIELDS)
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)} in MetricDataDetails")
        namespace, name = metric.get("namespace"), metric.get("name")
        compartment, dims, group = metric.get("compartmentId"), metric.get("dimensions"), metric.get("resourceGroup")
        if not isinstance(namespace, str) or not NAMESPACE_RE.match(namespace):
            raise ValueError(f"namespace {namespace!r} must start with a letter and hold only letters, digits and _")
        if not service and namespace.lower().startswith(("oci_", "oracle_")):
            raise ValueError(
                f"namespace {namespace!r}: custom metrics can't use the reserved prefixes oci_ and oracle_"
            )
        if not isinstance(compartment, str) or not compartment:
            raise ValueError("compartmentId is required")
        if not isinstance(name, str) or not METRIC_NAME_RE.match(name):
            raise ValueError(f"metric name {name!r} must start with a letter (letters, digits, . _ - $)")
        if group is not None and (not isinstance(group, str) or not RESOURCE_GROUP_RE.match(group)):
            raise ValueError(f"resourceGroup {group!r} is not valid")
        if not isinstance(dims, dict) or not 1 <= len(dims) <= 20:
            raise ValueError("dimensions must be an object with 1 to 20 key-value pairs")
        for key, value in dims.items():
            if not DIMENSION_KEY_RE.match(key):
                raise ValueError(f"dimension key {key!r} must be 1-256 printable ASCII characters without spaces")
            if not isinstance(value, str) or not 1 <= len(value) <= 512:
                raise ValueError(f"dimension {key} must have a value of 1 to 512 characters")
        if not isinstance(metric.get("metadata", {}), dict):
            raise ValueError("metadata must be an object")
        datapoints = metric.get("datapoints")
        if not isinstance(datapoints, list) or not datapoints:
            raise ValueError("datapoints must be a non-empty list")
        points = []
        for point in datapoints:
            if not isinstance(point, dict) or set(point) - {"timestamp", "value", "count"}:
                raise ValueError("a datapoint is an object with timestamp, value and optional count")
            stamp, value, count = point.get("timestamp"), point.get("value"), point.get("count", 1)
            if not isinstance(stamp, str):
                raise ValueError("datapoint timestamp must be an RFC 3339 string")
            epoch = parse_time(stamp, "datapoint timestamp")
            if not service and not now - 7200 < epoch < now + 600:
                raise ValueError(
                    f"datapoint timestamp {stamp} must be less than two hours in the past and less than "
                    "10 minutes in the future"
                )
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"datapoint value {value!r} must be a finite number")
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ValueError(f"datapoint count {count!r} must be an integer greater than zero")
            points.append((epoch, float(value), count))
        return compartment, namespace, name, dict(dims), points, group

    def load_metrics(self, metric_data) -> None:
        """Seed key "metrics": MetricDataDetails as the service emits them (no per-call stream limit); ValueError."""
        if not isinstance(metric_data, list):
            raise ValueError("metrics must be a list of MetricDataDetails objects")
        for metric in metric_data:
            self.post(*self._validate_metric(metric, 0.0, service=True))

    def compartments(self) -> list[str]:
        """Every compartment holding metric data (compartmentIdInSubtree from the tenancy)."""
        with self._lock:
            return sorted({stream.compartment_id for stream in self._series})

    # -- metrics out --

    def _aggregation_window(self, series: list[Point], stamp: float, interval: int) -> list[Point]:
        """The datapoints a SummarizeMetricsData datapoint stamped `stamp` aggregates (see window_stamp)."""
        if self.window_stamp == "start":
            start = bisect.bisect_left(series, stamp, key=lambda p: p[0])
            end = bisect.bisect_left(series, stamp + interval, key=lambda p: p[0])
            return series[start:end]
        return self._window(series, stamp - interval, stamp)

    def _window(self, series: list[Point], low: float, high: float) -> list[Point]:
        """The datapoints with low < timestamp <= high (window_stamp "end": a window ends at, and includes, its label;
        not documented)."""
        start = bisect.bisect_right(series, low, key=lambda p: p[0])
        end = bisect.bisect_right(series, high, key=lambda p: p[0])
        return series[start:end]

    def _groups(self, compartment_id, namespace, query: Query, resource_group=None, compartments=None):
        """The raw series of the query, grouped into the query's streams: {key: (dimensions, [series])}."""
        cache_key = (compartment_id, namespace, query.text, resource_group, compartments)
        if cache_key in self._group_cache:
            return self._group_cache[cache_key]
        groups: dict[tuple, tuple[dict, list]] = {}
        for comp in compartments or (compartment_id,):
            for stream in self._by_metric.get((comp, namespace, query.metric), []):
                if resource_group is not None and stream.resource_group != resource_group:
                    continue
                dims = dict(stream.dimensions)
                if not query.matches(dims):
                    continue
                key_dims = query.stream_dimensions(dims)
                if key_dims is None:
                    continue
                entry = groups.setdefault(_stream_key(key_dims), (key_dims, []))
                entry[1].append(self._series[stream])
        self._group_cache[cache_key] = groups
        return groups

    def stream_values(self, compartment_id: str, namespace: str, query: Query, end: float) -> dict[tuple, tuple]:
        """The value of each of the query's streams over the window (end - interval, end]: {key: (dims, value)}."""
        with self._lock:
            out = {}
            for key, (dims, members) in self._groups(compartment_id, namespace, query).items():
                value = aggregate(query, [self._window(s, end - query.interval_seconds, end) for s in members])
                if value is not None:
                    out[key] = (dims, value)
            return out

    def summarize(self, compartment_id: str, details: dict, compartments: Iterable[str] | None = None) -> list[dict]:
        """SummarizeMetricsData: list of MetricData bodies (one per stream of the query with data in the range)."""
        if not isinstance(details, dict):
            raise _bad("SummarizeMetricsDataDetails must be a JSON object")
        unknown = sorted(set(details) - {"namespace", "resourceGroup", "query", "startTime", "endTime", "resolution"})
        if unknown:
            raise _bad(f"Unknown field(s) {', '.join(unknown)} in SummarizeMetricsDataDetails")
        namespace = details.get("namespace")
        if not isinstance(namespace, str) or not namespace.strip():
            raise _bad("namespace is required")
        try:
            query = parse_query(details.get("query"))
        except UnsupportedQuery as error:
            raise ApiError(400, "InvalidParameter", f"Not supported by the emulator: {error}") from None
        except ValueError as error:
            raise _bad(str(error)) from None
        now = self.wall_clock()
        try:
            start = parse_time(details["startTime"], "startTime") if details.get("startTime") else now - 3 * 3600
            end = parse_time(details["endTime"], "endTime") if details.get("endTime") else now
            resolution = details.get("resolution") or "1m"
            res_seconds = interval_seconds(resolution, "resolution")
        except ValueError as error:
            raise _bad(str(error)) from None
        if res_seconds > query.interval_seconds:
            raise _bad(f"resolution {resolution} must be equal to or less than the query interval {query.interval}")
        if end <= start:
            raise _bad("endTime must be after startTime")
        if end - start > _range_limit(res_seconds):
            days = _range_limit(res_seconds) // 86400
            raise _bad(f"the time range exceeds {days} days, the limit at resolution {resolution}")
        first = math.ceil(start / res_seconds) * res_seconds
        stamps = [t for t in range(int(first), math.ceil(end), res_seconds) if t < end]
        with self._lock:
            groups = self._groups(
                compartment_id, namespace, query, details.get("resourceGroup"), tuple(compartments or ())
            )
            if self.window_stamp == "start":  # [first stamp, last stamp + interval)
                low, high = math.nextafter(first, -math.inf), (stamps[-1] if stamps else first) + query.interval_seconds
            else:  # (first stamp - interval, end]
                low, high = start - query.interval_seconds, end
            groups = {k: (d, [self._window(s, low, high) for s in m]) for k, (d, m) in groups.items()}
            groups = {k: v for k, v in groups.items() if any(v[1])}
            if len(groups) > MAX_STREAMS:
                raise _bad(f"the query matches {len(groups)} metric streams: the limit is {MAX_STREAMS}")
            if len(groups) * len(stamps) > MAX_DATAPOINTS:
                raise _bad(
                    f"the answer would hold up to {len(groups) * len(stamps)} datapoints: the limit is "
                    f"{MAX_DATAPOINTS}; narrow the time range or raise the resolution"
                )
            out = []
            for key in sorted(groups):
                dims, members = groups[key]
                points = []
                for stamp in stamps:
                    windows = [self._aggregation_window(s, stamp, query.interval_seconds) for s in members]
                    value = aggregate(query, windows)
                    if value is None:
                        continue
                    if query.operator is not None:  # a predicate keeps the true values, as 1
                        if not query.breaches(value):
                            continue
                        value = 1.0
                    points.append({"timestamp": rfc3339(stamp), "value": value})
                if not points:
                    continue
                body = {
                    "namespace": namespace,
                    "compartmentId": compartment_id,
                    "name": query.metric,
                    "dimensions": dims,
                    "metadata": {},
                    "resolution": resolution,
                    "aggregatedDatapoints": points,
                }
                if details.get("resourceGroup"):
                    body["resourceGroup"] = details["resourceGroup"]
                out.append(body)
            return out

    # -- alarms --

    def query_of(self, alarm: dict) -> Query | None:
        """The alarm's parsed query, None if the emulator cannot evaluate it."""
        text = alarm.get("query")
        if text not in self._queries:
            try:
                self._queries[text] = parse_query(text)
            except ValueError:
                self._queries[text] = None
        return self._queries[text]

    def _state(self, alarm_id: str) -> AlarmState:
        return self._alarms.setdefault(alarm_id, AlarmState())

    def _slack(self, alarm: dict) -> float:
        if self.slack_seconds is not None:
            return self.slack_seconds
        try:
            return duration_seconds(alarm.get("evaluationSlackDuration") or "PT3M")
        except ValueError:
            return DEFAULT_SLACK_SECONDS

    def evaluate(self, alarms: Iterable[dict], now: float | None = None) -> list[dict]:
        """Evaluate every ACTIVE, enabled alarm once a minute: the first call evaluates an alarm at `now`, later calls
        at every whole minute after its last evaluation up to `now` (at most max_catch_up_minutes of them; a call
        less than a minute after the last evaluation does nothing). Returns the alarm messages Monitoring would
        publish, in order; delivers nothing."""
        now = self.wall_clock() if now is None else now
        messages = []
        with self._lock:
            for alarm in alarms:
                if alarm.get("lifecycleState", "ACTIVE") != "ACTIVE" or not alarm.get("isEnabled", True):
                    continue
                query = self.query_of(alarm)
                if query is None or query.operator is None:
                    continue
                state = self._state(alarm["id"])
                if state.last_evaluated is None:
                    instants = [now]
                else:
                    steps = math.floor((now - state.last_evaluated + 1e-6) / 60)
                    first = max(1, steps - self.max_catch_up_minutes + 1)
                    instants = [state.last_evaluated + 60 * i for i in range(first, steps + 1)]
                for t in instants:
                    messages.extend(self._evaluate_at(alarm, query, state, t))
                    state.last_evaluated = t
        return messages

    def _evaluate_at(self, alarm: dict, query: Query, state: AlarmState, t: float) -> list[dict]:
        end = t - self._slack(alarm)
        values = self.stream_values(
            alarm.get("metricCompartmentId") or alarm["compartmentId"], alarm["namespace"], query, end
        )
        pending = max(1, math.ceil(_duration_or(alarm.get("pendingDuration"), 60) / 60))
        repeat = _duration_or(alarm.get("repeatNotificationDuration"), 0)
        split = bool(alarm.get("isNotificationsPerMetricDimensionEnabled"))
        events: list[tuple[StreamState, str]] = []
        for key, (dims, value) in values.items():
            stream = state.streams.setdefault(key, StreamState(dims))
            stream.value, stream.last_data = value, t
            if query.breaches(value):
                stream.breaching += 1
                if stream.status == "OK" and stream.breaching >= pending:
                    self._set_stream(stream, "FIRING", end, t)
                    events.append((stream, "OK_TO_FIRING"))
                elif stream.status == "FIRING" and split and repeat and t - stream.last_notified >= repeat:
                    stream.last_notified = t
                    events.append((stream, "REPEAT"))
            else:
                stream.breaching = 0
                if stream.status == "FIRING":
                    self._set_stream(stream, "OK", end, t)
                    events.append((stream, "FIRING_TO_OK"))
        for key, stream in list(state.streams.items()):
            if key in values:
                continue
            if stream.status == "OK":  # no data: the pending count restarts (not documented)
                stream.breaching = 0
                if stream.transitioned is None:
                    del state.streams[key]
            elif self.reset_after_seconds is not None and t - (stream.last_data or stream.transitioned or t) >= (
                self.reset_after_seconds
            ):
                del state.streams[key]
                stream.status = "OK"
                events.append((stream, "RESET"))
        fresh = any(key in values and s.status == "FIRING" for key, s in state.streams.items())
        return self._publish(alarm, query, state, events, t, end, split, repeat if fresh else 0)

    @staticmethod
    def _set_stream(stream: StreamState, status: str, triggered: float, t: float) -> None:
        stream.status, stream.transitioned = status, triggered
        if status == "FIRING":
            stream.episode, stream.last_notified = int(t * 1000), t

    def _publish(self, alarm, query, state: AlarmState, events, t: float, end: float, split: bool, repeat) -> list:
        """Alarm-level status and history, then the messages: one per stream event (split), or one for the alarm
        (grouped: OK_TO_FIRING when the first stream fires, REPEAT while any fires, FIRING_TO_OK when the last
        clears; a stream that starts or stops firing in between shows in the next REPEAT: not documented).
        repeat is 0 when no FIRING stream had data in this evaluation: no REPEAT without data (not documented)."""
        firing = sorted(
            (s for s in state.streams.values() if s.status == "FIRING"), key=lambda s: _stream_key(s.dimensions)
        )
        was = state.status
        self._collective(alarm, state, bool(firing), t, end)
        if split:
            return [
                self._message(
                    alarm,
                    query,
                    kind,
                    [s],
                    int(kind in ("OK_TO_FIRING", "REPEAT")),
                    t,
                    f"{_tail(alarm['id'])}-{_stream_hash(s.dimensions)}-{s.episode}",
                    SPLIT,
                )
                for s, kind in events
            ]
        if was == "OK" and firing:
            state.last_notified = t
            return [
                self._message(alarm, query, "OK_TO_FIRING", firing, len(firing), t, self._key(alarm, state), GROUPED)
            ]
        if was == "FIRING" and not firing:
            cleared = [s for s, kind in events if kind in ("FIRING_TO_OK", "RESET")]
            kind = "FIRING_TO_OK" if any(k == "FIRING_TO_OK" for _, k in events) else "RESET"
            return [self._message(alarm, query, kind, cleared, 0, t, self._key(alarm, state), GROUPED)]
        if firing and repeat and t - state.last_notified >= repeat:
            state.last_notified = t
            self._history(alarm, state, "STATE_HISTORY", "The alarm state is FIRING", t, None, len(firing))
            return [self._message(alarm, query, "REPEAT", firing, len(firing), t, self._key(alarm, state), GROUPED)]
        return []

    def _collective(self, alarm: dict, state: AlarmState, firing: bool, t: float, triggered: float) -> None:
        """Alarm-level status (collective across streams) and its history entries."""
        new = "FIRING" if firing else "OK"
        if new == state.status:
            return
        old, state.status, state.transitioned = state.status, new, triggered
        if new == "FIRING":
            state.episode, state.last_notified = int(t * 1000), 0.0
        n = sum(s.status == "FIRING" for s in state.streams.values())
        names = {"OK": "OK", "FIRING": "Firing"}
        self._history(
            alarm,
            state,
            "STATE_TRANSITION_HISTORY",
            f"State transitioned from {names[old]} to {names[new]}",
            t,
            triggered,
            n,
        )
        self._history(alarm, state, "STATE_HISTORY", f"The alarm state is {new}", t, None, n)

    def _history(self, alarm, state: AlarmState, kind: str, summary: str, t: float, triggered, firing: int) -> None:
        if state.history and state.history[0]["timestamp"] < t - HISTORY_RETENTION_SECONDS:
            state.history = [e for e in state.history if e["timestamp"] >= t - HISTORY_RETENTION_SECONDS]
        state.history.append(
            {
                "type": kind,
                "summary": summary,
                "timestamp": t,
                "timestampTriggered": triggered,
                "alarmSummary": self._summary(alarm, state.status, firing),
            }
        )

    @staticmethod
    def _key(alarm: dict, state: AlarmState) -> str:
        return f"{_tail(alarm['id'])}-{state.episode}"

    @staticmethod
    def _summary(alarm: dict, status: str, firing: int) -> str:
        """The alarm's alarmSummary, else the wording of alarms/*.json (dynamic variables are not expanded)."""
        if alarm.get("alarmSummary"):
            return alarm["alarmSummary"]
        title = alarm.get("notificationTitle") or alarm.get("displayName")
        return (
            f'Alarm "{title}" is in a "{status}" state; because {firing} metrics meet the trigger rule: '
            f'"{alarm.get("query")}"'
        )

    def _message(self, alarm, query, kind, streams, firing, t, dedupe_key, notification_type) -> dict:
        status = "OK" if kind in ("FIRING_TO_OK", "RESET") else "FIRING"
        label = query.expression if query else alarm.get("query", "")
        region = REGIONS.get((alarm["id"].split(".") + ["", "", "", ""])[3], "us-ashburn-1")
        return {
            "dedupeKey": dedupe_key,
            "title": alarm.get("notificationTitle") or alarm.get("displayName"),
            "body": alarm.get("body"),
            "type": kind,
            "severity": alarm.get("severity"),
            "timestampEpochMillis": int(t * 1000),
            "timestamp": rfc3339(t),
            "alarmMetaData": [
                {
                    "id": alarm["id"],
                    "status": status,
                    "severity": alarm.get("severity"),
                    "namespace": alarm.get("namespace"),
                    "query": alarm.get("query"),
                    "totalMetricsFiring": firing,
                    "dimensions": [copy.deepcopy(s.dimensions) for s in streams],
                    "metricValues": [{label: f"{s.value:.2f}"} if s.value is not None else {} for s in streams],
                    "alarmUrl": f"https://cloud.oracle.com/monitoring/alarms/{alarm['id']}?region={region}",
                    "alarmSummary": self._summary(alarm, status, firing),
                }
            ],
            "notificationType": notification_type,
            "version": 1.5,
        }

    # -- state set by hand (seed, admin endpoints, tests) --

    def _check_stream(self, alarm: dict, dimensions) -> dict:
        if not isinstance(dimensions, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and k and v for k, v in dimensions.items()
        ):
            raise _bad("dimensions must be an object of non-empty strings")
        query = self.query_of(alarm)
        if query is None:
            return dict(dimensions)
        if not query.matches(dimensions):
            raise _bad(f"dimensions {dimensions} do not match the filter of the alarm query {query.text!r}")
        if query.grouping == "grouping" and dimensions:
            raise _bad("the alarm query uses grouping(): its only stream has no dimensions ({})")
        if query.grouping == "groupBy" and set(dimensions) != set(query.group_keys):
            raise _bad(f"the alarm query groups by {', '.join(query.group_keys)}: give exactly those dimensions")
        return dict(dimensions)

    def set_stream(
        self, alarm: dict, dimensions: dict, status: str, t: float | None = None, value: float | None = None
    ) -> dict:
        """Force one stream of an alarm to FIRING or OK at t (default now), with history, and return the message
        Monitoring would send for it: OK_TO_FIRING (REPEAT if it was already FIRING) or FIRING_TO_OK. A grouped
        alarm's message lists every FIRING stream (FIRING_TO_OK: the stream cleared)."""
        if status not in ("FIRING", "OK"):
            raise _bad(f"status must be FIRING or OK, got {status!r}")
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
        ):
            raise _bad(f"value must be a finite number, got {value!r}")
        dimensions = self._check_stream(alarm, dimensions)
        t = self.wall_clock() if t is None else t
        with self._lock:
            state = self._state(alarm["id"])
            key = _stream_key(dimensions)
            stream = state.streams.get(key)
            if status == "OK" and (stream is None or stream.status != "FIRING"):
                raise ApiError(409, "IncorrectState", f"the stream {dimensions} of alarm {alarm['id']} is not FIRING")
            stream = state.streams.setdefault(key, StreamState(dimensions))
            if value is not None:
                stream.value = float(value)
            kind = (
                "REPEAT"
                if status == stream.status == "FIRING"
                else ("OK_TO_FIRING" if status == "FIRING" else "FIRING_TO_OK")
            )
            if kind != "REPEAT":
                self._set_stream(stream, status, t, t)
            stream.last_notified = t
            stream.breaching = 0
            firing = sorted(
                (s for s in state.streams.values() if s.status == "FIRING"), key=lambda s: _stream_key(s.dimensions)
            )
            self._collective(alarm, state, bool(firing), t, t)
            state.last_notified = t
            query = self.query_of(alarm)
            if alarm.get("isNotificationsPerMetricDimensionEnabled"):
                return self._message(
                    alarm,
                    query,
                    kind,
                    [stream],
                    int(status == "FIRING"),
                    t,
                    f"{_tail(alarm['id'])}-{_stream_hash(dimensions)}-{stream.episode}",
                    SPLIT,
                )
            listed = firing if status == "FIRING" else [stream]
            return self._message(alarm, query, kind, listed, len(firing), t, self._key(alarm, state), GROUPED)

    def load_states(self, alarms: dict[str, dict], entries) -> None:
        """Seed key "alarmStates": [{"alarmId", "dimensions", "status", "timestamp" (RFC 3339), "value"?}]."""
        if not isinstance(entries, list):
            raise ValueError("alarmStates must be a list")
        for entry in sorted(entries, key=lambda e: parse_time(e["timestamp"], "alarmStates timestamp")):
            alarm = alarms.get(entry["alarmId"])
            if alarm is None:
                raise ValueError(f"alarmStates: unknown alarm {entry['alarmId']}")
            try:
                dims = self._check_stream(alarm, entry["dimensions"])
            except ApiError as error:
                raise ValueError(f"alarmStates for {entry['alarmId']}: {error.message}") from None
            if entry["status"] not in ("FIRING", "OK"):
                raise ValueError(f"alarmStates status must be FIRING or OK, got {entry['status']!r}")
            t = parse_time(entry["timestamp"], "alarmStates timestamp")
            with self._lock:
                state = self._state(alarm["id"])
                stream = state.streams.setdefault(_stream_key(dims), StreamState(dims))
                if entry.get("value") is not None:
                    stream.value = float(entry["value"])
                self._set_stream(stream, entry["status"], t, t)
                firing = any(s.status == "FIRING" for s in state.streams.values())
                self._collective(alarm, state, firing, t, t)
                state.last_notified = max(state.last_notified, t)

    def dump_states(self) -> list[dict]:
        with self._lock:
            out = []
            for alarm_id, state in self._alarms.items():
                for stream in state.streams.values():
                    if stream.transitioned is None:
                        continue
                    entry = {
                        "alarmId": alarm_id,
                        "dimensions": copy.deepcopy(stream.dimensions),
                        "status": stream.status,
                        "timestamp": rfc3339(stream.transitioned),
                    }
                    if stream.value is not None:
                        entry["value"] = stream.value
                    out.append(entry)
            return out

    # -- alarm state out (GetAlarmHistory, RetrieveDimensionStates, ListAlarmsStatus) --

    def history(
        self,
        alarm: dict,
        alarm_historytype=None,
        timestamp_greater_than_or_equal_to=None,
        timestamp_less_than=None,
        page=None,
        limit=None,
    ) -> tuple[dict, str | None]:
        """AlarmHistoryCollection, newest entry first (order not documented), and the next page token."""
        kinds = ("STATE_HISTORY", "STATE_TRANSITION_HISTORY", "RULE_HISTORY", "RULE_TRANSITION_HISTORY")
        if alarm_historytype not in (None, "", *kinds):
            raise _bad(f"alarmHistorytype must be one of {', '.join(kinds)}")
        try:
            low = (
                None
                if timestamp_greater_than_or_equal_to in (None, "")
                else parse_time(timestamp_greater_than_or_equal_to, "timestampGreaterThanOrEqualTo")
            )
            high = None if timestamp_less_than in (None, "") else parse_time(timestamp_less_than, "timestampLessThan")
        except ValueError as error:
            raise _bad(str(error)) from None
        oldest = self.wall_clock() - HISTORY_RETENTION_SECONDS
        with self._lock:
            entries = [
                e
                for e in reversed(self._alarms.get(alarm["id"], AlarmState()).history)
                if e["timestamp"] >= oldest
                and (not alarm_historytype or e["type"] == alarm_historytype)  # RULE_*: no overrides, no entries
                and (low is None or e["timestamp"] >= low)
                and (high is None or e["timestamp"] < high)
            ]
        items, next_page = page_items(entries, page, limit)
        out = []
        for e in items:
            item = {"alarmSummary": e["alarmSummary"], "summary": e["summary"], "timestamp": rfc3339(e["timestamp"])}
            if e["timestampTriggered"] is not None:
                item["timestampTriggered"] = rfc3339(e["timestampTriggered"])
            out.append(item)
        return {"alarmId": alarm["id"], "isEnabled": alarm.get("isEnabled", True), "entries": out}, next_page

    def dimension_states(self, alarm: dict, details: dict | None = None, page=None, limit=None):
        """AlarmDimensionStatesCollection: every stream that has transitioned, with its current status."""
        details = details or {}
        if not isinstance(details, dict) or set(details) - {"dimensionFilters", "status"}:
            raise _bad("RetrieveDimensionStatesDetails takes dimensionFilters and status only")
        filters, status = details.get("dimensionFilters"), details.get("status")
        if filters is not None and (
            not isinstance(filters, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in filters.items())
        ):
            raise _bad("dimensionFilters must map dimension names to string values")
        if status not in (None, "FIRING", "OK"):
            raise _bad(f"status must be FIRING or OK, got {status!r}")
        split = bool(alarm.get("isNotificationsPerMetricDimensionEnabled"))
        with self._lock:
            streams = (
                []
                if self.dimension_states_split_only and not split
                else [
                    s
                    for s in self._alarms.get(alarm["id"], AlarmState()).streams.values()
                    if s.transitioned is not None
                    and (
                        not filters or s.dimensions == filters
                    )  # "the exact set of specified dimension key-value pairs"
                    and status in (None, s.status)
                ]
            )
            streams.sort(key=lambda s: _stream_key(s.dimensions))
            items = [
                {
                    "alarmSummary": self._summary(alarm, s.status, int(s.status == "FIRING")),
                    "dimensions": copy.deepcopy(s.dimensions),
                    "status": s.status,
                    "ruleName": alarm.get("ruleName") or "BASE",
                    "timestamp": rfc3339(s.transitioned),
                }
                for s in streams
            ]
        page_of, next_page = page_items(items, page, limit)
        body = {
            "alarmId": alarm["id"],
            "isEnabled": alarm.get("isEnabled", True),
            "isNotificationsPerMetricDimensionEnabled": split,
            "items": page_of,
        }
        return body, next_page

    def alarms_status(
        self,
        alarms: Iterable[dict],
        display_name=None,
        sort_by=None,
        sort_order=None,
        resource_id=None,
        service_name=None,
        entity_id=None,
        status=None,
        page=None,
        limit=None,
    ):
        """list[AlarmStatusSummary] of the given (already compartment-filtered) alarms, and the next page token.

        resourceId / serviceName / entityId keep the alarms having a tracked stream with that dimension value
        (or, for resourceId, naming it in the query filter); status then applies to those streams only (an
        interpretation: the docstring says "only metric streams that match the specified status")."""
        if status not in (None, "", "FIRING", "OK"):
            raise _bad(f"status must be FIRING or OK, got {status!r}")
        if sort_by not in (None, "", "displayName", "severity"):
            raise _bad(f"sortBy must be displayName or severity, got {sort_by!r}")
        if sort_order not in (None, "", "ASC", "DESC"):
            raise _bad(f"sortOrder must be ASC or DESC, got {sort_order!r}")
        wanted = {
            k: v for k, v in (("resourceId", resource_id), ("serviceName", service_name), ("entityId", entity_id)) if v
        }
        now = self.wall_clock()
        out = []
        with self._lock:
            for alarm in alarms:
                if alarm.get("lifecycleState", "ACTIVE") == "DELETED":
                    continue
                if display_name and alarm.get("displayName") != display_name:
                    continue
                state = self._alarms.get(alarm["id"], AlarmState())
                streams = list(state.streams.values())
                if wanted:
                    streams = [s for s in streams if all(s.dimensions.get(k) == v for k, v in wanted.items())]
                    query = self.query_of(alarm)
                    named = (
                        query is not None
                        and set(wanted) == {"resourceId"}
                        and query.equal_filters.get("resourceId") == resource_id
                    )
                    if not streams and not named:
                        continue
                firing = [s for s in streams if s.status == "FIRING"]
                current = "FIRING" if firing else "OK"
                triggered = max(s.transitioned for s in firing) if wanted and firing else state.transitioned
                suppression = alarm.get("suppression")
                if suppression and _suppressed(suppression, now):
                    current = "SUSPENDED"
                if status and current != status:
                    continue
                if triggered is None:  # never transitioned: not documented, the creation time is used
                    triggered = _maybe_time(alarm.get("timeCreated")) or now
                item = {
                    "id": alarm["id"],
                    "displayName": alarm.get("displayName"),
                    "severity": alarm.get("severity"),
                    "ruleName": alarm.get("ruleName") or "BASE",
                    "timestampTriggered": rfc3339(triggered),
                    "alarmSummary": self._summary(alarm, current, len(firing)),
                    "status": current,
                }
                if suppression:
                    item["suppression"] = copy.deepcopy(suppression)
                out.append(item)
        rank = {"CRITICAL": 0, "ERROR": 1, "WARNING": 2, "INFO": 3}
        key = (lambda a: rank.get(a["severity"], 9)) if sort_by == "severity" else (lambda a: a["displayName"] or "")
        out.sort(key=key, reverse=sort_order == "DESC")
        return page_items(out, page, limit)

    def status_of(self, alarm_id: str, dimensions: dict | None = None) -> str:
        """Collective status of an alarm, or of one of its streams (OK if never seen)."""
        with self._lock:
            state = self._alarms.get(alarm_id, AlarmState())
            if dimensions is None:
                return state.status
            stream = state.streams.get(_stream_key(dimensions))
            return stream.status if stream else "OK"


def _duration_or(text, default: float) -> float:
    if not text:
        return default
    try:
        return duration_seconds(text)
    except ValueError:
        return default


def _tail(alarm_id: str) -> str:
    return alarm_id.rsplit(".", 1)[-1]


def _maybe_time(value) -> float | None:
    try:
        return parse_time(value) if value else None
    except ValueError:
        return None


def _suppressed(suppression: dict, now: float) -> bool:
    start, until = _maybe_time(suppression.get("timeSuppressFrom")), _maybe_time(suppression.get("timeSuppressUntil"))
    return start is not None and until is not None and start <= now <= until
