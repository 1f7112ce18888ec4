"""Attacks and faults found by a hostile test of the running service (issue 9), over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from api_key_factory import make_key
from fastapi import FastAPI
from sqlalchemy import Engine

from buying_groups.settings import Settings
from serving.app import create_app

# Four bounded quantifiers and a letter that never comes: Python's backtracking engine took
# 43 s on a 300-character title (each position retries 51**4 splits).
BOUNDED_BLOWUP = "[a-z]{0,50}" * 4 + "!"
STAGES = {
    "name": "Journey",
    "stages": [
        {"name": "New", "kind": "entry", "next": ["Won"]},
        {"name": "Won", "kind": "success"},
    ],
}


@pytest.fixture
def app(engine: Engine) -> Iterator[FastAPI]:
    settings = Settings(max_request_bytes=200_000, models_enabled=False, webhooks_enabled=False)
    yield create_app(settings, engine=engine)


def _client(app: FastAPI, key: str | None) -> httpx.AsyncClient:
    headers = {"X-API-Key": key} if key else {}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers)


async def _interest_with_rule(client: httpx.AsyncClient, pattern: str) -> None:
    card = {
        "role": "Decision Maker",
        "conditions": {"attribute": "job_title", "operator": "matches", "value": pattern},
    }
    template: dict[str, Any] = {"name": "Patterns", "cards": [card]}
    assert (await client.post("/v1/role-templates", json=template)).status_code == 201
    assert (await client.post("/v1/role-templates/Patterns/publish")).status_code == 200
    assert (await client.post("/v1/stage-models", json=STAGES)).status_code == 201
    interest = {"name": "Regex", "role_template": "Patterns", "stage_model": "Journey"}
    assert (await client.post("/v1/solution-interests", json=interest)).status_code == 201


def test_bounded_quantifier_blowup_answers_at_once_while_others_are_served(
    app: FastAPI, engine: Engine
) -> None:
    async def scenario() -> tuple[float, float, httpx.Response]:
        async with _client(app, make_key(engine, ["write"])) as client:
            await _interest_with_rule(client, BOUNDED_BLOWUP)
            body = {"titles": ["a" * 300], "solution_interest": "Regex"}
            started = time.perf_counter()

            async def predict() -> tuple[float, httpx.Response]:
                answer = await client.post("/v1/role-predictions", json=body)
                return time.perf_counter() - started, answer

            async def other() -> float:
                await asyncio.sleep(0.01)  # the prediction is in flight
                assert (await client.get("/v1/roles")).status_code == 200
                return time.perf_counter() - started

            (took, answer), other_took = await asyncio.gather(predict(), other())
            return took, other_took, answer

    took, other_took, answer = asyncio.run(scenario())
    assert answer.status_code == 200
    assert answer.json()["predictions"][0]["role"]["label"] is None
    # Generous bounds: the backtracking engine needed about 43 s for this request.
    assert took < 5
    assert other_took < 5
