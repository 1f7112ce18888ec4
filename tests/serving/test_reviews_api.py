"""Reviews over HTTP: model and hybrid jobs need a loaded role model; decisions are manual."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from role_model_factory import AUDIENCE, INTEREST, seed_review_crm, train_role_model
from sqlalchemy import Engine

from buying_groups.ml.title_classifier import TitleClassifier
from serving.models import LoadedModel, ModelSet

BODY = {"solution_interest": INTEREST, "audience": AUDIENCE, "mode": "hybrid"}


@pytest.fixture(scope="module")
def role_model() -> TitleClassifier:
    return train_role_model()


@pytest.fixture
def api(client_factory: Callable[..., TestClient], engine: Engine) -> TestClient:
    """A write client on the review CRM (no role model loaded yet)."""
    seed_review_crm(engine)
    return client_factory(["write"])


def _load(client: TestClient, model: TitleClassifier) -> None:
    """What the lifespan's ModelStore would hold after loading the interest's champion."""
    loaded = LoadedModel("role-secure-edge", "3", "models:/role-secure-edge@champion", model)
    client.app.state.models.current = ModelSet(roles={INTEREST: loaded})  # type: ignore[attr-defined]


def _finished(client: TestClient, location: str) -> dict[str, Any]:
    for _ in range(200):
        job: dict[str, Any] = client.get(location).json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError("the job did not finish")


def test_hybrid_jobs_need_a_loaded_role_model(api: TestClient) -> None:
    response = api.post("/v1/generation-jobs", json=BODY)
    assert response.status_code == 409
    assert "train roles --solution-interest" in response.json()["detail"]


def test_reviews_are_listed_read_and_decided(api: TestClient, role_model: TitleClassifier) -> None:
    _load(api, role_model)
    created = api.post("/v1/generation-jobs", json=BODY)
    assert created.status_code == 202
    job = _finished(api, created.headers["Location"])
    assert job["state"] == "succeeded" and job["reviews_created"] == 2

    page = api.get("/v1/reviews", params={"solution_interest": INTEREST, "state": "open"}).json()
    assert page["total"] == 2 and [i["person_external_id"] for i in page["items"]] == ["P6", "P4"]
    p4 = api.get("/v1/reviews", params={"reason": "disagreement"}).json()["items"][0]
    assert (p4["rule_role"], p4["model_role"]) == ("Decision Maker", "No role")
    assert p4["model_evidence"]["model_version"] == "3" and p4["rule_evidence"]["card"] == 0
    assert api.get(f"/v1/reviews/{p4['id']}").json() == p4

    decided = api.post(f"/v1/reviews/{p4['id']}/decision", json={"decision": "accept_rule"})
    assert decided.status_code == 200
    assert decided.json()["decided_role"] == "Decision Maker"
    assert decided.json()["decided_by"]  # the API key's name
    again = api.post(f"/v1/reviews/{p4['id']}/decision", json={"decision": "not_a_member"})
    assert again.status_code == 409

    group = api.get(f"/v1/buying-groups/{INTEREST}/A1").json()
    (member,) = [m for m in group["member_list"] if m["person_external_id"] == "P4"]
    assert member["source"] == "manual" and member["role"] == "Decision Maker"
    listed = api.get("/v1/reviews", params={"state": "decided", "account_external_id": "A1"})
    assert listed.json()["total"] == 1


def test_bad_decisions_are_refused(api: TestClient, role_model: TitleClassifier) -> None:
    _load(api, role_model)
    _finished(api, api.post("/v1/generation-jobs", json=BODY).headers["Location"])
    review = api.get("/v1/reviews").json()["items"][0]["id"]
    url = f"/v1/reviews/{review}/decision"
    assert api.post(url, json={"decision": "other_role"}).status_code == 422
    assert api.post(url, json={"decision": "maybe"}).status_code == 422
    assert api.get("/v1/reviews/999999").status_code == 404
    chosen = api.post(url, json={"decision": "other_role", "role": "Influencer", "reviewer": "ana"})
    assert chosen.json()["decided_by"] == "ana"
