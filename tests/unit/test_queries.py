"""queries.condition(): the trigger condition and granularity of a verified alarm's MQL query."""

import pytest

from autoscaler.constants import alarm_query
from autoscaler.queries import condition

MD = "ocid1.datasciencemodeldeployment.oc1.iad.x"


@pytest.mark.parametrize(
    ("query", "operator", "threshold", "per_deployment", "direction"),
    [
        (alarm_query("cpu", MD, ">", 75), ">", 75, True, "up"),
        (alarm_query("mem", MD, "<", 27.5), "<", 27.5, True, "down"),
        (f'CpuUtilization[1m]{{resourceId = "{MD}"}}.mean() > 80', ">", 80, False, "up"),  # the 2022 form
        (f'CpuUtilization[5m]{{resourceId = "{MD}"}}.grouping().max() >= 90', ">=", 90, True, "up"),
        ("CpuUtilization[1m].groupBy(resourceId).mean() <= 10", "<=", 10, True, "down"),
        ("CpuUtilization[1m].groupBy(instanceId).mean() > 1e1", ">", 10, False, "up"),
        ("MemoryUtilization[1m].mean() == 50", "==", 50, False, None),
    ],
)
def test_condition_reads_the_trigger_and_the_granularity(query, operator, threshold, per_deployment, direction):
    rule = condition(query)
    assert (rule.operator, rule.threshold, rule.per_deployment, rule.direction) == (
        operator,
        threshold,
        per_deployment,
        direction,
    )


@pytest.mark.parametrize("query", ["CpuUtilization[1m].mean().absent()", "CpuUtilization[1m].mean() in (1, 2)", ""])
def test_a_query_without_a_numeric_trigger_has_no_condition(query):
    assert condition(query) is None


@pytest.mark.parametrize(
    ("query", "value", "holds"),
    [
        ("X > 75", 75.01, True),
        ("X > 75", 75.0, True),  # values arrive rounded to 2 decimals: 75.004 prints as 75.00
        ("X > 75", 74.98, False),
        ("X > 75", 12.5, False),
        ("X < 20", 19.0, True),
        ("X < 20", 20.0, True),
        ("X < 20", 20.02, False),
        ("X >= 90", 89.0, False),
    ],
)
def test_holds_allows_only_the_rounding_of_the_message(query, value, holds):
    assert condition(query).holds(value) is holds
