"""func.handler through fdk's own in-process call path, with every sample in alarms/."""

import asyncio
import json
import logging

import pytest
from fdk import fixtures

import func
from tests.conftest import ALARMS, capacity

EXPECTED = {  # file -> (HTTP status, outcome statuses in order)
    "high_cpu.json": (200, ["applied"]),
    "high_cpu_per_instance.json": (200, ["applied"]),  # a user-written per-instance alarm: +1, not sized
    "high_cpu_repeat.json": (200, ["applied"]),  # first delivery on a fresh deployment: no cooldown yet
    "high_cpu_firing_to_ok.json": (200, ["acknowledged"]),
    "high_mem.json": (200, ["applied"]),
    "low_cpu.json": (200, ["refused"]),  # the low alarm does not exist until a scale-up creates it
    "low_mem.json": (200, ["refused"]),
    "multi_deployment_high_cpu.json": (200, ["applied", "applied"]),
    "native_autoscaling_high_cpu.json": (200, ["noop"]),
    "spoofed_other_compartment.json": (200, ["refused"]),
    "spoofed_wrong_deployment.json": (200, ["refused"]),
    "spoofed_unknown_alarm.json": (200, ["refused"]),
    "spoofed_title_mismatch.json": (200, ["refused"]),
    "high_gpu.json": (200, ["applied"]),  # GPU-bound deployment: 1 -> ceil(1 x 93.5 / 60) = 2 instances
    "low_gpu.json": (200, ["refused"]),  # its low alarm does not exist until a scale-up creates it
    "high_latency.json": (200, ["applied"]),  # 1450 ms over the 1000 ms SLO: one step out
    "high_requests.json": (200, ["applied"]),  # 2100/min at 600/min per instance: 2 -> 4
    "low_requests.json": (200, ["refused"]),  # the function's low request alarm exists but OCI shows it OK
    "malformed_unknown_title.json": (400, None),
    "malformed_missing_fields.json": (400, None),
    "malformed_metric_value.json": (400, None),
    "malformed_foreign_resource.json": (400, None),
    "malformed_not_json.json": (400, None),
}


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(json.loads(record.getMessage()))


@pytest.fixture
def log_lines():
    capture = Lines()
    logger = logging.getLogger("autoscaler")
    logger.addHandler(capture)
    yield capture.lines
    logger.removeHandler(capture)


def invoke(body: bytes):
    async def call():
        return await (await fixtures.setup_fn_call(func.handler, content=body))

    data, status, headers = asyncio.run(call())
    return status, data


def test_every_sample_is_covered():
    assert set(EXPECTED) == {path.name for path in ALARMS.glob("*.json")}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_through_fdk(name, fake_oci, env, store, log_lines):
    status, data = invoke((ALARMS / name).read_bytes())
    expected_status, expected_outcomes = EXPECTED[name]
    assert status == expected_status
    body = json.loads(data)
    if expected_outcomes is None:
        assert body["status"] == "rejected" and body["reason"]
        assert store.calls == []  # rejected before any OCI call
        assert log_lines == [body]
        return
    assert [o["status"] for o in body["outcomes"]] == expected_outcomes
    assert [line["status"] for line in log_lines] == expected_outcomes  # one log line per deployment
    for line in log_lines:
        for key in ("alarm_id", "deployment_id", "before", "after", "action", "reason", "dry_run", "duration_ms"):
            assert key in line


def test_applied_sample_changed_the_deployment(fake_oci, env, store):
    invoke((ALARMS / "high_cpu.json").read_bytes())
    assert capacity(store)[0] == 2


def test_empty_body_is_rejected(fake_oci, env, store):
    status, data = invoke(b"")
    assert status == 400 and "empty body" in json.loads(data)["reason"]


def test_invalid_config_fails_loudly_naming_the_key(fake_oci, env, store, monkeypatch, log_lines):
    monkeypatch.setenv("AUTOSCALE_MAX_INSTANCES", "lots")
    status, data = invoke((ALARMS / "high_cpu.json").read_bytes())
    assert status == 502
    assert log_lines[0]["status"] == "config_error" and "AUTOSCALE_MAX_INSTANCES" in log_lines[0]["reason"]
    assert store.calls == []


def test_outage_makes_fdk_answer_502_so_notifications_redelivers(fake_oci, env, store, log_lines):
    invoke((ALARMS / "high_cpu_firing_to_ok.json").read_bytes())  # warm: clients exist
    from autoscaler.handler import gateway_for
    from autoscaler.settings import load_settings

    gateway_for(load_settings()).data_science.fail_next("GetModelDeployment", 503, count=1)
    status, _ = invoke((ALARMS / "high_cpu.json").read_bytes())
    assert status == 502 and log_lines[-1]["status"] == "error"
    assert capacity(store)[0] == 1
    status, _ = invoke((ALARMS / "high_cpu.json").read_bytes())
    assert status == 200 and capacity(store)[0] == 2
