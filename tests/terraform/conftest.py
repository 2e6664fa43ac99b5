"""Fixtures for the Terraform module tests: paths, the provider schema and the parsed module.

python-hcl2 builds its grammar on first use (seconds): everything parses once per session.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infra import check_terraform as ct
from tests.terraform.parsed import EXAMPLE_DIR, MODULE_DIR, Module


@pytest.fixture(scope="session")
def module_dir() -> Path:
    return MODULE_DIR


@pytest.fixture(scope="session")
def example_dir() -> Path:
    return EXAMPLE_DIR


@pytest.fixture(scope="session")
def schema() -> dict:
    return ct.load_schema()


@pytest.fixture(scope="session")
def checker(schema) -> ct.Checker:
    return ct.Checker(schema)


@pytest.fixture(scope="session")
def module() -> Module:
    return Module(ct.parse_module(MODULE_DIR))


@pytest.fixture(scope="session")
def example() -> Module:
    return Module(ct.parse_module(EXAMPLE_DIR))


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
