"""Dependencies handed to routes: settings and a transactional session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from buying_groups.settings import Settings


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    """The app's database engine (created in the lifespan)."""
    engine: Engine = request.app.state.engine
    return engine


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed on success, rolled back on any error.

    Used with ``scope="function"``: the commit runs when the route returns, before the
    answer is sent, so a 201 is only ever sent for a change that is stored, and a commit
    that fails becomes an error answer instead of a success reported too early.
    """
    with request.app.state.session_factory() as session, session.begin():
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
LimitDep = Annotated[int, Query(ge=1, le=500, description="Page size (at most 500).")]
OffsetDep = Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip.")]
