"""Import of accounts, persons and activities: upserts, rejections, hierarchy."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from buying_groups.imports.loader import import_accounts, import_activities, import_persons
from buying_groups.input_files import InputFileError
from buying_groups.storage.tables import AccountRow, ActivityRow, PersonRow


def _count(engine: Engine, table: type) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


ACCOUNTS_CSV = """\
external_id,name,domain,industry,employees,revenue,country,products_owned,parent_external_id
A1,Acme Group,acme.example,Manufacturing,5000,1e9,DE,Secure Edge;Data Cloud,
A2,Acme Security,acme.example,Manufacturing,300,2e7,DE,,A1
A3,Bad Employees,bad.example,Retail,lots,,FR,,
A4,Orphan,orphan.example,Retail,10,,FR,,NOPE
"""


def _load_accounts(engine: Engine, tmp_path: Path) -> None:
    report = import_accounts(engine, _write(tmp_path / "accounts.csv", ACCOUNTS_CSV))
    assert report.inserted == 2


def test_accounts_import_reports_bad_rows_with_line_and_field(
    engine: Engine, tmp_path: Path
) -> None:
    report = import_accounts(engine, _write(tmp_path / "accounts.csv", ACCOUNTS_CSV))

    assert report.accepted == 2
    rejected = {(r.line, r.errors[0].field) for r in report.rejected}
    assert rejected == {(4, "employees"), (5, "parent_external_id")}
    with engine.connect() as conn:
        child = conn.execute(select(AccountRow).where(AccountRow.external_id == "A2")).one()
        parent = conn.execute(select(AccountRow).where(AccountRow.external_id == "A1")).one()
    assert child.parent_id == parent.id
    assert parent.products_owned == ["Secure Edge", "Data Cloud"]


def test_child_listed_before_parent_is_linked(engine: Engine) -> None:
    frame = pd.DataFrame(
        [
            {"external_id": "C", "name": "Child", "parent_external_id": "P"},
            {"external_id": "P", "name": "Parent", "parent_external_id": None},
        ]
    )
    report = import_accounts(engine, frame)
    assert report.inserted == 2 and not report.rejected


def test_hierarchy_cycle_is_refused_and_stored_rows_stay(engine: Engine) -> None:
    import_accounts(
        engine,
        pd.DataFrame(
            [
                {"external_id": "X", "name": "X"},
                {"external_id": "Y", "name": "Y", "parent_external_id": "X"},
            ]
        ),
    )
    report = import_accounts(
        engine, pd.DataFrame([{"external_id": "X", "name": "X2", "parent_external_id": "Y"}])
    )

    assert report.accepted == 0
    assert "cycle" in report.rejected[0].errors[0].reason
    with engine.connect() as conn:
        name = conn.execute(
            select(AccountRow.name).where(AccountRow.external_id == "X")
        ).scalar_one()
    assert name == "X"


def test_reimport_updates_instead_of_duplicating(engine: Engine, tmp_path: Path) -> None:
    _load_accounts(engine, tmp_path)
    second = import_accounts(engine, pd.DataFrame([{"external_id": "A1", "name": "Acme Renamed"}]))
    assert (second.inserted, second.updated) == (0, 1)
    assert _count(engine, AccountRow) == 2


def test_persons_good_rows_load_and_bad_rows_are_reported(engine: Engine, tmp_path: Path) -> None:
    _load_accounts(engine, tmp_path)
    persons = _write(
        tmp_path / "persons.csv",
        "external_id,account_external_id,first_name,last_name,email,job_title,department,country,phone\n"
        "P1,A1,Ada,Lovelace,ada@acme.example,CISO,Security,DE,\n"
        "P2,A9,Bob,Unknown,bob@x.example,CTO,,DE,\n"
        "P3,A1,Cy,Bad,not-an-email,Dir. IT,,DE,\n"
        ",A1,No,Id,no@acme.example,Analyst,,DE,\n"
        "P4,A2,Di,Ok,di@acme.example,Leiterin IT,,DE,\n",
    )
    report = import_persons(engine, persons)

    assert report.inserted == 2
    by_line = {r.line: r.errors[0].field for r in report.rejected}
    assert by_line == {3: "account_external_id", 4: "email", 5: "external_id"}
    assert _count(engine, PersonRow) == 2


def test_jsonl_import_reports_broken_lines(engine: Engine, tmp_path: Path) -> None:
    _load_accounts(engine, tmp_path)
    path = _write(
        tmp_path / "persons.jsonl",
        '{"external_id": "P1", "account_external_id": "A1", "job_title": "VP Sales"}\n'
        "{not json\n"
        '{"external_id": "P2", "account_external_id": "A1", "job_title": "GF"}\n',
    )
    report = import_persons(engine, path)
    assert report.inserted == 2
    assert [r.line for r in report.rejected] == [2]


def test_missing_required_column_fails_before_any_row(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="account_external_id"):
        import_persons(engine, _write(tmp_path / "p.csv", "external_id,job_title\nP1,CTO\n"))


def test_activities_are_idempotent_without_external_ids(engine: Engine, tmp_path: Path) -> None:
    _load_accounts(engine, tmp_path)
    import_persons(engine, pd.DataFrame([{"external_id": "P1", "account_external_id": "A1"}]))
    frame = pd.DataFrame(
        [
            {
                "person_external_id": "P1",
                "type": "email_opened",
                "occurred_at": "2026-11-01T10:00:00Z",
            },
            {
                "person_external_id": "P1",
                "type": "form_filled",
                "occurred_at": "2026-11-02T10:00:00",
            },
            {
                "person_external_id": "P1",
                "type": "teleported",
                "occurred_at": "2026-11-02T10:00:00",
            },
            {
                "person_external_id": "P9",
                "type": "page_viewed",
                "occurred_at": "2026-11-02T10:00:00",
            },
        ]
    )
    first = import_activities(engine, frame)
    second = import_activities(engine, frame)

    assert (first.inserted, second.inserted, second.updated) == (2, 0, 2)
    assert {r.errors[0].field for r in first.rejected} == {"type", "person_external_id"}
    assert _count(engine, ActivityRow) == 2


def test_a_huge_rejected_value_is_cut_in_the_report(engine: Engine) -> None:
    huge = "x" * 1_000_000
    report = import_persons(
        engine,
        [
            {"external_id": huge, "account_external_id": "A1"},
            {"external_id": "P2", "account_external_id": huge},
        ],
    )
    too_long, unknown = report.rejected
    assert too_long.external_id == "x" * 80 + "… (1,000,000 characters)"
    assert unknown.errors[0].field == "account_external_id"
    assert len(json.dumps(report.as_dict())) < 2_000


def test_a_cycle_of_huge_ids_is_cut_in_the_reason(engine: Engine) -> None:
    first, second = "a" * 100, "b" * 100
    rows = [
        {"external_id": first, "name": "A", "parent_external_id": second},
        {"external_id": second, "name": "B", "parent_external_id": first},
    ]
    report = import_accounts(engine, rows)
    assert {r.errors[0].field for r in report.rejected} == {"parent_external_id"}
    assert all(len(r.errors[0].reason) < 300 for r in report.rejected)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("latin.csv", "external_id,name\nA1,Café\n".encode("latin-1"), ["line 2", "UTF-8"]),
        ("empty.csv", b"", ["empty"]),
        ("blank.jsonl", b"", ["empty"]),
        ("field.csv", b"external_id,name\nA1," + b"x" * 200_000 + b"\n", ["line 2", "131,072"]),
        ("data.xlsx", b"PK\x03\x04", ["unsupported file type '.xlsx'"]),
    ],
)
def test_unreadable_files_name_file_and_line(
    engine: Engine, tmp_path: Path, name: str, content: bytes, words: list[str]
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputFileError) as raised:
        import_accounts(engine, path)
    message = str(raised.value)
    assert message.startswith(str(path)) and "\n" not in message
    for word in words:
        assert word in message
    assert _count(engine, AccountRow) == 0


def test_a_latin1_file_imports_with_its_encoding(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("external_id,name\nA1,Café\n".encode("latin-1"))
    assert import_accounts(engine, path, encoding="latin-1").inserted == 1
