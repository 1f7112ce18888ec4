"""Generation jobs that run at the same time, as two server processes on one database do."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any

import pytest
from database_reset import empty_database
from job_crm import AUDIENCE, INTEREST, add_crm, group_accounts, members, second_engine
from sqlalchemy import Engine

from buying_groups.generation import JobState, create_job, get_job, run_job
from buying_groups.generation.jobs import GenerationReport
from buying_groups.storage import generation_store as store_module
from buying_groups.storage.unit_of_work import SqlUnitOfWork

ACCOUNTS = 12


@pytest.fixture
def crm(engine: Engine) -> Engine:
    add_crm(engine, ACCOUNTS)
    return engine


@pytest.fixture
def other(crm: Engine) -> Iterator[Engine]:
    """The same database through a second engine (another process's connection pool)."""
    engine = second_engine(crm)
    yield engine
    engine.dispose()


def _run(engine: Engine, batch_size: int = 5) -> GenerationReport:
    """Create a job and run it; a failure is returned as the failed job, not raised."""
    job_id = create_job(SqlUnitOfWork(engine), solution_interest=INTEREST, audience=AUDIENCE)
    with suppress(Exception):
        run_job(SqlUnitOfWork(engine), job_id, batch_size=batch_size)
    return get_job(SqlUnitOfWork(engine), job_id)


def _meet_before(monkeypatch: pytest.MonkeyPatch, name: str, parties: int = 2) -> None:
    """Make ``store.<name>`` wait until ``parties`` jobs reach it (or 3 s pass).

    Both jobs have then read the same state and are about to write: the race of two
    processes, made certain. A job that cannot get there (it waits for the other to
    commit) breaks the barrier after 3 s and the other goes on.
    """
    original = getattr(store_module, name)
    barrier = threading.Barrier(parties, timeout=3)

    def meet_then_write(*args: Any) -> Any:
        with suppress(threading.BrokenBarrierError):
            barrier.wait()
        return original(*args)

    monkeypatch.setattr(store_module, name, meet_then_write)


def test_two_jobs_of_one_audience_at_once_both_succeed(
    crm: Engine, other: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = _run(crm)
    expected = members(crm), group_accounts(crm)
    empty_database(crm)
    add_crm(crm, ACCOUNTS)
    _meet_before(monkeypatch, "insert_groups")

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(_run, (crm, other)))

    assert [(r.state, r.error) for r in reports] == [(JobState.SUCCEEDED, None)] * 2
    assert (members(crm), group_accounts(crm)) == expected
    assert sum(r.groups_created for r in reports) == alone.groups_created == ACCOUNTS
    assert all(r.processed_accounts == r.total_accounts == ACCOUNTS for r in reports)
