"""Shared fixtures: a migrated database per backend (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from database_reset import empty_database
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from buying_groups.storage.database import make_engine, upgrade

POSTGRES_URL = os.environ.get("BG_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def _postgres_engine() -> Iterator[Engine]:
    """A private schema per test session, so parallel runs never see each other's rows."""
    assert POSTGRES_URL
    schema = f"bg_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    # The schema travels in the URL, so code that builds its own engine (the CLI) sees it too.
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """An engine on a freshly migrated database, shared by the session."""
    if request.param == "postgresql":
        engines = _postgres_engine()
        engine = next(engines)
    else:
        path = tmp_path_factory.mktemp("db") / "test.db"
        engine = make_engine(f"sqlite:///{path}")
        engines = iter(())
    upgrade(engine)
    yield engine
    engine.dispose()
    for _ in engines:
        pass


@pytest.fixture
def engine(migrated_engine: Engine) -> Iterator[Engine]:
    """The session's database, emptied before each test (built-in roles stay)."""
    empty_database(migrated_engine)
    yield migrated_engine
