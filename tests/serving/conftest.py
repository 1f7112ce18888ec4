"""An API client on the test database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from buying_groups.settings import Settings
from serving.app import create_app


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(Settings(max_request_bytes=200_000), engine=engine)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
