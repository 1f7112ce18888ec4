"""Buying groups over HTTP: filters, detail, members under precedence, stage, status, events."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from buying_groups_demo.seed import seed_demo

SI = "Secure Edge"


@pytest.fixture
def seeded(client: TestClient, engine: Engine) -> TestClient:
    seed_demo(engine, "small")
    return client


def _group_path(client: TestClient) -> tuple[str, dict[str, Any]]:
    page = client.get("/v1/buying-groups", params={"solution_interest": SI, "limit": 1}).json()
    group = page["items"][0]
    return f"/v1/buying-groups/{SI}/{group['account_external_id']}", group


def _person_of(client: TestClient, account: str) -> str:
    persons = client.get("/v1/persons", params={"account_external_id": account}).json()
    return str(persons["items"][0]["external_id"])


def test_filters_find_missing_roles(seeded: TestClient) -> None:
    params = {"solution_interest": SI, "missing_role": "Decision Maker", "sort": "-completeness"}
    page = seeded.get("/v1/buying-groups", params=params).json()
    assert page["total"] > 0
    assert all("Decision Maker" in g["missing_roles"] for g in page["items"])
    scores = [g["completeness"] for g in page["items"]]
    assert scores == sorted(scores, reverse=True)
    bad = seeded.get("/v1/buying-groups", params={"missing_role": "Wizard"})
    assert bad.status_code == 404
    bad_sort = seeded.get("/v1/buying-groups", params={"sort": "size"})
    assert bad_sort.status_code == 422


def test_manual_assignment_rescores_and_emits_events(seeded: TestClient) -> None:
    path, group = _group_path(seeded)
    person = _person_of(seeded, group["account_external_id"])
    cursor = seeded.get("/v1/events", params={"after": 0, "limit": 1000}).json()
    while cursor["events"]:
        cursor = seeded.get(
            "/v1/events", params={"after": cursor["next_cursor"], "limit": 1000}
        ).json()
    detail = seeded.put(f"{path}/members/{person}", json={"role": "Champion"}).json()
    member = next(m for m in detail["member_list"] if m["person_external_id"] == person)
    assert (member["role"], member["source"], member["is_removed"]) == ("Champion", "manual", False)
    journey = seeded.put(f"{path}/members/{person}", json={"role": "Other", "source": "journey"})
    assert journey.status_code == 409  # a journey cannot undo a person's decision
    removed = seeded.delete(f"{path}/members/{person}").json()
    assert next(m for m in removed["member_list"] if m["person_external_id"] == person)[
        "is_removed"
    ]
    events = seeded.get("/v1/events", params={"after": cursor["next_cursor"]}).json()["events"]
    assert [(e["type"], e["payload"]["person_external_id"]) for e in events] == [
        ("member.assigned", person),
        ("member.removed", person),
    ]


def test_person_of_another_company_is_refused(seeded: TestClient) -> None:
    path, group = _group_path(seeded)
    accounts = seeded.get("/v1/accounts", params={"limit": 500}).json()["items"]
    parents = {a["external_id"]: a["parent_external_id"] for a in accounts}

    def root(account: str) -> str:
        while parents[account] is not None:
            account = parents[account]
        return account

    own = root(group["account_external_id"])
    other = next(a for a in sorted(parents) if root(a) != own and _has_persons(seeded, a))
    response = seeded.put(f"{path}/members/{_person_of(seeded, other)}", json={"role": "Champion"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "person_external_id"


def _has_persons(client: TestClient, account: str) -> bool:
    page = client.get("/v1/persons", params={"account_external_id": account, "limit": 1}).json()
    return bool(page["total"])


def test_stage_moves_follow_the_stage_model(seeded: TestClient) -> None:
    path, _ = _group_path(seeded)
    assert seeded.put(f"{path}/stage", json={"stage": "Won"}).status_code == 409
    assert seeded.put(f"{path}/stage", json={"stage": "Identified"}).json()["stage"] == "Identified"
    illegal = seeded.put(f"{path}/stage", json={"stage": "Won"})
    assert illegal.status_code == 409
    assert "'Identified'" in illegal.json()["detail"] and "'Won'" in illegal.json()["detail"]
    assert seeded.put(f"{path}/status", json={"status": "x" * 51}).status_code == 422
    assert (
        seeded.put(f"{path}/status", json={"status": "Demo booked"}).json()["status"]
        == "Demo booked"
    )


def test_summary_dashboard(seeded: TestClient) -> None:
    summary = seeded.get(f"/v1/buying-group-summaries/{SI}").json()
    assert summary["groups"] == 40
    assert sum(b["groups"] for b in summary["histogram"]) == 40
    assert {r["role"] for r in summary["roles"]} >= {"Decision Maker", "Practitioner"}


def test_account_search_matches_part_of_the_name_or_id_in_any_case(seeded: TestClient) -> None:
    everything = seeded.get("/v1/buying-groups", params={"solution_interest": SI, "limit": 500})
    groups = everything.json()["items"]
    name = groups[0]["account_name"]
    part = name[1 : max(4, len(name) // 2)].upper()
    found = seeded.get("/v1/buying-groups", params={"solution_interest": SI, "account": part})
    expected = {
        g["account_external_id"]
        for g in groups
        if part.casefold() in g["account_name"].casefold()
        or part.casefold() in g["account_external_id"].casefold()
    }
    assert {g["account_external_id"] for g in found.json()["items"]} == expected
    assert found.json()["total"] == len(expected) >= 1
    by_id = seeded.get("/v1/buying-groups", params={"account": groups[0]["account_external_id"]})
    assert groups[0]["account_external_id"] in {
        g["account_external_id"] for g in by_id.json()["items"]
    }
    # % and _ are literal text, not wildcards.
    assert seeded.get("/v1/buying-groups", params={"account": "%"}).json()["total"] == 0
    assert seeded.get("/v1/buying-groups", params={"account": "_"}).json()["total"] == 0
