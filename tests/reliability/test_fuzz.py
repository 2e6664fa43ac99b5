"""Hostile input: 10,000+ generated messages through the fdk handler: no crash, no write, a reason each time."""

import asyncio
import json
import math
from collections import Counter

from fdk import fixtures
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import func
from autoscaler.tick import parse_tick
from emulator.monitoring import parse_query, parse_time
from tests.conftest import ALARMS, SEED

EXAMPLES = 10_000
SAMPLES = [json.loads(path.read_text()) for path in sorted(ALARMS.glob("*.json")) if "malformed_not" not in path.name]
TITLES = [
    "model_deployment_high_cpu",
    "model_deployment_low_cpu",
    "model_deployment_high_mem",
    "model_deployment_low_mem",
    "model_deployment_high_gpu",
    "model_deployment_low_gpu",
    "model_deployment_high_requests",
    "model_deployment_low_requests",
    "model_deployment_high_latency",
]
# The values each metric can take (docs "Model Deployment Metrics": utilizations are percentages, the request count
# and the latency in milliseconds are not negative), written here, not imported from the function it judges.
RANGES = {
    "CpuUtilization": (0, 100),
    "MemoryUtilization": (0, 100),
    "GPUCoreUtilization": (0, 100),
    "PredictRequestCount": (0, math.inf),
    "PredictLatency": (0, math.inf),
}
WRITES = {"UpdateModelDeployment", "CreateAlarm", "DeleteAlarm", "UpdateAlarm"}

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40))
any_json = st.recursive(
    json_leaf,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=40,
)
near_titles = st.sampled_from(TITLES).flatmap(
    lambda t: st.sampled_from(
        [t.upper(), t + " ", " " + t, t.replace("_", "-"), t + "\u200b", t.replace("o", "\u043e"), t[:-1], t + "s"]
    )
)
wrong_ocids = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "ocid1.alarm.oc1.iad.doesnotexist",
            "ocid1.alarm.oc1.iad.otherhighcpu",
            "ocid1.instance.oc1.iad.abc",
            "ocid1.datasciencemodeldeployment.oc1.iad.nope",
            "ocid1.datasciencemodeldeployment.oc1.iad.other",
            "ocid1.alarm.oc1.iad.req1lowrequests",  # ours, real, but OK in OCI
            "ocid1.datasciencemodeldeployment.oc1.iad.gpu1",
            "ocid1.alarm.oc1.iad." + "a" * 300,
            "OCID1.ALARM.OC1.IAD.DEMO1HIGHCPU",
        ]
    ),
)


FIRING = {  # alarm id -> (deployment -> epoch millis since which the seed shows its stream FIRING)
    state["alarmId"]: {} for state in SEED["alarmStates"] if state["status"] == "FIRING"
}
for state in SEED["alarmStates"]:
    if state["status"] == "FIRING":
        FIRING[state["alarmId"]][state["dimensions"].get("resourceId")] = parse_time(state["timestamp"]) * 1000


def _genuine(document) -> set[str]:
    """The deployments of the message that may be acted on: a real alarm of ours with its real title, FIRING for
    that deployment at the message's time, with a value its metric can have that meets the alarm's own trigger
    (checked with the emulator's MQL parser, not the function's). Each deployment of a message is judged on its
    own."""
    real = {}
    for alarm in SEED["alarms"]:
        title = alarm.get("notificationTitle") or alarm["displayName"]
        real[alarm["id"]] = (title, alarm["query"])
    if document.get("type") not in ("OK_TO_FIRING", "REPEAT"):
        return set()
    genuine = set()
    for meta in document["alarmMetaData"]:
        title, query = real.get(meta["id"], (None, ""))
        if title != document["title"]:
            continue
        rule = parse_query(query)
        values = meta.get("metricValues") or []
        for index, dimension in enumerate(meta["dimensions"]):
            named = rule.equal_filters.get("resourceId")
            if named is not None and dimension["resourceId"] != named:
                continue
            since = FIRING.get(meta["id"], {}).get(dimension["resourceId"])
            if since is None or document["timestampEpochMillis"] < since:
                continue
            numbers = [float(raw) for raw in (values[index] if index < len(values) else {}).values()]
            # values arrive rounded to 2 decimals: within 0.01 of the threshold counts as meeting it
            low, high = RANGES[rule.metric]
            if all(low <= v <= high and any(rule.breaches(v + d) for d in (-0.01, 0, 0.01)) for v in numbers[:1]):
                genuine.add(dimension["resourceId"])
    return genuine


