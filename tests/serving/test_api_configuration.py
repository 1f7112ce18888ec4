"""Configuration resources over HTTP: roles, templates, stage models, interests, audiences."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

TEMPLATE: dict[str, Any] = {
    "name": "Security",
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
        {"name": "New", "kind": "entry", "next": ["Won", "Lost"]},
        {"name": "Won", "kind": "success"},
        {"name": "Lost", "kind": "failure"},
    ],
}


def test_template_lifecycle(client: TestClient) -> None:
    created = client.post("/v1/role-templates", json=TEMPLATE)
    assert created.status_code == 201 and created.json()["status"] == "draft"
    edited = client.put("/v1/role-templates/Security", json=TEMPLATE | {"description": "v1"})
    assert edited.json()["description"] == "v1"
    assert client.post("/v1/role-templates/Security/publish").json()["status"] == "live"
    frozen = client.put("/v1/role-templates/Security", json=TEMPLATE)
    assert frozen.status_code == 409 and "copy it" in frozen.json()["detail"]
    assert client.delete("/v1/role-templates/Security").status_code == 409
    copy = client.post("/v1/role-templates/Security/copy", json={"name": "Security v2"})
    assert copy.status_code == 201 and copy.json()["status"] == "draft"
    assert client.delete("/v1/role-templates/Security v2").status_code == 204
    assert [t["name"] for t in client.get("/v1/role-templates").json()] == ["Security"]


def test_bad_condition_names_its_path(client: TestClient) -> None:
    bad = {
        "name": "Bad",
        "cards": [
            {
                "role": "Champion",
                "conditions": {
                    "all": [
                        {"attribute": "job_title", "operator": "contains", "value": "x"},
                        {"attribute": "job_title", "operator": "matches", "value": "(a+)+"},
                    ]
                },
            }
        ],
    }
    response = client.post("/v1/role-templates", json=bad)
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert any("cards.0.conditions" in f and "1" in f for f in fields), fields


def test_unknown_role_on_a_card_is_422_naming_the_card(client: TestClient) -> None:
    body = {"name": "T", "cards": [{"role": "Wizard"}]}
    response = client.post("/v1/role-templates", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cards[0].role"


def test_roles_builtins_are_protected(client: TestClient) -> None:
    assert len(client.get("/v1/roles").json()) == 6
    assert client.post("/v1/roles", json={"name": "Procurement"}).status_code == 201
    assert client.post("/v1/roles", json={"name": "procurement"}).status_code == 409
    assert client.delete("/v1/roles/Champion").status_code == 422
    assert client.delete("/v1/roles/Procurement").status_code == 204


def test_solution_interest_needs_live_template_and_stage_model(client: TestClient) -> None:
    client.post("/v1/role-templates", json=TEMPLATE)
    interest = {"name": "Edge", "role_template": "Security", "stage_model": "Journey"}
    assert client.post("/v1/solution-interests", json=interest).status_code == 409
    client.post("/v1/role-templates/Security/publish")
    assert client.post("/v1/solution-interests", json=interest).status_code == 404
    assert client.post("/v1/stage-models", json=STAGES).status_code == 201
    created = client.post("/v1/solution-interests", json=interest)
    assert created.status_code == 201
    assert client.get("/v1/solution-interests/Edge").json()["stage_model"] == "Journey"
    assert client.delete("/v1/solution-interests/Edge").status_code == 204


def test_stage_model_without_success_stage_is_refused(client: TestClient) -> None:
    bad = {
        "name": "Bad",
        "stages": [{"name": "A", "kind": "entry", "next": ["B"]}, {"name": "B", "kind": "failure"}],
    }
    response = client.post("/v1/stage-models", json=bad)
    assert response.status_code == 422
    assert "success" in response.json()["detail"]


def test_audience_preview_evaluates_the_filter(client: TestClient) -> None:
    rows = [
        {"external_id": "A1", "name": "Big", "employees": 5000},
        {"external_id": "A2", "name": "Small", "employees": 10},
        {"external_id": "A3", "name": "Big child", "parent_external_id": "A1"},
    ]
    client.post("/v1/account-imports", json={"rows": rows})
    audience = {
        "name": "Big",
        "kind": "filter",
        "filter": {"employees_gte": 1000, "include_children": True},
    }
    assert client.post("/v1/account-audiences", json=audience).status_code == 201
    preview = client.get("/v1/account-audiences/Big/preview").json()
    assert preview == {"name": "Big", "total": 2, "account_external_ids": ["A1", "A3"]}
    static_with_filter = audience | {"name": "Bad", "kind": "static"}
    assert client.post("/v1/account-audiences", json=static_with_filter).status_code == 422


def test_renaming_a_draft_onto_an_existing_name_is_409(client: TestClient) -> None:
    client.post("/v1/role-templates", json=TEMPLATE)
    client.post("/v1/role-templates", json=TEMPLATE | {"name": "Other"})
    response = client.put("/v1/role-templates/Other", json=TEMPLATE)
    assert response.status_code == 409
