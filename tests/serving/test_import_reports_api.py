"""Import answers echo rejected values cut short: a huge bad value is not sent back whole."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_a_huge_rejected_id_is_cut_in_the_answer(client: TestClient) -> None:
    huge = "P" * 150_000
    rows = [{"external_id": huge, "account_external_id": "A" * 150}]
    response = client.post("/v1/person-imports", json={"rows": rows})
    assert response.status_code == 200
    assert len(response.content) < 2_000
    rejected = response.json()["rejected"][0]
    assert rejected["external_id"] == "P" * 80 + "… (150,000 characters)"


def test_a_huge_unknown_reference_is_cut_in_the_reason(client: TestClient) -> None:
    unknown = "A" * 100  # as long as an id may be; the reason quotes it cut to 80
    rows = [{"external_id": "P1", "account_external_id": unknown}]
    reason = client.post("/v1/person-imports", json={"rows": rows}).json()["rejected"][0]
    assert reason["errors"][0]["reason"] == f"unknown account '{'A' * 80}… (100 characters)'"


def test_a_non_text_id_is_reported_as_text(client: TestClient) -> None:
    rows = [{"external_id": 12345, "account_external_id": "A1"}]
    response = client.post("/v1/person-imports", json={"rows": rows})
    assert response.status_code == 200
    assert response.json()["rejected"][0]["external_id"] == "12345"
