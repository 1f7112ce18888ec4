"""API clients on the test database, each with an API key of a given scope."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from buying_groups.settings import Settings
from buying_groups.storage.api_key_repository import ApiKeyRepository
from buying_groups.storage.database import make_session_factory, unit_of_work
from serving.app import create_app

ClientFactory = Callable[..., TestClient]


def make_key(engine: Engine, scopes: list[str]) -> str:
    """Store a key with ``scopes`` and return its plaintext."""
    with unit_of_work(make_session_factory(engine)) as session:
        plaintext, _ = ApiKeyRepository(session).create("test", scopes)
    return plaintext


@pytest.fixture
def client_factory(engine: Engine) -> Iterator[ClientFactory]:
    """Make clients with a key of the given scopes (None: no key at all)."""
    app = create_app(Settings(max_request_bytes=200_000), engine=engine)
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
