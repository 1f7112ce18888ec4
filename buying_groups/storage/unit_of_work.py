"""The services' unit of work on SQLAlchemy: one session, one transaction, every repository.

``SqlUnitOfWork(engine)`` opens a transaction each time it is entered (jobs enter it once
per batch) and commits when the block ends, rolling back on any error; entered again inside
the block, it joins the open transaction. ``SqlUnitOfWork.joining(session)`` works in a
transaction somebody else owns (an API request's, a CLI command's): entering it commits
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.crm_reader import SqlCrmReader
from buying_groups.storage.database import make_session_factory
from buying_groups.storage.event_repository import SqlEventLog
from buying_groups.storage.generation_store import SqlGenerationStore
from buying_groups.storage.group_locks import lock_interest_groups, retry_write_races
from buying_groups.storage.job_repository import SqlJobRepository
from buying_groups.storage.membership_repository import SqlMembershipRepository
from buying_groups.storage.review_repository import SqlReviewRepository

R = TypeVar("R")


class NoTransactionError(RuntimeError):
    """A repository was used outside ``with uow:``."""


class SqlUnitOfWork:
    """The ``UnitOfWork`` port (buying_groups.generation.ports) on a SQLAlchemy session."""

    def __init__(self, engine: Engine | None = None, *, session: Session | None = None) -> None:
        if (engine is None) == (session is None):
            raise TypeError("give an engine (own transactions) or a session (joined)")
        self._factory: sessionmaker[Session] | None = (
            make_session_factory(engine) if engine is not None else None
        )
        self._session = session
        self._depth = 0

    @classmethod
    def joining(cls, session: Session) -> SqlUnitOfWork:
        """A unit of work inside ``session``'s transaction, which its owner commits."""
        return cls(session=session)

    def __enter__(self) -> SqlUnitOfWork:
        if self._depth == 0 and self._factory is not None:
            self._session = self._factory()
            self._session.begin()
        self._depth += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth or self._factory is None:
            return
        session, self._session = self._session, None
        assert session is not None
        try:
            if exc_type is None:
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()

    @property
    def session(self) -> Session:
        """The open transaction's session (for storage code that has no port)."""
        if self._session is None or (self._depth == 0 and self._factory is not None):
            raise NoTransactionError("use the unit of work inside 'with uow:'")
        return self._session

    @property
    def jobs(self) -> SqlJobRepository:
        """Generation jobs."""
        return SqlJobRepository(self.session)

    @property
    def configuration(self) -> ConfigurationRepository:
        """Interests, templates, audiences, roles."""
        return ConfigurationRepository(self.session)

    @property
    def generation(self) -> SqlGenerationStore:
        """A job's bulk reads and writes, on the session's connection."""
        return SqlGenerationStore(self.session.connection())

    @property
    def memberships(self) -> SqlMembershipRepository:
        """Groups as domain entities."""
        return SqlMembershipRepository(self.session)

    @property
    def reviews(self) -> SqlReviewRepository:
        """Review items."""
        return SqlReviewRepository(self.session)

    @property
    def crm(self) -> SqlCrmReader:
        """Accounts, persons, activities."""
        return SqlCrmReader(self.session)

    @property
    def events(self) -> SqlEventLog:
        """The outbox."""
        return SqlEventLog(self.session)

    def lock_interest_groups(self, interest_id: int) -> None:
        """See storage.group_locks.lock_interest_groups."""
        lock_interest_groups(self.session.connection(), interest_id)

    def retrying(self, transaction: Callable[[], R]) -> Callable[[], R]:
        """``transaction`` run again on a write race, when it is a transaction of its own.

        Inside an open transaction (joined, or nested) a retry cannot start afresh, so the
        race goes to the owner of the transaction (the API answers it with 409).
        """
        if self._factory is None or self._depth:
            return transaction
        return retry_write_races(transaction)
