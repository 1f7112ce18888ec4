"""Import boundaries: training and serving never import each other; the core imports neither."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "buying_groups": {"training", "serving", "buying_groups_cli", "notebooks", "fastapi"},
    "buying_groups/domain": {"sqlalchemy", "alembic", "fastapi", "mlflow", "serving", "training"},
    "buying_groups/scores": {"sqlalchemy", "fastapi", "mlflow"},
    "training": {"serving", "buying_groups_cli", "notebooks", "fastapi"},
    "serving": {"training", "buying_groups_cli", "notebooks"},
}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_its_import_boundary(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_packages(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {f: names for f, names in offenders.items() if names} == {}


def test_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("import serving.app\nfrom training import cli\n", encoding="utf-8")
    assert _imported_packages(module) == {"serving", "training"}
