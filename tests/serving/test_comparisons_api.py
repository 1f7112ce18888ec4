"""Comparisons over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient
from role_model_factory import role_model
from sqlalchemy import Engine

from buying_groups_demo.seed import seed_demo
from serving.models import LoadedModel


def test_comparison_needs_a_loaded_role_model(client: TestClient, engine: Engine) -> None:
    seed_demo(engine, "small", generate=False)
    response = client.get("/v1/comparisons", params={"solution_interest": "Secure Edge"})
    assert response.status_code == 409
    assert "train roles" in response.json()["detail"]


def test_comparison_reports_agreement(client: TestClient, engine: Engine) -> None:
    seed_demo(engine, "small")
    model = role_model({"CISO": "Decision Maker", "Accountant": "No role"})
    client.app.state.models.current.roles["Secure Edge"] = LoadedModel(  # type: ignore[attr-defined]
        "role-secure-edge", "7", "models:/role-secure-edge@champion", model
    )
    params = {"solution_interest": "Secure Edge", "audience": "DACH enterprise", "limit": 3}
    body = client.get("/v1/comparisons", params=params).json()
    assert body["model_version"] == "7" and body["audience"] == "DACH enterprise"
    assert 0 < body["persons"] < 1500
    assert 0 <= body["agreement_rate"] <= 1
    assert len(body["disagreements"]) == min(3, body["disagreements_total"])
