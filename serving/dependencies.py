"""Dependencies handed to routes: settings, a transactional session, the services' unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from buying_groups.generation.ports import UnitOfWork
from buying_groups.settings import Settings
from buying_groups.storage.unit_of_work import SqlUnitOfWork
from serving.job_runner import JobRunner
from serving.models import ModelSet, ModelStore


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


def get_unit_of_work(
    session: Annotated[Session, Depends(get_session, scope="function")],
) -> UnitOfWork:
    """The services' unit of work inside the request's transaction (committed with it)."""
    return SqlUnitOfWork.joining(session)


async def get_job_unit_of_work(request: Request) -> UnitOfWork:
    """A unit of work with transactions of its own: a queued job is committed before the
    background runner looks for it, whatever the request does next."""
    return SqlUnitOfWork(request.app.state.engine)


# Async: a sync dependency costs a thread-pool hop per request (the prediction route's
# budget is a few milliseconds).
async def get_model_store(request: Request) -> ModelStore:
    """The models the app loaded (swapped atomically when a champion alias moves)."""
    store: ModelStore = request.app.state.models
    return store


async def get_models(request: Request) -> ModelSet:
    """The models loaded now, one set for the whole request (an empty set: rules-only)."""
    store: ModelStore = request.app.state.models
    return store.current


async def get_session_factory(request: Request) -> sessionmaker[Session]:
    """Sessions on the app's database, for work done off the request's own transaction."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


async def get_job_runner(request: Request) -> JobRunner:
    """The background runner of generation jobs."""
    runner: JobRunner = request.app.state.job_runner
    return runner


SettingsDep = Annotated[Settings, Depends(get_settings)]
ModelStoreDep = Annotated[ModelStore, Depends(get_model_store)]
ModelsDep = Annotated[ModelSet, Depends(get_models)]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]
JobRunnerDep = Annotated[JobRunner, Depends(get_job_runner)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]
JobUnitOfWorkDep = Annotated[UnitOfWork, Depends(get_job_unit_of_work)]
LimitDep = Annotated[int, Query(ge=1, le=500, description="Page size (at most 500).")]
OffsetDep = Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip.")]
