"""API keys: 401 without a valid key, 403 without the scope; health stays open."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from buying_groups.domain.api_keys import Scope
from buying_groups.settings import Settings
from buying_groups.storage.api_key_repository import ApiKeyRepository
from buying_groups.storage.database import make_session_factory, unit_of_work
from serving.app import create_app
from serving.security import ApiKeyCache

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


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _app_client(engine: Engine, cache_seconds: float) -> TestClient:
    settings = Settings(
        models_enabled=False, webhooks_enabled=False, api_key_cache_seconds=cache_seconds
    )
    return TestClient(create_app(settings, engine=engine), raise_server_exceptions=False)


def _revoke(engine: Engine, prefix: str) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        ApiKeyRepository(session).revoke(prefix)


def test_bearer_token_works_and_revoked_key_does_not(engine: Engine) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        plaintext, info = ApiKeyRepository(session).create("ci", ["read"])
    headers = {"Authorization": f"Bearer {plaintext}"}
    with _app_client(engine, cache_seconds=0) as anonymous:
        assert anonymous.get("/v1/roles", headers=headers).status_code == 200
        _revoke(engine, info.prefix)
        assert anonymous.get("/v1/roles", headers=headers).status_code == 401


def test_a_key_revoked_elsewhere_stops_working_when_its_cache_entry_expires(
    engine: Engine,
) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        plaintext, info = ApiKeyRepository(session).create("ci", ["read"])
    headers = {"X-API-Key": plaintext}
    with _app_client(engine, cache_seconds=10) as client:
        clock = FakeClock()
        client.app.state.api_keys.clock = clock  # type: ignore[attr-defined]
        assert client.get("/v1/roles", headers=headers).status_code == 200
        _revoke(engine, info.prefix)  # as the CLI would, behind the server's back
        clock.now += 9.9
        assert client.get("/v1/roles", headers=headers).status_code == 200
        clock.now += 0.2
        assert client.get("/v1/roles", headers=headers).status_code == 401


def test_key_cache_remembers_valid_keys_only_for_their_time_and_size() -> None:
    clock = FakeClock()
    cache = ApiKeyCache(ttl=5, size=2, clock=clock)
    read = frozenset({Scope.READ})
    cache.put("a", read)
    cache.put("b", read)
    cache.put("c", read)  # beyond size: the oldest goes
    assert cache.get("a") is None
    assert cache.get("b") == read
    clock.now += 5
    assert cache.get("b") is None
    off = ApiKeyCache(ttl=0, clock=clock)
    off.put("a", read)
    assert off.get("a") is None


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
