"""Logs carry decisions, never signer material, credentials or whole payloads."""

import asyncio
import copy
import logging

import pytest
from fdk import fixtures

import func
from autoscaler.handler import gateway_for
from emulator import Store, serve_in_thread
from tests.conftest import ALARMS, SEED, emulator_env


class Everything(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append((record.levelno, record.name, record.getMessage()))


@pytest.fixture
def captured(monkeypatch):
    store = Store.from_seed(copy.deepcopy(SEED))
    url, stop = serve_in_thread(store)
    for key, value in emulator_env(url).items():
        monkeypatch.setenv(key, value)
    gateway_for.cache_clear()
    handler = Everything()
    root, ours = logging.getLogger(), logging.getLogger("autoscaler")
    old_level = root.level
    root.setLevel(logging.DEBUG)  # as fdk sets it in the cloud
    root.addHandler(handler)
    ours.addHandler(handler)
    yield handler.records
    root.removeHandler(handler)
    ours.removeHandler(handler)
    root.setLevel(old_level)
    gateway_for.cache_clear()
    stop()


def invoke(body: bytes):
    async def call():
        return await (await fixtures.setup_fn_call(func.handler, content=body))

    return asyncio.run(call())


def test_no_secrets_or_payloads_in_the_logs(captured):
    for name in ("high_cpu.json", "high_mem.json", "malformed_unknown_title.json", "spoofed_unknown_alarm.json"):
        invoke((ALARMS / name).read_bytes())
    invoke(b'{"title": "model_deployment_high_cpu", "password": "hunter2", "privateKey": "-----BEGIN RSA')
    assert any(name == "autoscaler" for _, name, _ in captured)  # the decisions are logged
    everything = "\n".join(message for _, _, message in captured)
    for secret in ("BEGIN RSA", "PRIVATE KEY", "keyId=", "Signature ", "hunter2", "ST$emulator"):
        assert secret not in everything, secret
    info_and_up = "\n".join(message for level, _, message in captured if level >= logging.INFO)
    for payload_part in ("outside the autoscaler's band", "alarmSummary", "metricValues", "dedupeKey"):
        assert payload_part not in info_and_up, payload_part
