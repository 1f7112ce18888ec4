"""Engines, sessions and migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


#: Connections a process may open: at least as many as the API's worker threads (40 in
#: Starlette's pool), so that requests waiting for a connection can never hold every thread
#: that would give one back (a deadlock seen under load with SQLAlchemy's default 5 + 10).
POOL = {"pool_size": 10, "max_overflow": 40}


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets its folder, foreign keys and WAL."""
    parsed = make_url(url)
    if parsed.database not in (None, "", ":memory:"):
        kwargs = POOL | kwargs
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs the package's migrations on ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # configparser treats % as interpolation; URLs carry %-escapes (passwords, options).
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Revert migrations down to ``revision``."""
    command.downgrade(alembic_config(engine), revision)


def is_migrated(engine: Engine) -> bool:
    """True when the schema exists (the accounts table is there)."""
    return inspect(engine).has_table("accounts")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit when the block ends, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def missing_table(error: DBAPIError) -> str | None:
    """The table an error says does not exist (SQLite, PostgreSQL), else ``None``.

    A command run before ``db upgrade`` fails this way; the CLI then says how to fix it.
    """
    message = str(error.orig)
    if found := re.match(r"no such table: (\S+)", message):  # SQLite
        return found[1]
    if getattr(error.orig, "sqlstate", None) == "42P01":  # PostgreSQL undefined_table
        found = re.search(r'relation "([^"]+)" does not exist', message)
        return found[1] if found else "?"
    return None
