"""Generation jobs in the ``generation_jobs`` table (the jobs' ``JobRepository`` port)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from buying_groups.generation.ports import BatchCounts, DuplicateJobKeyError, JobRecord
from buying_groups.storage.tables import (
    AccountAudienceRow,
    GenerationJobRow,
    SolutionInterestRow,
    table_of,
)

JOBS: Final = table_of(GenerationJobRow)
_UNFINISHED: Final = ("queued", "running")


class SqlJobRepository:
    """Jobs read and written in the unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self, interest_id: int, audience_id: int, mode: str, idempotency_key: str | None
    ) -> int:
        """Store a queued job; DuplicateJobKeyError when the key is already taken."""
        row = GenerationJobRow(
            idempotency_key=idempotency_key,
            solution_interest_id=interest_id,
            audience_id=audience_id,
            mode=mode,
            state="queued",
        )
        self.session.add(row)
        try:
            self.session.flush()
        except IntegrityError as exc:
            raise DuplicateJobKeyError(idempotency_key) from exc
        return row.id

    def get(self, job_id: int) -> JobRecord | None:
        """The job, or None."""
        # Fresh from the table: advance() and friends update it without the ORM.
        row = self.session.get(GenerationJobRow, job_id, populate_existing=True)
        return self._record(row) if row else None

    def by_key(self, idempotency_key: str) -> JobRecord | None:
        """The job stored under a caller's key, or None."""
        row = self.session.scalar(
            select(GenerationJobRow).where(GenerationJobRow.idempotency_key == idempotency_key)
        )
        return self._record(row) if row else None

    def unfinished(self) -> list[int]:
        """Queued or running jobs, oldest first."""
        query = (
            select(GenerationJobRow.id)
            .where(GenerationJobRow.state.in_(_UNFINISHED))
            .order_by(GenerationJobRow.id)
        )
        return list(self.session.scalars(query))

    def start(self, job_id: int) -> datetime:
        """Set the job running; returns when it first started."""
        row = self.session.get_one(GenerationJobRow, job_id)
        row.state, row.error = "running", None
        if row.started_at is None:
            row.started_at = datetime.now(UTC)
        started = _utc(row.started_at)
        assert started is not None
        return started

    def fail(self, job_id: int, error: str) -> None:
        """Mark the job failed with ``error``."""
        self._set(job_id, state="failed", error=error)

    def set_total(self, job_id: int, total_accounts: int) -> None:
        """Store how many accounts the job will have processed when it ends."""
        self._set(job_id, total_accounts=total_accounts)

    def cursor(self, job_id: int) -> int:
        """The last account the job finished."""
        query = select(JOBS.c.cursor_account_id).where(JOBS.c.id == job_id)
        return int(self.session.execute(query).scalar_one())

    def advance(self, job_id: int, cursor: int, accounts: int, counts: BatchCounts) -> None:
        """Move the cursor and add a batch's counts (in SQL: concurrent runners add up)."""
        c = JOBS.c
        self._set(
            job_id,
            cursor_account_id=cursor,
            processed_accounts=c.processed_accounts + accounts,
            groups_created=c.groups_created + counts.groups_created,
            groups_updated=c.groups_updated + counts.groups_updated,
            members_added=c.members_added + counts.members_added,
            members_removed=c.members_removed + counts.members_removed,
            members_changed=c.members_changed + counts.members_changed,
            reviews_created=c.reviews_created + counts.reviews_created,
        )

    def succeed(self, job_id: int) -> None:
        """Mark the job succeeded, now."""
        self._set(job_id, state="succeeded", finished_at=datetime.now(UTC))

    def _set(self, job_id: int, **values: Any) -> None:
        self.session.execute(update(JOBS).where(JOBS.c.id == job_id).values(**values))

    def _record(self, row: GenerationJobRow) -> JobRecord:
        interest = self.session.get_one(SolutionInterestRow, row.solution_interest_id)
        audience = self.session.get_one(AccountAudienceRow, row.audience_id)
        return JobRecord(
            job_id=row.id,
            solution_interest=interest.name,
            audience=audience.name,
            mode=row.mode,
            state=row.state,
            total_accounts=row.total_accounts,
            processed_accounts=row.processed_accounts,
            cursor_account_id=row.cursor_account_id,
            groups_created=row.groups_created,
            groups_updated=row.groups_updated,
            members_added=row.members_added,
            members_removed=row.members_removed,
            members_changed=row.members_changed,
            reviews_created=row.reviews_created,
            error=row.error,
            started_at=_utc(row.started_at),
            finished_at=_utc(row.finished_at),
        )


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; they were stored in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
