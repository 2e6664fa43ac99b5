"""The service tests' tick: reconcile() with the real gateway over the fakes."""

from __future__ import annotations

import pytest

from autoscaler.oci_gateway import OciGateway
from autoscaler.reconcile import reconcile
from autoscaler.tick import ReconcileRequest

T0 = 1_763_900_030.0  # the sample alarms' time (+30 s)


@pytest.fixture
def tick(fake_oci, env):
    """reconcile() with the real gateway over the fakes; returns {deployment id: outcome dict}."""

    def invoke(now: float = T0, request: ReconcileRequest | None = None, **config) -> dict:
        settings = env(**config)
        gateway = OciGateway.from_settings(settings)
        return {o.deployment_id: o.as_dict() for o in reconcile(request, settings, gateway, now)}

    return invoke
