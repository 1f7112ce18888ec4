"""Recommendations over HTTP: who could fill each missing role, with the loaded role model."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from role_model_factory import COMPANY_INTEREST, seed_company_crm, train_role_model
from sqlalchemy import Engine, update

from buying_groups.generation.membership import MembershipService
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups.storage.tables import BuyingGroupRow
from buying_groups.storage.unit_of_work import SqlUnitOfWork
from serving.models import LoadedModel, ModelSet

URL = f"/v1/buying-groups/{COMPANY_INTEREST}/HQ/recommendations"


@pytest.fixture
def api(client_factory: Callable[..., TestClient], engine: Engine) -> TestClient:
    seed_company_crm(engine)
    return client_factory(["read"])


def test_missing_roles_get_ranked_candidates_with_reasons(api: TestClient) -> None:
    response = api.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["group_exists"] is False and body["model_version"] is None
    roles = {r["role"]: r for r in body["roles"]}
    assert [c["person_external_id"] for c in roles["Decision Maker"]["candidates"]] == ["P3", "P1"]
    first = roles["Decision Maker"]["candidates"][0]
    assert first["score"] == 1.0 and first["rule"] == 'job_title contains "chief"'
    assert first["reasons"][0].startswith("the role's card fires")
    assert roles["Influencer"]["candidates"] == []


def test_the_loaded_role_model_is_used(api: TestClient) -> None:
    loaded = LoadedModel("role-secure-edge", "7", "models:/x@champion", train_role_model())
    api.app.state.models.current = ModelSet(roles={COMPANY_INTEREST: loaded})  # type: ignore[attr-defined]
    body = api.get(URL, params={"role": "Influencer", "limit": 1}).json()
    assert body["model_version"] == "7"
    (influencer,) = body["roles"]
    assert [c["person_external_id"] for c in influencer["candidates"]] == ["P5"]
    assert influencer["candidates"][0]["model_probability"] > 0.2


def test_bad_input_is_a_clear_4xx(api: TestClient) -> None:
    unknown_role = api.get(URL, params={"role": "Astronaut"})
    assert unknown_role.status_code == 422 and "Astronaut" in unknown_role.json()["detail"]
    assert api.get(URL.replace("/HQ/", "/NOPE/")).status_code == 404
    assert api.get(URL, params={"limit": 0}).status_code == 422
    assert api.get(URL, params={"limit": 51}).status_code == 422


def test_a_deleted_group_is_409(api: TestClient, engine: Engine) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        MembershipService(SqlUnitOfWork.joining(session)).assign(
            "HQ", COMPANY_INTEREST, "P1", "Decision Maker"
        )
    with engine.begin() as conn:
        conn.execute(update(BuyingGroupRow).values(is_deleted=True))
    response = api.get(URL)
    assert response.status_code == 409 and "deleted" in response.json()["detail"]
