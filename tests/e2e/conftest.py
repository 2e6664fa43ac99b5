"""The stories' stack: the emulator and the function under fdk, one per test module; a fresh seed per test."""

import pytest

from demo.stack import Stack
from tests.conftest import SEED

# OCI's tenancy limits on, and every call as slow as a region's (tens of milliseconds here, to keep the stories short;
# bench/fleet.py runs at 150 ms).
E2E_EMULATOR = ("--limits", "--latency", "0.02", "0.06")


@pytest.fixture(scope="module")
def stack():
    config = {
        "AUTOSCALE_SCALE_UP_COOLDOWN_SECONDS": "0",
        "AUTOSCALE_SCALE_DOWN_COOLDOWN_SECONDS": "0",
        "AUTOSCALE_UPDATE_SECONDS": "0",  # send() waits for every update: no reading is the old capacity's
    }
    with Stack(update_delay=0.2, emulator_args=E2E_EMULATOR, **config) as running:
        yield running


@pytest.fixture
def oci(stack):
    """A fresh seed and no faults before every story."""
    stack.admin("POST", "/_emulator/reset", SEED)
    stack.admin("DELETE", "/_emulator/faults")
    return stack
