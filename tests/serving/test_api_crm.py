"""The HTTP API for accounts, persons and imports, on every configured database."""

from __future__ import annotations

from fastapi.testclient import TestClient


def _seed(client: TestClient) -> None:
    accounts = [
        {"external_id": "A1", "name": "Acme", "country": "DE", "products_owned": ["Data Cloud"]},
        {"external_id": "A2", "name": "Acme Labs", "parent_external_id": "A1"},
    ]
    assert client.post("/v1/account-imports", json={"rows": accounts}).json()["accepted"] == 2
    persons = [
        {"external_id": "P1", "account_external_id": "A1", "job_title": "CISO"},
        {"external_id": "P2", "account_external_id": "A2", "job_title": "Leiterin IT"},
    ]
    assert client.post("/v1/person-imports", json={"rows": persons}).json()["accepted"] == 2


def test_health_reports_database(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "database": "ok"}


def test_accounts_are_listed_and_read(client: TestClient) -> None:
    _seed(client)
    listing = client.get("/v1/accounts", params={"limit": 1}).json()
    assert listing["total"] == 2 and [a["external_id"] for a in listing["items"]] == ["A1"]
    child = client.get("/v1/accounts/A2").json()
    assert child["parent_external_id"] == "A1"
    divisions = client.get("/v1/accounts", params={"parent_external_id": "A1"}).json()
    assert [a["external_id"] for a in divisions["items"]] == ["A2"]


def test_persons_filter_by_account(client: TestClient) -> None:
    _seed(client)
    page = client.get("/v1/persons", params={"account_external_id": "A2"}).json()
    assert [p["job_title"] for p in page["items"]] == ["Leiterin IT"]
    assert client.get("/v1/persons/P1").json()["account_external_id"] == "A1"


def test_unknown_account_is_a_problem_404(client: TestClient) -> None:
    response = client.get("/v1/accounts/NOPE")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("not-found") and "NOPE" in body["detail"]


def test_import_reports_bad_rows_and_keeps_good_ones(client: TestClient) -> None:
    _seed(client)
    rows = [
        {"external_id": "P3", "account_external_id": "A1", "email": "not-an-email"},
        {"external_id": "P4", "account_external_id": "A1", "email": "p4@acme.example"},
        {"account_external_id": "A1"},
    ]
    report = client.post("/v1/person-imports", json={"rows": rows}).json()
    assert report["inserted"] == 1
    assert [(r["line"], r["errors"][0]["field"]) for r in report["rejected"]] == [
        (1, "email"),
        (3, ""),
    ]


def test_bad_query_parameter_is_a_422_naming_the_field(client: TestClient) -> None:
    response = client.get("/v1/accounts", params={"limit": 0})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.limit"


def test_oversized_body_is_refused_with_413(client: TestClient) -> None:
    rows = [{"external_id": f"A{i}", "name": "x" * 100} for i in range(3000)]
    response = client.post("/v1/account-imports", json={"rows": rows})
    assert response.status_code == 413
    assert response.json()["status"] == 413


def test_malformed_json_is_a_422_not_a_500(client: TestClient) -> None:
    response = client.post(
        "/v1/account-imports", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
