"""The buying-groups command line: imports, listings, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from buying_groups.settings import get_settings
from buying_groups_cli.main import EXIT_ROWS_REJECTED, app

runner = CliRunner()


@pytest.fixture
def database(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """Point the CLI's settings at the test database."""
    monkeypatch.setenv("BG_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield engine
    get_settings.cache_clear()


def _csv(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_every_command_has_help() -> None:
    for args in (
        ["--help"],
        ["import", "persons", "--help"],
        ["accounts", "list", "--help"],
        ["db", "upgrade", "--help"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, args
        assert "Usage" in result.output


def test_import_persons_reports_bad_rows_and_exit_code(database: Engine, tmp_path: Path) -> None:
    accounts = _csv(tmp_path / "a.csv", "external_id,name\nA1,Acme\n")
    assert runner.invoke(app, ["import", "accounts", accounts, "--json"]).exit_code == 0
    persons = _csv(
        tmp_path / "p.csv",
        "external_id,account_external_id,email\nP1,A1,p1@acme.example\nP2,A1,broken\nP3,ZZ,\n",
    )
    result = runner.invoke(app, ["import", "persons", persons, "--json"])

    assert result.exit_code == EXIT_ROWS_REJECTED
    report = json.loads(result.stdout)
    assert report["inserted"] == 1
    assert [(r["line"], r["errors"][0]["field"]) for r in report["rejected"]] == [
        (3, "email"),
        (4, "account_external_id"),
    ]
    listing = json.loads(
        runner.invoke(app, ["persons", "list", "--account", "A1", "--json"]).stdout
    )
    assert [p["external_id"] for p in listing["items"]] == ["P1"]


def test_missing_file_is_a_clear_error(database: Engine, tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", "accounts", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_api_key_create_list_revoke(database: Engine) -> None:
    created = runner.invoke(app, ["api-keys", "create", "--scopes", "read,write", "--json"])
    assert created.exit_code == 0, created.output
    key = json.loads(created.stdout)
    assert key["key"].startswith("bgk_") and key["scopes"] == ["read", "write"]
    assert runner.invoke(app, ["api-keys", "create", "--if-none"]).stdout.startswith("an active")
    listing = json.loads(runner.invoke(app, ["api-keys", "list", "--json"]).stdout)
    assert "key" not in listing[0] and listing[0]["prefix"] == key["prefix"]
    assert runner.invoke(app, ["api-keys", "revoke", key["prefix"]]).exit_code == 0
    bad = runner.invoke(app, ["api-keys", "create", "--scopes", "superuser"])
    assert bad.exit_code == 2 and "unknown scope" in bad.output


def test_generate_builds_groups_and_reports_json(database: Engine) -> None:
    from buying_groups_demo.seed import seed_demo

    seed_demo(database, "small", generate=False)
    args = ["generate", "--solution-interest", "Secure Edge", "--audience", "All accounts"]
    first = runner.invoke(app, [*args, "--json"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["state"] == "succeeded" and report["groups_created"] == 40
    again = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert (again["groups_created"], again["members_added"], again["members_removed"]) == (0, 0, 0)
    missing = runner.invoke(app, ["generate", "--solution-interest", "Nope", "--audience", "x"])
    assert missing.exit_code == 2 and "Nope" in missing.output
