"""POST /v1/buying-group-imports: the report, unknown fields refused, precedence kept."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from role_model_factory import COMPANY_INTEREST as INTEREST
from role_model_factory import seed_company_crm
from sqlalchemy import Engine

from buying_groups.generation.membership import MembershipService
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups.storage.unit_of_work import SqlUnitOfWork


@pytest.fixture
def crm(engine: Engine) -> Engine:
    return seed_company_crm(engine)


def _row(person: str, role: str, **more: Any) -> dict[str, Any]:
    return {
        "solution_interest": INTEREST,
        "account_external_id": "HQ",
        "person_external_id": person,
        "role": role,
        **more,
    }


def test_the_report_counts_rows_and_names_rejected_ones(crm: Engine, client: TestClient) -> None:
    with unit_of_work(make_session_factory(crm)) as session:
        MembershipService(SqlUnitOfWork.joining(session)).assign(
            "HQ", INTEREST, "P3", "Decision Maker"
        )
    rows = [_row("P1", "Decision Maker", status="Open"), _row("P3", "Champion")]

    answer = client.post("/v1/buying-group-imports", json={"rows": rows})

    assert answer.status_code == 200
    report = answer.json()
    assert (report["entity"], report["inserted"], report["unchanged"]) == ("groups", 1, 0)
    (rejected,) = report["rejected"]
    assert rejected["line"] == 2 and rejected["external_id"] == "P3"
    assert rejected["errors"][0]["field"] == "person_external_id"
    group = client.get(f"/v1/buying-groups/{INTEREST}/HQ").json()
    assert group["status"] == "Open"
    again = client.post("/v1/buying-group-imports", json={"rows": rows[:1]}).json()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 1)


def test_an_unknown_field_refuses_the_request(crm: Engine, client: TestClient) -> None:
    rows = [_row("P1", "Decision Maker"), _row("P4", "Practitioner", rol="typo")]
    answer = client.post("/v1/buying-group-imports", json={"rows": rows})
    assert answer.status_code == 422
    assert "rows[1] has an unknown field 'rol'" in answer.json()["errors"][0]["reason"]
    events = client.get("/v1/events").json()["events"]
    assert events == []  # nothing half-written


def test_a_nul_character_is_a_rejected_row(crm: Engine, client: TestClient) -> None:
    answer = client.post("/v1/buying-group-imports", json={"rows": [_row("P\x001", "Champion")]})
    assert answer.status_code == 200
    assert answer.json()["rejected"][0]["errors"][0]["field"] == "person_external_id"
