"""Make API keys for tests."""

from __future__ import annotations

from sqlalchemy import Engine

from buying_groups.storage.api_key_repository import ApiKeyRepository
from buying_groups.storage.database import make_session_factory, unit_of_work


def make_key(engine: Engine, scopes: list[str]) -> str:
    """Store a key with ``scopes`` and return its plaintext."""
    with unit_of_work(make_session_factory(engine)) as session:
        plaintext, _ = ApiKeyRepository(session).create("test", scopes)
    return plaintext