def _set_path(document, path, value):
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _paths(document, prefix=()):
    yield prefix
    if isinstance(document, dict):
        for key, value in document.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _paths(value, (*prefix, index))


@st.composite
def mutated_samples(draw):
    """A real-shaped message with one part replaced, deleted, blown up or deeply nested."""
    document = json.loads(json.dumps(draw(st.sampled_from(SAMPLES))))
    path = draw(st.sampled_from([p for p in _paths(document) if p]))
    change = draw(st.sampled_from(["replace", "delete", "huge_string", "huge_array", "deep", "title", "ocid"]))
    if change == "delete":
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
    elif change == "replace":
        _set_path(document, path, draw(any_json))
    elif change == "huge_string":
        _set_path(document, path, "x" * draw(st.integers(1_000, 300_000)))
    elif change == "huge_array":
        _set_path(document, path, [{"resourceId": "ocid1.datasciencemodeldeployment.oc1.iad.demo1"}] * 5_000)
    elif change == "deep":
        depth = draw(st.integers(50, 5_000))
        _set_path(document, path, "@DEEP@")
        return json.dumps(document).replace('"@DEEP@"', "[" * depth + "]" * depth).encode()
    elif change == "title":
        document["title"] = draw(near_titles)
    else:
        document["alarmMetaData"][0]["id" if draw(st.booleans()) else "dimensions"] = draw(wrong_ocids)
    return json.dumps(document).encode()


bodies = st.one_of(
    mutated_samples(),
    any_json.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=512),
    st.just(b""),
    st.text(max_size=200).map(lambda text: text.encode("utf-16")),
)


def test_hostile_messages_never_crash_or_write(fake_oci, env, store, seed):
    seen = Counter()
    loop = asyncio.new_event_loop()

    async def call(body):
        return await (await fixtures.setup_fn_call(func.handler, content=body))

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(body=bodies)
    def check(body):
        store.load(seed)  # every message meets the same OCI state
        data, status, _ = loop.run_until_complete(call(body))
        assert status in (200, 400), data  # 502 would mean an unhandled exception
        answer = json.loads(data)
        if parse_tick(body) is not None:  # a well-formed reconcile tick: what it may do is test_fuzz_tick.py's
            seen["reconcile tick"] += 1
            return
        if answer.get("status") == "rejected":
            assert answer["reason"]
            seen["rejected"] += 1
        else:
            statuses = {outcome["status"] for outcome in answer["outcomes"]}
            assert all(outcome["reason"] for outcome in answer["outcomes"])
            assert statuses <= {"refused", "acknowledged", "noop", "applied"}, answer
            seen["answered: " + ",".join(sorted(statuses))] += 1
        writes = [c for c in store.calls if c[0] in WRITES]
        if writes or "applied" in str(data):
            # Only a firing alarm of ours, with its real title and a value it can have, may act on a deployment.
            genuine = _genuine(json.loads(body))
            assert genuine, body[:500]
            updated = {resource for operation, resource in writes if operation == "UpdateModelDeployment"}
            applied = {o["deployment_id"] for o in answer.get("outcomes", []) if o["status"] == "applied"}
            assert updated | applied <= genuine, body[:500]

    try:
        check()
    finally:
        loop.close()
    assert sum(seen.values()) >= EXAMPLES
    print(f"fuzzed {sum(seen.values())} messages: {dict(seen)}")
