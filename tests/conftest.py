"""Shared fixtures: the demo seed, a Store, the SDK clients replaced by stateful fakes."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import oci
import pytest

from autoscaler.constants import OWNER_TAG
from autoscaler.handler import gateway_for
from autoscaler.messages import parse_message
from autoscaler.oci_gateway import OciGateway
from autoscaler.settings import load_settings
from emulator.sdk_fakes import FakeDataScienceClient, FakeMonitoringClient
from emulator.store import Store

ROOT = Path(__file__).parents[1]
ALARMS = ROOT / "alarms"
SEED = json.loads((ROOT / "emulator" / "seed.json").read_text())
DEMO = "ocid1.compartment.oc1..demo"
DEMO1 = "ocid1.datasciencemodeldeployment.oc1.iad.demo1"
DEMO2 = "ocid1.datasciencemodeldeployment.oc1.iad.demo2"
BASE_ENV = {"AUTOSCALE_COMPARTMENT_ALLOWLIST": DEMO, "AUTOSCALE_AUTH": "resource_principal"}


def emulator_env(url: str, **extra: str) -> dict[str, str]:
    """The function's config for the emulator at `url` (the real SDK over HTTP)."""
    return {
        "AUTOSCALE_COMPARTMENT_ALLOWLIST": DEMO,
        "AUTOSCALE_AUTH": "emulator",
        "AUTOSCALE_DATA_SCIENCE_ENDPOINT": url,
        "AUTOSCALE_MONITORING_ENDPOINT": url,
        **extra,
    }


def alarm_message(name: str, **changes) -> dict:
    body = json.loads((ALARMS / name).read_text())
    body.update(changes)
    return body


@pytest.fixture
def seed() -> dict:
    return copy.deepcopy(SEED)


@pytest.fixture
def store(seed) -> Store:
    return Store.from_seed(seed)


class _RegionSigner:
    region = "us-ashburn-1"


@pytest.fixture
def fake_oci(mocker, store):
    """Patch the SDK so the real gateway talks to stateful fakes over `store`."""
    clients = {}

    def data_science(config, **kwargs):
        return clients.setdefault("data_science", FakeDataScienceClient(store, config, **kwargs))

    def monitoring(config, **kwargs):
        return clients.setdefault("monitoring", FakeMonitoringClient(store, config, **kwargs))

    mocker.patch.object(oci.data_science, "DataScienceClient", side_effect=data_science)
    mocker.patch.object(oci.monitoring, "MonitoringClient", side_effect=monitoring)
    mocker.patch.object(oci.auth.signers, "get_resource_principals_signer", return_value=_RegionSigner())
    gateway_for.cache_clear()
    yield clients
    gateway_for.cache_clear()


@pytest.fixture
def env(monkeypatch):
    """Set the function's config as the Fn platform does: environment variables."""

    def apply(**overrides):
        for key, value in {**BASE_ENV, **overrides}.items():
            monkeypatch.setenv(key, str(value))
        return load_settings()

    for key, value in BASE_ENV.items():
        monkeypatch.setenv(key, value)
    return apply


@pytest.fixture
def run(fake_oci, env):
    """handle_message with the real gateway over the fakes; returns the outcomes as dicts."""
    from autoscaler.service import handle_message

    def invoke(message: dict | str, now: float = 1_763_900_030.0, **config):
        settings = env(**config)
        gateway = OciGateway.from_settings(settings)
        body = message if isinstance(message, str) else json.dumps(message)
        return [o.as_dict() for o in handle_message(parse_message(body), settings, gateway, now)]

    return invoke


def deployment(store: Store, deployment_id: str = DEMO1) -> dict:
    body, _ = store.get_model_deployment(deployment_id)
    return body


def capacity(store: Store, deployment_id: str = DEMO1) -> tuple[int, str, float | None]:
    model = deployment(store, deployment_id)["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    instance = model["instanceConfiguration"]
    shape_config = instance.get("modelDeploymentInstanceShapeConfigDetails") or {}
    return model["scalingPolicy"]["instanceCount"], instance["instanceShapeName"], shape_config.get("ocpus")


def owned_low_alarms(store: Store, metric: str = "cpu", deployment_id: str = DEMO1) -> list[dict]:
    name = f"model_deployment_low_{metric}-{deployment_id}"
    alarms = store.list_alarms(DEMO, display_name=name)
    return [a for a in alarms if a["lifecycleState"] == "ACTIVE" and (a.get("freeformTags") or {}).get(OWNER_TAG)]
