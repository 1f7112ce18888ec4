"""Import of buying-group members: source import, precedence, rejected rows, idempotence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from role_model_factory import COMPANY_INTEREST as INTEREST
from role_model_factory import seed_company_crm
from sqlalchemy import Engine, func, select

from buying_groups.domain.group_views import GroupDetail
from buying_groups.generation.group_imports import GroupImportReport, GroupImportService
from buying_groups.generation.membership import MembershipService
from buying_groups.input_files import InputFileError
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups.storage.group_repository import GroupRepository
from buying_groups.storage.tables import EventRow
from buying_groups.storage.unit_of_work import SqlUnitOfWork

HEADER = "solution_interest,account_external_id,person_external_id,role,stage,status\n"


@pytest.fixture
def crm(engine: Engine) -> Engine:
    return seed_company_crm(engine)


def _row(person: str, role: str, account: str = "HQ", **more: Any) -> dict[str, Any]:
    return {
        "solution_interest": INTEREST,
        "account_external_id": account,
        "person_external_id": person,
        "role": role,
        **more,
    }


def _import(engine: Engine, source: Any) -> GroupImportReport:
    uow = SqlUnitOfWork(engine)
    return GroupImportService(uow, lambda: GroupRepository(uow.session)).run(source)


def _group(engine: Engine, account: str = "HQ") -> GroupDetail:
    with unit_of_work(make_session_factory(engine)) as session:
        return GroupRepository(session).get_group(account, INTEREST)


def _members(engine: Engine) -> set[tuple[str, str, str, bool]]:
    return {
        (m.person_external_id, m.role, m.source.value, m.is_removed)
        for m in _group(engine).member_list
    }


def _event_types(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(EventRow.type).order_by(EventRow.id)).scalars())


def test_rows_become_members_with_source_import_events_and_scores(crm: Engine) -> None:
    report = _import(crm, [_row("P1", "Decision Maker"), _row("P4", "Practitioner")])

    assert (report.inserted, report.updated, report.unchanged, report.rejected) == (2, 0, 0, [])
    assert _members(crm) == {
        ("P1", "Decision Maker", "import", False),
        ("P4", "Practitioner", "import", False),
    }
    assert _event_types(crm) == ["group.created", "member.assigned", "member.assigned"]
    assert _group(crm).completeness > 0


def test_the_same_file_twice_changes_nothing(crm: Engine, tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    path.write_text(
        HEADER
        + f"{INTEREST},HQ,P1,Decision Maker,,Working\n"
        + f"{INTEREST},HQ,P4,Practitioner,,\n"
        + f"{INTEREST},HQ,P7,Champion,,\n",  # another company: rejected both times
        encoding="utf-8",
    )
    first = _import(crm, path)
    members, events = _members(crm), _event_types(crm)
    second = _import(crm, path)

    assert (first.inserted, first.unchanged, len(first.rejected)) == (2, 0, 1)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 2)
    assert [r.line for r in second.rejected] == [4]
    assert _members(crm) == members and _event_types(crm) == events
    assert _group(crm).status == "Working"


def test_a_manual_member_and_a_removal_by_hand_are_kept_and_reported(crm: Engine) -> None:
    with unit_of_work(make_session_factory(crm)) as session:
        membership = MembershipService(SqlUnitOfWork.joining(session))
        membership.assign("HQ", INTEREST, "P1", "Decision Maker")
        membership.exclude("HQ", INTEREST, "P4", "Practitioner")
    before = _event_types(crm)

    report = _import(crm, [_row("P1", "Champion"), _row("P4", "Practitioner")])

    assert report.accepted == 0
    assert [(r.line, r.external_id, r.errors[0].field) for r in report.rejected] == [
        (1, "P1", "person_external_id"),
        (2, "P4", "person_external_id"),
    ]
    assert "manual" in report.rejected[0].errors[0].reason
    assert _members(crm) == {
        ("P1", "Decision Maker", "manual", False),
        ("P4", "Practitioner", "manual", True),
    }
    assert _event_types(crm) == before


def test_unknown_values_are_rejected_with_their_field(crm: Engine) -> None:
    rows = [
        _row("P1", "Decision Maker") | {"solution_interest": "Nope"},
        _row("P1", "Decision Maker", account="NOPE"),
        _row("NOPE", "Decision Maker"),
        _row("P1", "Astronaut"),
        _row("P1", "x" * 200),
        _row("P1", "Decision Maker", stage="Won"),  # the interest has no stage model
    ]
    report = _import(crm, rows)

    fields = [(r.line, r.errors[0].field) for r in report.rejected]
    assert fields == [
        (1, "solution_interest"),
        (2, "account_external_id"),
        (3, "person_external_id"),
        (4, "role"),
        (5, "role"),
        (6, "stage"),
    ]
    assert report.accepted == 0 and _event_types(crm) == []  # the refused stage rolled back
    assert all(len(r.errors[0].reason) <= 300 for r in report.rejected)


def test_a_row_changing_the_role_of_an_imported_member_updates_it(crm: Engine) -> None:
    _import(crm, [_row("P1", "Decision Maker")])
    report = _import(crm, [_row("P1", "Champion"), _row("P1", "Champion", status="Open")])

    assert (report.inserted, report.updated, report.unchanged) == (0, 2, 0)
    assert _members(crm) == {("P1", "Champion", "import", False)}
    assert _group(crm).status == "Open"


def test_an_unreadable_file_raises(crm: Engine, tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    path.write_text("account_external_id,role\nHQ,Champion\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="solution_interest"):
        _import(crm, path)
    with pytest.raises(InputFileError):
        _import(crm, tmp_path / "groups.txt")


def test_jsonl_rows_load(crm: Engine, tmp_path: Path) -> None:
    path = tmp_path / "groups.jsonl"
    path.write_text(
        '{"solution_interest": "Secure Edge", "account_external_id": "DE",'
        ' "person_external_id": "P4", "role": "Practitioner"}\n',
        encoding="utf-8",
    )
    assert _import(crm, path).inserted == 1
    with crm.connect() as conn:
        assert conn.execute(select(func.count()).select_from(EventRow)).scalar_one() == 2
