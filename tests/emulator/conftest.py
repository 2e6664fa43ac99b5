"""Fixtures: one emulator server for the session, reset to the seed before every test, and real SDK clients."""

from types import SimpleNamespace

import oci
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from emu_helpers import SEED, FakeClock, http, make_clients

from emulator import Store, serve_in_thread


@pytest.fixture(scope="session")
def server():
    store = Store()
    url, stop = serve_in_thread(store)
    yield SimpleNamespace(url=url, store=store)
    stop()


@pytest.fixture
def emu(server):
    """The session's emulator, reset to the seed, with a fake clock and a 10 s update delay."""
    clock = FakeClock()
    store = server.store
    store.clock, store.update_delay_seconds = clock, 10.0
    status, _, _ = http(server.url + "/_emulator/reset", "POST", SEED)
    assert status == 200

    def admin(method: str, path: str, body=None):
        return http(server.url + "/_emulator" + path, method, body)

    return SimpleNamespace(url=server.url, store=store, clock=clock, admin=admin)


@pytest.fixture(scope="session")
def signer():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return oci.auth.signers.SecurityTokenSigner("emulator-test-token", key)


@pytest.fixture(scope="session")
def clients(server, signer):
    return make_clients(server.url, signer)


@pytest.fixture
def ds(emu, clients):
    return clients[0]


@pytest.fixture
def mon(emu, clients):
    return clients[1]
