"""Writers of one solution interest's groups take turns; a race that a retry cures is retried.

Generation jobs write groups, members and role rows a batch at a time; people change
members one at a time (member PUT and DELETE, review decisions). Two such transactions on
the same groups, in two processes, could both insert the group an account lacks (a unique
violation) or lock the same rows in opposite orders (a deadlock). So each first takes the
interest's lock, held until it commits or rolls back:

- PostgreSQL: a transaction-level advisory lock on the interest, which every process on
  the database shares and which the server drops when the transaction ends;
- SQLite: the database's write lock (``BEGIN IMMEDIATE``); SQLite has one writer at a
  time anyway, taking the lock first only makes the transaction's reads current.

Readers take no lock. Anything that still collides (a writer that takes no lock, a lock
wait past SQLite's busy timeout) is recognised by ``is_write_race``; jobs retry it with
``retry_write_races``, the API answers it with 409.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Final, ParamSpec, TypeVar

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import DBAPIError
from tenacity import (
    before_sleep_log,
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

log = logging.getLogger(__name__)

#: First key of the advisory locks of this application ("bg"); the second is the interest id.
LOCK_SPACE: Final = 0x6267
#: SQLSTATEs of a lost race: unique violation, serialisation failure, deadlock, lock timeout.
RACE_SQLSTATES: Final = frozenset({"23505", "40001", "40P01", "55P03"})
RACE_ATTEMPTS: Final = 6

P = ParamSpec("P")
R = TypeVar("R")


def lock_interest_groups(connection: Connection, interest_id: int) -> None:
    """Hold the lock on the groups of ``interest_id`` until ``connection``'s transaction ends.

    Take it before reading what the transaction will write. Taking it again in the same
    transaction is harmless.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(LOCK_SPACE, interest_id)))
    elif connection.dialect.name == "sqlite":
        driver = connection.connection.driver_connection
        # pysqlite begins a transaction only at the first write, which takes the lock then;
        # a transaction already begun holds it.
        if isinstance(driver, sqlite3.Connection) and not driver.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_write_race(exc: BaseException) -> bool:
    """True for a database error that a concurrent writer caused and a retry may cure."""
    if not isinstance(exc, DBAPIError):
        return False
    original = exc.orig
    if getattr(original, "sqlstate", None) in RACE_SQLSTATES:
        return True
    if isinstance(original, sqlite3.IntegrityError):
        return str(original).startswith("UNIQUE constraint failed")
    if isinstance(original, sqlite3.OperationalError):
        return "database is locked" in str(original)
    return False


def retry_write_races(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` again (at most 6 times, random exponential pauses) when it loses a race.

    ``function`` must be one whole transaction, so that a retry starts from what is
    committed now.
    """
    retrying = retry(
        retry=retry_if_exception(is_write_race),
        stop=stop_after_attempt(RACE_ATTEMPTS),
        wait=wait_random_exponential(multiplier=0.05, max=5),
        before_sleep=before_sleep_log(log, logging.WARNING),
        reraise=True,
    )
    return retrying(function)
