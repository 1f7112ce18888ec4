"""API keys: 401 without a valid key, 403 without the scope; health stays open."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from buying_groups.storage.api_key_repository import ApiKeyRepository
from buying_groups.storage.database import make_session_factory, unit_of_work

ClientFactory = Callable[..., TestClient]


def test_health_needs_no_key(client_factory: ClientFactory) -> None:
    assert client_factory().get("/health").status_code == 200


def test_missing_or_wrong_key_is_401_problem(client_factory: ClientFactory) -> None:
    anonymous = client_factory()
    response = anonymous.get("/v1/accounts")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    wrong = anonymous.get("/v1/accounts", headers={"X-API-Key": "bgk_nope_nope"})
    assert wrong.status_code == 401


def test_read_key_cannot_write(client_factory: ClientFactory) -> None:
    reader = client_factory(["read"])
    assert reader.get("/v1/accounts").status_code == 200
    response = reader.post("/v1/roles", json={"name": "Procurement"})
    assert response.status_code == 403
    assert "write" in response.json()["detail"]


def test_bearer_token_works_and_revoked_key_does_not(
    client_factory: ClientFactory, engine: Engine
) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        plaintext, info = ApiKeyRepository(session).create("ci", ["read"])
    anonymous = client_factory()
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert anonymous.get("/v1/roles", headers=headers).status_code == 200
    with unit_of_work(make_session_factory(engine)) as session:
        ApiKeyRepository(session).revoke(info.prefix)
    assert anonymous.get("/v1/roles", headers=headers).status_code == 401


def test_keys_are_stored_hashed(engine: Engine) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        repository = ApiKeyRepository(session)
        plaintext, info = repository.create("x", ["admin"])
        assert plaintext.startswith(f"bgk_{info.prefix}_")
        stored = next(k for k in repository.list() if k.id == info.id)
    assert plaintext not in repr(stored)


def test_rate_limit_answers_429_with_retry_after(engine: Engine) -> None:
    from api_key_factory import make_key

    from buying_groups.settings import Settings
    from serving.app import create_app

    settings = Settings(rate_limit="3/minute", models_enabled=False, webhooks_enabled=False)
    app = create_app(settings, engine=engine)
    with TestClient(app, headers={"X-API-Key": make_key(engine, ["read"])}) as client:
        codes = [client.get("/v1/roles").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.get("/v1/roles")
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["status"] == 429
        assert client.get("/health").status_code == 200  # health is never limited
    other = TestClient(app, headers={"X-API-Key": make_key(engine, ["read"])})
    assert other.get("/v1/roles").status_code == 200  # limits are per key
