"""The group lock of a solution interest: writers of one interest take turns."""

from __future__ import annotations

import os
import threading
import time

import pytest
from job_crm import second_engine
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from buying_groups.storage.group_locks import is_write_race, lock_interest_groups


def test_second_writer_waits_until_the_first_commits(engine: Engine) -> None:
    other = second_engine(engine)
    holding, released = threading.Event(), threading.Event()
    waited: dict[str, float] = {}

    def second_writer() -> None:
        holding.wait(timeout=10)
        start = time.monotonic()
        with other.begin() as conn:
            lock_interest_groups(conn, 1)
            waited["seconds"] = time.monotonic() - start
            waited["after_release"] = released.is_set()

    thread = threading.Thread(target=second_writer)
    thread.start()
    with engine.begin() as conn:
        lock_interest_groups(conn, 1)
        lock_interest_groups(conn, 1)  # again in the same transaction: no harm
        holding.set()
        time.sleep(0.5)
        released.set()
    thread.join(timeout=20)
    other.dispose()

    assert waited["after_release"] and waited["seconds"] >= 0.4


# SQLite has one writer at a time, whatever the interest: this runs on PostgreSQL only (CI
# always has it; without BG_TEST_DATABASE_URL the parameter list is empty).
@pytest.mark.parametrize(
    "migrated_engine",
    ["postgresql"] if os.environ.get("BG_TEST_DATABASE_URL") else [],
    indirect=True,
)
def test_other_interests_do_not_wait(engine: Engine) -> None:
    other = second_engine(engine)
    with engine.begin() as conn, other.begin() as second:
        lock_interest_groups(conn, 1)
        second.execute(text("SET LOCAL lock_timeout = '200ms'"))
        lock_interest_groups(second, 2)
    other.dispose()


def test_only_races_count_as_races(engine: Engine) -> None:
    with engine.connect() as conn:
        with pytest.raises(IntegrityError) as duplicate:
            conn.execute(text("CREATE TEMPORARY TABLE t (id INTEGER PRIMARY KEY)"))
            conn.execute(text("INSERT INTO t VALUES (1), (1)"))
        conn.rollback()
        # A missing table: a ProgrammingError on PostgreSQL, an OperationalError on SQLite.
        with pytest.raises(DBAPIError) as missing:
            conn.execute(text("SELECT * FROM no_such_table_here"))
    assert is_write_race(duplicate.value)
    assert not is_write_race(missing.value) and not is_write_race(ValueError("x"))
