"""The parsed files of a Terraform module, indexed the way the tests look things up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from infra import check_terraform as ct

REPO = Path(__file__).resolve().parents[2]
MODULE_DIR = REPO / "infra" / "terraform"
EXAMPLE_DIR = MODULE_DIR / "examples" / "complete"


@dataclass(frozen=True)
class Module:
    """The parsed files of one module, indexed the way the tests look things up."""

    files: dict[Path, dict]

    def _labelled(self, kind: str) -> dict[str, dict]:
        return {name: body for tree in self.files.values() for name, body in ct.labelled(tree.get(kind, []))}

    @property
    def variables(self) -> dict[str, dict]:
        return self._labelled("variable")

    @property
    def outputs(self) -> dict[str, dict]:
        return self._labelled("output")

    @property
    def modules(self) -> dict[str, dict]:
        return self._labelled("module")

    @property
    def locals(self) -> dict[str, object]:
        return {
            key: value
            for tree in self.files.values()
            for entry in tree.get("locals", [])
            for key, value in ct.body_items(entry)
        }

    def resource(self, rtype: str, name: str) -> dict:
        for tree in self.files.values():
            for found_type, found_name, body in ct.labelled2(tree.get("resource", [])):
                if (found_type, found_name) == (rtype, name):
                    return body
        raise KeyError(f"{rtype}.{name}")

    def resources(self) -> list[tuple[str, str, dict]]:
        return [entry for tree in self.files.values() for entry in ct.labelled2(tree.get("resource", []))]
