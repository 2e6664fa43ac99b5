"""Shared constants and helpers of the emulator tests (a uniquely named module, importable from the tests)."""

import json
import urllib.error
import urllib.request
from pathlib import Path

import oci

SEED = json.loads((Path(__file__).resolve().parents[2] / "emulator" / "seed.json").read_text())
DEMO = "ocid1.compartment.oc1..demo"
OTHER = "ocid1.compartment.oc1..other"
DEMO1 = "ocid1.datasciencemodeldeployment.oc1.iad.demo1"
DEMO2 = "ocid1.datasciencemodeldeployment.oc1.iad.demo2"
NATIVE = "ocid1.datasciencemodeldeployment.oc1.iad.native"
DEMO1_CPU = "ocid1.alarm.oc1.iad.demo1highcpu"
DEMO_ALARMS = sum(alarm["compartmentId"] == DEMO for alarm in SEED["alarms"])
DEMO_DEPLOYMENTS = [md["id"] for md in SEED["modelDeployments"] if md["compartmentId"] == DEMO]  # in seed order


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def http(url: str, method: str = "GET", body=None, headers: dict | None = None):
    """Plain HTTP (no signer): returns (status, headers, parsed JSON body or None)."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status, resp_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, resp_headers, raw = error.code, error.headers, error.read()
    return status, resp_headers, json.loads(raw) if raw else None


def make_clients(url: str, signer, **kwargs):
    # The SDK's default circuit breaker is shared by every client in the process: keep it out of unrelated tests.
    kwargs.setdefault("retry_strategy", oci.retry.NoneRetryStrategy())
    kwargs.setdefault("circuit_breaker_strategy", oci.circuit_breaker.NoCircuitBreakerStrategy())
    ds = oci.data_science.DataScienceClient({}, signer=signer, service_endpoint=url, **kwargs)
    mon = oci.monitoring.MonitoringClient({}, signer=signer, service_endpoint=url, **kwargs)
    return ds, mon
