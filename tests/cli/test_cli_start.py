"""The CLI starts without the heavy libraries: only the command that needs one imports it."""

from __future__ import annotations

import subprocess
import sys

import pytest

#: Seconds of import each (torch, scikit-learn, MLflow ~2 s; pandas, SQLAlchemy ~0.3 s).
HEAVY = (
    "torch",
    "sklearn",
    "mlflow",
    "sentence_transformers",
    "matplotlib",
    "pandas",
    "sqlalchemy",
)

_LOADED_AFTER = """
import sys
{run}
heavy = {heavy!r}
print("loaded:" + ",".join(sorted(m for m in heavy if m in sys.modules)))
"""
_HELP = """
from buying_groups_cli.main import app
try:
    app(["{command}", "--help"] if "{command}" else ["--help"], prog_name="buying-groups")
except SystemExit:
    pass
"""


def _heavy_modules_after(run: str) -> list[str]:
    code = _LOADED_AFTER.format(run=run, heavy=HEAVY)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = result.stdout.rpartition("loaded:")[2].strip()
    return [m for m in loaded.split(",") if m]


def test_importing_the_cli_imports_no_heavy_library() -> None:
    assert _heavy_modules_after("import buying_groups_cli.main") == []


@pytest.mark.parametrize("command", ["", "import", "generate", "train", "groups", "config"])
def test_help_imports_no_heavy_library(command: str) -> None:
    assert _heavy_modules_after(_HELP.format(command=command)) == []
