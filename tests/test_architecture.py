"""Import boundaries are import-linter contracts in pyproject.toml, checked by `lint-imports`
in `make test`; these tests keep the contracts there and show the checker catches a breach."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def test_serving_and_training_are_independent() -> None:
    independent = [c["modules"] for c in _contracts() if c["type"] == "independence"]
    assert ["serving", "training"] in independent


def test_the_domain_may_not_import_frameworks() -> None:
    forbidden = {
        module
        for contract in _contracts()
        if contract["type"] == "forbidden" and "buying_groups.domain" in contract["source_modules"]
        for module in contract["forbidden_modules"]  # type: ignore[attr-defined]
    }
    assert {"sqlalchemy", "fastapi", "mlflow"} <= forbidden


def test_the_checker_fails_on_a_forbidden_import(tmp_path: Path) -> None:
    package = tmp_path / "core"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "domain.py").write_text("import sqlalchemy\n", encoding="utf-8")
    (tmp_path / "contracts.toml").write_text(
        '[tool.importlinter]\nroot_packages = ["core"]\ninclude_external_packages = true\n'
        '[[tool.importlinter.contracts]]\nname = "domain"\ntype = "forbidden"\n'
        'source_modules = ["core.domain"]\nforbidden_modules = ["sqlalchemy"]\n',
        encoding="utf-8",
    )
    checked = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", "contracts.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 1
    assert "core.domain -> sqlalchemy" in checked.stdout
