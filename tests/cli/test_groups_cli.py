"""Group commands: filters, sorting, pages, detail, summary, stage and status, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from group_factories import SECURITY, add_account, add_configuration, add_group, add_member
from role_model_factory import COMPANY_INTEREST, seed_company_crm
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from buying_groups.settings import get_settings
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups_cli.main import app

runner = CliRunner()


@pytest.fixture
def groups(database: Engine) -> Engine:
    """Three Secure Edge groups: A1 complete, A2 without a Decision Maker, A3 empty."""
    with unit_of_work(make_session_factory(database)) as session:
        add_configuration(session)
        for account in ("A1", "A2", "A3"):
            add_account(session, account, name=f"Company {account}")
        full = {"Decision Maker": 1, "Influencer": 1, "Practitioner": 2, "Champion": 1}
        a1 = add_group(session, "A1", SECURITY, full, engagement=70, stage="Identified")
        add_group(session, "A2", SECURITY, full | {"Decision Maker": 0}, engagement=40)
        add_group(session, "A3", SECURITY, {}, engagement=10, status="cold")
        add_member(session, a1, "P1", "Decision Maker", evidence={"rule": "ciso"}, confidence=0.8)
    return database


def _run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def _json(*args: str) -> Any:
    result = _run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _listed(*args: str) -> list[str]:
    return [g["account_external_id"] for g in _json("groups", "list", *args)["items"]]


def test_every_groups_command_has_help() -> None:
    click_group = typer.main.get_command(app).commands["groups"]  # type: ignore[attr-defined]
    expected = {"list", "show", "summary", "recommend", "move-stage", "set-status"}
    assert expected <= set(click_group.commands)
    for command in [None, *click_group.commands]:
        result = _run("groups", *([command] if command else []), "--help")
        assert result.exit_code == 0, command
        assert "Usage" in result.stdout


def test_list_filters(groups: Engine) -> None:
    assert _listed() == ["A1", "A2", "A3"]
    assert _listed("--solution-interest", SECURITY, "--missing-role", "Decision Maker") == [
        "A2",
        "A3",
    ]
    assert _listed("--missing-role", "Decision Maker", "--completeness-lt", "50") == ["A3"]
    assert _listed("--completeness-gte", "50") == ["A1", "A2"]
    assert _listed("--engagement-lt", "40") == ["A3"]
    assert _listed("--engagement-gte", "40") == ["A1", "A2"]
    assert _listed("--stage", "Identified") == ["A1"]
    assert _listed("--status", "cold") == ["A3"]
    assert _listed("--account", "A2") == ["A2"]
    assert _listed("--missing-role", "Champion", "--missing-role", "Influencer") == ["A3"]


def test_list_sorts_and_pages(groups: Engine) -> None:
    assert _listed("--sort", "-engagement") == ["A1", "A2", "A3"]
    assert _listed("--sort", "completeness") == ["A3", "A2", "A1"]
    page = _json("groups", "list", "--sort", "-account", "--limit", "1", "--offset", "1")
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)
    assert [g["account_external_id"] for g in page["items"]] == ["A2"]


def test_list_json_items(groups: Engine) -> None:
    items = {g["account_external_id"]: g for g in _json("groups", "list")["items"]}
    assert items["A1"]["members"] == 1
    assert items["A1"]["completeness"] == 100
    assert items["A2"]["completeness"] == pytest.approx(200 / 3)
    assert items["A2"]["missing_roles"] == ["Decision Maker"]


def test_list_table_shows_rounded_scores(groups: Engine) -> None:
    result = _run("groups", "list", "--account", "A2")
    assert result.exit_code == 0
    assert "67" in result.stdout
    assert "66.6" not in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--missing-role", "Wizard"], "role 'Wizard' does not exist"),
        (["--solution-interest", "Nothing"], "solution interest 'Nothing' does not exist"),
        (["--sort", "size"], "cannot sort groups by 'size'"),
        (["--completeness-gte", "60", "--completeness-lt", "50"], "completeness_gte"),
    ],
)
def test_bad_filters_exit_2_with_a_message(groups: Engine, args: list[str], message: str) -> None:
    result = _run("groups", "list", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_out_of_range_score_is_refused_by_the_option(groups: Engine) -> None:
    result = _run("groups", "list", "--completeness-lt", "150")
    assert result.exit_code == 2


def test_show_a_group(groups: Engine) -> None:
    group = _json("groups", "show", "A1", "--solution-interest", SECURITY)
    assert group["template_name"] == "Security"
    assert [r["role"] for r in group["roles"]][:2] == ["Decision Maker", "Influencer"]
    member = group["member_list"][0]
    assert (member["person_external_id"], member["source"]) == ("P1", "rule")
    assert member["evidence"] == {"rule": "ciso"}
    text = _run("groups", "show", "A1", "--solution-interest", SECURITY).stdout
    assert "Company A1" in text
    assert "ciso" in text


def test_show_needs_an_existing_group(groups: Engine) -> None:
    result = _run("groups", "show", "A9", "--solution-interest", SECURITY)
    assert result.exit_code == 2
    assert "account 'A9' does not exist" in result.stderr
    assert _run("groups", "show", "A1").exit_code == 2  # --solution-interest is required


def test_summary(groups: Engine) -> None:
    summary = _json("groups", "summary", "--solution-interest", SECURITY)
    assert summary["groups"] == 3
    assert summary["mean_completeness"] == pytest.approx((100 + 200 / 3 + 0) / 3)
    assert summary["mean_engagement"] == pytest.approx(40)
    assert [b["groups"] for b in summary["histogram"]] == [1, 0, 1, 1]
    decision_maker = summary["roles"][0]
    assert decision_maker["role"] == "Decision Maker"
    assert decision_maker["groups_missing"] == 2
    assert decision_maker["mean_completeness"] == pytest.approx(100 / 3)
    assert decision_maker["mean_engagement_of_missing"] == pytest.approx(25)
    text = _run("groups", "summary", "--solution-interest", SECURITY).stdout
    assert "75-100" in text
    assert "groups missing it" in text


def test_move_stage(groups: Engine) -> None:
    moved = _json("groups", "move-stage", "A1", "Engaged", "--solution-interest", SECURITY)
    assert moved["stage"] == "Engaged"
    refused = _run("groups", "move-stage", "A1", "Won", "--solution-interest", SECURITY)
    assert refused.exit_code == 2
    assert "moving from stage 'Engaged' to stage 'Won' is not allowed" in refused.stderr
    assert _listed("--stage", "Engaged") == ["A1"]


def test_set_status(groups: Engine) -> None:
    result = _run("groups", "set-status", "A2", "call back", "--solution-interest", SECURITY)
    assert result.exit_code == 0
    assert "status is now call back" in result.stdout
    too_long = _run("groups", "set-status", "A2", "x" * 51, "--solution-interest", SECURITY)
    assert too_long.exit_code == 2
    assert "at most 50" in too_long.stderr
    assert _listed("--status", "call back") == ["A2"]
    cleared = _json("groups", "set-status", "A3", "", "--solution-interest", SECURITY)
    assert cleared["status"] is None


def test_recommend_ranks_candidates_for_missing_roles(
    database: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BG_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    get_settings.cache_clear()
    seed_company_crm(database)
    args = ("groups", "recommend", "HQ", "--solution-interest", COMPANY_INTEREST)
    answer = _json(*args)
    assert answer["model_version"] is None and answer["group_exists"] is False
    roles = {r["role"]: r for r in answer["roles"]}
    assert roles["Decision Maker"]["missing"] == 1
    assert [c["person_external_id"] for c in roles["Decision Maker"]["candidates"]] == ["P3", "P1"]
    table = _run(*args, "--role", "Practitioner", "--no-hierarchy")
    assert table.exit_code == 0, table.output
    assert "rules only (no role model)" in table.stdout
    assert "Practitioner: 0/1 assigned, 1 missing" in table.stdout
    assert "P4" not in table.stdout  # in a division, left out without --hierarchy
    bad = _run(*args, "--role", "Astronaut")
    assert bad.exit_code == 2 and "Astronaut" in bad.output
    unknown = _run("groups", "recommend", "NOPE", "--solution-interest", COMPANY_INTEREST)
    assert unknown.exit_code == 2 and "NOPE" in unknown.output
