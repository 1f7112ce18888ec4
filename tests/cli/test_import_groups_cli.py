"""`buying-groups import groups`: exit codes 0, 3 and 2, and an idempotent second run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from role_model_factory import COMPANY_INTEREST as INTEREST
from role_model_factory import seed_company_crm
from sqlalchemy import Engine
from typer.testing import CliRunner

from buying_groups_cli.main import EXIT_ROWS_REJECTED, app

runner = CliRunner()
HEADER = "solution_interest,account_external_id,person_external_id,role\n"


@pytest.fixture
def crm(database: Engine) -> Engine:
    return seed_company_crm(database)


def _file(tmp_path: Path, *rows: str) -> str:
    path = tmp_path / "groups.csv"
    path.write_text(HEADER + "".join(f"{INTEREST},{r}\n" for r in rows), encoding="utf-8")
    return str(path)


def test_all_rows_loaded_exit_0_and_again_unchanged(crm: Engine, tmp_path: Path) -> None:
    path = _file(tmp_path, "HQ,P1,Decision Maker", "DE,P4,Practitioner")
    first = runner.invoke(app, ["import", "groups", path, "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) | {"rejected": []} == {
        "entity": "groups",
        "accepted": 2,
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": [],
    }
    second = runner.invoke(app, ["import", "groups", path])
    assert second.exit_code == 0
    assert "groups: 0 inserted, 0 updated, 2 unchanged, 0 rejected" in second.stdout


def test_some_rows_rejected_exit_3_naming_line_and_field(crm: Engine, tmp_path: Path) -> None:
    path = _file(tmp_path, "HQ,P1,Decision Maker", "HQ,P2,Astronaut")
    result = runner.invoke(app, ["import", "groups", path])
    assert result.exit_code == EXIT_ROWS_REJECTED
    assert "line 3 (P2): role: role 'Astronaut' does not exist" in result.stdout


def test_an_unreadable_file_exits_2(crm: Engine, tmp_path: Path) -> None:
    assert runner.invoke(app, ["import", "groups", str(tmp_path / "nope.csv")]).exit_code == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("role\nChampion\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "groups", str(bad)])
    assert result.exit_code == 2 and "solution_interest" in result.output
