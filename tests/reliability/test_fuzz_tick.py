"""Hostile reconcile bodies through the fdk handler: no crash, a reason for every refusal, and no authority.

The tick's body names no deployment and no capacity. Whatever a caller with invoke rights sends, the OCI state
afterwards is either untouched or exactly what the canonical tick would have made of it (what the policy wants
anyway): never a third state.
"""

import asyncio
import json
from collections import Counter

from fdk import fixtures
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import func
from tests.conftest import DEMO
from tests.reliability.test_fuzz import any_json

EXAMPLES = 3_000
CANONICAL = {"type": "RECONCILE", "version": 1}
COMPARTMENTS = [
    DEMO,
    "ocid1.compartment.oc1..elsewhere",
    "ocid1.tenancy.oc1..root",
    "ocid1.compartment.oc1..demo ",
    "OCID1.COMPARTMENT.OC1..DEMO",
    "ocid1.compartment.oc1.." + "a" * 300,
    "",
]


@st.composite
def near_ticks(draw):
    """The canonical body with one part changed, an extra key, a wrapper, or blown up."""
    document = dict(CANONICAL)
    change = draw(st.sampled_from(["version", "type", "extra", "compartments", "drop", "wrap", "huge", "deep"]))
    if change == "version":
        document["version"] = draw(st.one_of(any_json, st.sampled_from([0, 2, "1", 1.0, True, None, -1])))
    elif change == "type":
        document["type"] = draw(st.sampled_from(["reconcile", "RECONCILE ", ["RECONCILE"], "RECONCILE\u200b", "OK"]))
    elif change == "extra":
        key = draw(st.sampled_from(["deployment", "capacity", "instanceCount", "dryRun", "compartmentId", "x"]))
        document[key] = draw(any_json)
    elif change == "compartments":
        document["compartments"] = draw(
            st.one_of(st.lists(st.sampled_from(COMPARTMENTS), max_size=60), any_json, st.just([]))
        )
    elif change == "drop":
        del document[draw(st.sampled_from(sorted(document)))]
    elif change == "wrap":
        inner = json.dumps(document)
        forms = [json.dumps(inner), json.dumps([inner]), json.dumps([document]), "\ufeff" + inner]
        wrapped = draw(st.sampled_from(forms))
        return wrapped.encode()
    elif change == "huge":
        document["compartments"] = [DEMO] * draw(st.integers(1, 3_000))
    else:
        depth = draw(st.integers(50, 5_000))
        return json.dumps({**document, "x": "@"}).replace('"@"', "[" * depth + "]" * depth).encode()
    return json.dumps(document).encode()


valid_subsets = st.lists(st.sampled_from(COMPARTMENTS[:3]), min_size=1, max_size=5).map(
    lambda compartments: json.dumps({**CANONICAL, "compartments": compartments}).encode()
)
bodies = st.one_of(
    near_ticks(),
    valid_subsets,
    any_json.map(lambda value: json.dumps({"type": "RECONCILE", "payload": value}).encode()),
    st.binary(max_size=256).map(lambda raw: b'{"type": "RECONCILE", ' + raw),
    st.text(max_size=100).map(lambda text: ('"RECONCILE"' + text).encode()),
)


def snapshot(store) -> tuple:
    """What a tick may change: each deployment's capacity, and the ACTIVE alarms (name and query)."""
    state = store.dump()
    capacity = sorted(
        (md["id"], json.dumps(md["modelDeploymentConfigurationDetails"], sort_keys=True))
        for md in state["modelDeployments"]
    )
    alarms = sorted((a["displayName"], a["query"]) for a in state["alarms"] if a["lifecycleState"] == "ACTIVE")
    return capacity, alarms


def test_hostile_ticks_never_crash_and_carry_no_authority(fake_oci, env, store, seed):
    loop = asyncio.new_event_loop()

    async def call(body):
        return await (await fixtures.setup_fn_call(func.handler, content=body))

    initial = snapshot(store)
    loop.run_until_complete(call(json.dumps(CANONICAL).encode()))
    canonical = snapshot(store)
    assert canonical != initial  # the seed has something to reconcile: the property below is not vacuous
    seen = Counter()

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(body=bodies)
    def check(body):
        store.load(seed)
        data, status, _ = loop.run_until_complete(call(body))
        assert status in (200, 400), data  # 502 would mean an unhandled exception
        answer = json.loads(data)
        after = snapshot(store)
        assert after in (initial, canonical), body[:300]
        if answer.get("status") == "rejected":
            assert answer["reason"]
            seen["rejected"] += 1
        elif answer.get("status") == "summary":
            assert all(o["reason"] or o["status"] in ("applied", "repaired", "noop") for o in answer["outcomes"])
            seen["tick" if after == canonical else "tick, nothing done"] += 1
        else:
            seen["alarm path: " + ",".join(sorted({o["status"] for o in answer["outcomes"]}))] += 1
            assert after == initial

    try:
        check()
    finally:
        loop.close()
    assert seen["rejected"] > EXAMPLES / 3 and seen["tick"] > 100 and seen["tick, nothing done"] > 10
    print(f"fuzzed {sum(seen.values())} reconcile bodies: {dict(seen)}")
