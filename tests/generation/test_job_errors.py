"""What a failed job tells its caller: plain words and a log reference, never SQL."""

from __future__ import annotations

import logging
import re
from typing import Any

import psycopg.errors
import pytest
from job_crm import AUDIENCE, INTEREST, add_crm, group_accounts
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from buying_groups.domain.errors import NotFoundError
from buying_groups.generation import JobState, create_job, get_job, run_job
from buying_groups.generation import jobs as jobs_module
from buying_groups.storage import generation_store as store_module
from buying_groups.storage.unit_of_work import SqlUnitOfWork

PLAIN = re.compile(
    r"the job failed while writing groups \(reference ([0-9a-f]{8})\); see the server log"
)


@pytest.fixture
def crm(engine: Engine) -> Engine:
    add_crm(engine, 4)
    return engine


def _job(engine: Engine) -> int:
    return create_job(SqlUnitOfWork(engine), solution_interest=INTEREST, audience=AUDIENCE)


def test_failed_job_says_what_failed_and_logs_the_sql_under_a_reference(
    crm: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_insert(conn: Any, rows: Any) -> None:
        conn.execute(text("SELECT no_such_column FROM members"))

    monkeypatch.setattr(store_module, "insert_members", broken_insert)
    job_id = _job(crm)
    with caplog.at_level(logging.ERROR), pytest.raises(DBAPIError):
        run_job(SqlUnitOfWork(crm), job_id)

    job = get_job(SqlUnitOfWork(crm), job_id)
    assert job.state == JobState.FAILED
    found = PLAIN.fullmatch(job.error or "")
    assert found, job.error
    logged = [r for r in caplog.records if found[1] in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert "no_such_column" in caplog.text  # the details are in the log, with the SQL


def test_domain_error_keeps_its_message(crm: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def audience_gone(*args: Any) -> None:
        raise NotFoundError(f"account audience {AUDIENCE!r} does not exist")

    monkeypatch.setattr(jobs_module, "load_context", audience_gone)
    job_id = _job(crm)
    with pytest.raises(NotFoundError):
        run_job(SqlUnitOfWork(crm), job_id)

    assert (
        get_job(SqlUnitOfWork(crm), job_id).error == f"account audience {AUDIENCE!r} does not exist"
    )


def test_a_batch_that_loses_a_race_is_run_again(
    crm: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    original, calls = store_module.insert_members, {"n": 0}

    def deadlock_once(conn: Any, rows: Any) -> None:
        calls["n"] += 1
        original(conn, rows)
        if calls["n"] == 1:
            raise OperationalError("UPDATE ...", {}, psycopg.errors.DeadlockDetected("deadlock"))

    monkeypatch.setattr(store_module, "insert_members", deadlock_once)
    job_id = _job(crm)
    report = run_job(SqlUnitOfWork(crm), job_id, batch_size=2)

    assert (report.state, report.error, calls["n"]) == (JobState.SUCCEEDED, None, 3)
    assert (report.processed_accounts, report.groups_created) == (4, 4)
    assert group_accounts(crm) == ["A000", "A001", "A002", "A003"]
