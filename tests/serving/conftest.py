"""API clients on the test database, each with an API key of a given scope."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from api_key_factory import make_key
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from buying_groups.settings import Settings
from serving.app import create_app

ClientFactory = Callable[..., TestClient]


@pytest.fixture
def client_factory(engine: Engine) -> Iterator[ClientFactory]:
    """Make clients with a key of the given scopes (None: no key at all)."""
    # Models are loaded only by the tests about them (from their own MLflow store).
    settings = Settings(max_request_bytes=200_000, models_enabled=False, webhooks_enabled=False)
    app = create_app(settings, engine=engine)
    clients: list[TestClient] = []

    def make(scopes: list[str] | None = None) -> TestClient:
        headers = {"X-API-Key": make_key(engine, scopes)} if scopes else {}
        test_client = TestClient(app, raise_server_exceptions=False, headers=headers)
        test_client.__enter__()
        clients.append(test_client)
        return test_client

    yield make
    for test_client in clients:
        test_client.__exit__(None, None, None)


@pytest.fixture
def client(client_factory: ClientFactory) -> TestClient:
    """A client whose key may read and write (not administer)."""
    return client_factory(["write"])
