"""Configuration commands: apply a document, create/list/show/delete entities, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from group_factories import add_account
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups_cli.main import app
from buying_groups_demo.seed import DEMO_CONFIGURATION

runner = CliRunner()

TEMPLATE = {
    "name": "Security",
    "description": "Who buys security",
    "cards": [
        {
            "role": "Decision Maker",
            "weighting": "Vital",
            "conditions": {"attribute": "job_title", "operator": "contains", "value": "ciso"},
        },
        {"role": "Practitioner", "members_required": 2},
    ],
}
STAGES = {
    "name": "Journey",
    "stages": [
        {"name": "New", "kind": "entry", "next": ["Won"]},
        {"name": "Won", "kind": "success"},
    ],
}


def _run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def _json(*args: str) -> Any:
    result = _run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _file(path: Path, data: dict[str, Any]) -> str:
    text = json.dumps(data) if path.suffix == ".json" else yaml.safe_dump(data)
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "group",
    ["config", "templates", "solution-interests", "audiences", "stage-models"],
)
def test_every_configuration_command_has_help(group: str) -> None:
    result = _run(group, "--help")
    assert result.exit_code == 0
    click_group = typer.main.get_command(app).commands[group]  # type: ignore[attr-defined]
    commands = list(click_group.commands)
    assert commands
    for command in commands:
        help_ = _run(group, command, "--help")
        assert help_.exit_code == 0, (group, command)
        assert "Usage" in help_.stdout


def test_config_apply_loads_the_demo_document(database: Engine) -> None:
    counts = _json("config", "apply", str(DEMO_CONFIGURATION))
    assert counts["role_templates"] == 2
    assert counts["stage_models"] == 1
    names = [t["name"] for t in _json("templates", "list")]
    assert names == ["Data platform buying group", "Security buying group"]
    assert [m["name"] for m in _json("stage-models", "list")] == ["Standard B2B journey"]
    interests = _json("solution-interests", "list")
    assert {i["name"] for i in interests} >= {"Secure Edge", "Data Cloud"}


def test_config_apply_is_one_transaction_and_names_the_entity(
    database: Engine, tmp_path: Path
) -> None:
    document = {
        "stage_models": [STAGES],
        "role_templates": [TEMPLATE, {**TEMPLATE, "name": "Broken", "cards": [{"role": "Wizard"}]}],
    }
    result = _run("config", "apply", _file(tmp_path / "c.yaml", document))
    assert result.exit_code == 2
    assert "role_templates[1] ('Broken')" in result.stderr
    assert "cards[0].role" in result.stderr
    assert "Wizard" in result.stderr
    # The stage model and the first template were rolled back with the rest.
    assert _json("stage-models", "list") == []
    assert _json("templates", "list") == []


def test_config_apply_lists_every_invalid_field(database: Engine, tmp_path: Path) -> None:
    bad_card = {"role": "Influencer", "weighting": "Huge", "members_required": 0}
    document = {"role_templates": [{"name": "T", "cards": [bad_card]}], "colour": "red"}
    result = _run("config", "apply", _file(tmp_path / "c.json", document))
    assert result.exit_code == 2
    assert "role_templates[0] ('T').cards[0].weighting: unknown weighting 'Huge'" in result.stderr
    assert "role_templates[0] ('T').cards[0].members_required" in result.stderr
    assert "colour: Extra inputs are not permitted" in result.stderr


def test_unreadable_files_are_clear_errors(database: Engine, tmp_path: Path) -> None:
    missing = _run("templates", "create", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
    (tmp_path / "list.yaml").write_text("- a\n- b\n", encoding="utf-8")
    not_an_object = _run("config", "apply", str(tmp_path / "list.yaml"))
    assert not_an_object.exit_code == 2
    assert "expected an object" in not_an_object.stderr


def test_template_life_cycle(database: Engine, tmp_path: Path) -> None:
    created = _json("templates", "create", _file(tmp_path / "t.yaml", TEMPLATE))
    assert created["status"] == "draft"
    assert created["cards"][0]["weighting"] == 100
    shown = _json("templates", "show", "Security")
    assert [c["role"] for c in shown["cards"]] == ["Decision Maker", "Practitioner"]
    assert shown["cards"][0]["conditions"] == TEMPLATE["cards"][0]["conditions"]
    assert _json("templates", "publish", "Security")["status"] == "live"
    refused = _run("templates", "delete", "Security")
    assert refused.exit_code == 2
    assert "live and cannot be deleted" in refused.stderr
    assert _json("templates", "copy", "Security", "Security v2")["status"] == "draft"
    assert _json("templates", "delete", "Security v2") == {"deleted": "Security v2"}
    assert [t["name"] for t in _json("templates", "list")] == ["Security"]


def test_template_file_errors_name_the_field(database: Engine, tmp_path: Path) -> None:
    invalid = _run("templates", "create", _file(tmp_path / "t.json", {"cards": []}))
    assert invalid.exit_code == 2
    assert "name: Field required" in invalid.stderr
    unknown_role = {"name": "T", "cards": [{"role": "Wizard"}]}
    refused = _run("templates", "create", _file(tmp_path / "u.json", unknown_role))
    assert refused.exit_code == 2
    assert "role template 'T': cards[0].role: role 'Wizard' does not exist" in refused.stderr


def test_human_output_of_templates(database: Engine, tmp_path: Path) -> None:
    assert _run("templates", "create", _file(tmp_path / "t.yaml", TEMPLATE)).exit_code == 0
    shown = _run("templates", "show", "Security")
    assert shown.exit_code == 0
    assert "Vital (100)" in shown.stdout
    assert "Security" in _run("templates", "list").stdout


def test_solution_interest_life_cycle(database: Engine, tmp_path: Path) -> None:
    _json("templates", "create", _file(tmp_path / "t.yaml", {**TEMPLATE, "status": "live"}))
    _json("stage-models", "create", _file(tmp_path / "s.yaml", STAGES))
    interest = {"name": "Secure Edge", "role_template": "Security", "stage_model": "Journey"}
    created = _json("solution-interests", "create", _file(tmp_path / "i.yaml", interest))
    assert created["stage_model"] == "Journey"
    assert _json("solution-interests", "show", "Secure Edge")["role_template"] == "Security"
    assert "Secure Edge" in _run("solution-interests", "show", "Secure Edge").stdout
    assert _json("solution-interests", "delete", "Secure Edge") == {"deleted": "Secure Edge"}
    missing = _run("solution-interests", "show", "Secure Edge")
    assert missing.exit_code == 2
    assert "solution interest 'Secure Edge' does not exist" in missing.stderr


def test_interest_needs_a_live_template(database: Engine, tmp_path: Path) -> None:
    _json("templates", "create", _file(tmp_path / "t.yaml", TEMPLATE))
    interest = {"name": "Secure Edge", "role_template": "Security"}
    refused = _run("solution-interests", "create", _file(tmp_path / "i.yaml", interest))
    assert refused.exit_code == 2
    assert "must be live" in refused.stderr


def test_stage_model_validation_is_reported(database: Engine, tmp_path: Path) -> None:
    broken = {"name": "J", "stages": [{"name": "A", "kind": "entry", "next": ["B"]}, {"name": "B"}]}
    result = _run("stage-models", "create", _file(tmp_path / "s.yaml", broken))
    assert result.exit_code == 2
    assert "stages" in result.stderr or "stage" in result.stderr
    created = _json("stage-models", "create", _file(tmp_path / "ok.yaml", STAGES))
    assert [s["name"] for s in created["stages"]] == ["New", "Won"]
    assert _json("stage-models", "show", "Journey")["stages"][0]["next"] == ["Won"]
    assert "may move to" in _run("stage-models", "show", "Journey").stdout


def test_audiences_and_preview(database: Engine, tmp_path: Path) -> None:
    with unit_of_work(make_session_factory(database)) as session:
        add_account(session, "BIG", employees=5000)
        add_account(session, "BIG-EU", parent="BIG", employees=10)
        add_account(session, "SMALL", employees=10)
    audience = {
        "name": "Large",
        "kind": "filter",
        "filter": {"employees_gte": 1000, "include_children": True},
    }
    _json("audiences", "create", _file(tmp_path / "a.yaml", audience))
    static = {"name": "Listed", "account_external_ids": ["SMALL", "GONE"]}
    _json("audiences", "create", _file(tmp_path / "s.json", static))
    assert [a["name"] for a in _json("audiences", "list")] == ["Large", "Listed"]
    assert _json("audiences", "show", "Large")["filter"]["employees_gte"] == 1000
    preview = _json("audiences", "preview", "Large")
    assert preview["total"] == 2
    assert [a["external_id"] for a in preview["accounts"]] == ["BIG", "BIG-EU"]
    assert _json("audiences", "preview", "Listed", "--limit", "1")["total"] == 1
    assert "Large: 2 accounts" in _run("audiences", "preview", "Large").stdout


def test_audience_file_must_match_its_kind(database: Engine, tmp_path: Path) -> None:
    audience = {"name": "X", "kind": "filter"}
    result = _run("audiences", "create", _file(tmp_path / "a.yaml", audience))
    assert result.exit_code == 2
    assert "a filter audience needs a filter" in result.stderr
    with make_session_factory(database)() as session:
        assert ConfigurationRepository(session).list_audiences() == []
