"""The queue of Adobe Journey Optimizer B2B action requests, and the CRM records they name.

A request is stored before it is answered (``pending``); the worker decides the roles and
stores the callback body in the same transaction as the member changes (``processed``), so
the changes happen once however often the delivery is retried; then it delivers the body
(``delivered``) or gives up (``failed``). A worker holds a row through a lease
(``locked_until``), so two processes never work on one request at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from buying_groups.storage.tables import AccountRow, AjoActionRow, PersonRow


class ActionState(StrEnum):
    """Where a request is: waiting for its roles, waiting for delivery, or done."""

    PENDING = "pending"
    PROCESSED = "processed"
    DELIVERED = "delivered"
    FAILED = "failed"


OPEN_STATES = (ActionState.PENDING.value, ActionState.PROCESSED.value)


def digest(text: str | bytes) -> str:
    """SHA-256 in hex (tokens and bodies are compared by it)."""
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


@dataclass(frozen=True)
class NewAction:
    """What a request stores before it is answered."""

    request_id: str
    token: str
    body_digest: str
    callback_url: str
    object_type: str
    request: dict[str, Any]
    deadline_at: datetime


class AjoActionRepository:
    """Store, claim and settle action requests."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def by_token(self, token: str) -> AjoActionRow | None:
        """The request stored under ``token``, if any."""
        return self.session.scalar(
            select(AjoActionRow).where(AjoActionRow.token_digest == digest(token))
        )

    def add(self, action: NewAction) -> AjoActionRow:
        """Store a new request (IntegrityError when its token is taken)."""
        row = AjoActionRow(
            request_id=action.request_id,
            token=action.token,
            token_digest=digest(action.token),
            body_digest=action.body_digest,
            callback_url=action.callback_url,
            object_type=action.object_type,
            request=action.request,
            deadline_at=action.deadline_at,
            state=ActionState.PENDING.value,
        )
        with self.session.begin_nested():
            self.session.add(row)
        return row

    def due(self, now: datetime, limit: int) -> list[int]:
        """Open requests whose next attempt is due and that no worker holds."""
        query = (
            select(AjoActionRow.id)
            .where(
                AjoActionRow.state.in_(OPEN_STATES),
                or_(AjoActionRow.next_attempt_at.is_(None), AjoActionRow.next_attempt_at <= now),
                or_(AjoActionRow.locked_until.is_(None), AjoActionRow.locked_until < now),
            )
            .order_by(AjoActionRow.id)
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def claim(self, action_id: int, now: datetime, lease: timedelta) -> bool:
        """Take the lease of a request; False when another worker holds it."""
        result = self.session.execute(
            update(AjoActionRow)
            .where(
                AjoActionRow.id == action_id,
                AjoActionRow.state.in_(OPEN_STATES),
                or_(AjoActionRow.locked_until.is_(None), AjoActionRow.locked_until < now),
            )
            .values(locked_until=now + lease)
        )
        return bool(getattr(result, "rowcount", 0))

    def get(self, action_id: int) -> AjoActionRow:
        """One request."""
        return self.session.get_one(AjoActionRow, action_id)

    def processed(self, row: AjoActionRow, callback: dict[str, Any]) -> None:
        """Keep the callback body to deliver (and deliver again, unchanged, on a retry)."""
        row.state, row.callback = ActionState.PROCESSED.value, callback

    def delivered(self, row: AjoActionRow, now: datetime) -> None:
        """The callback arrived."""
        row.state, row.delivered_at, row.locked_until = ActionState.DELIVERED.value, now, None
        row.attempts += 1
        row.last_error = None

    def retry_at(self, row: AjoActionRow, error: str, when: datetime) -> None:
        """An attempt failed; try again at ``when``."""
        row.attempts += 1
        row.last_error, row.next_attempt_at, row.locked_until = error[:2000], when, None

    def failed(self, row: AjoActionRow, error: str) -> None:
        """Give up (the deadline passed, or every attempt failed)."""
        row.state, row.last_error, row.locked_until = ActionState.FAILED.value, error[:2000], None

    def release(self, row: AjoActionRow) -> None:
        """Let any worker take the request again now."""
        row.locked_until = None


@dataclass(frozen=True)
class JourneyPerson:
    """A person as a journey names them: Adobe's id and the lead fields it sent."""

    external_id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    job_title: str | None
    department: str | None
    country: str | None


class JourneyCrm:
    """Find the CRM records a journey names, creating those the CRM does not have yet.

    Records that exist are never changed: imports own the CRM. A journey's account is its
    external id; a person is their external id, else their e-mail address within the
    account.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def account(self, external_id: str, fields: Mapping[str, Any]) -> AccountRow:
        """The account ``external_id``, created from the journey's fields if it is new."""
        row = self.session.scalar(select(AccountRow).where(AccountRow.external_id == external_id))
        if row is not None:
            return row
        row = AccountRow(
            external_id=external_id,
            name=_text(fields.get("accountName"), 255) or external_id,
            domain=_text(fields.get("domain"), 255),
            industry=_text(fields.get("industry"), 100),
            employees=_count(fields.get("employeeCount")),
            revenue=_amount(fields.get("annualRevenue")),
        )
        self.session.add(row)
        self.session.flush()
        return row

    def person(self, account: AccountRow, person: JourneyPerson) -> PersonRow:
        """The person, created in ``account`` if neither their id nor e-mail is known."""
        row = self.session.scalar(
            select(PersonRow).where(PersonRow.external_id == person.external_id)
        )
        if row is None and person.email:
            row = self.session.scalar(
                select(PersonRow)
                .where(
                    PersonRow.account_id == account.id,
                    func.lower(PersonRow.email) == person.email.lower(),
                )
                .order_by(PersonRow.id)
                .limit(1)
            )
        if row is not None:
            return row
        row = PersonRow(
            external_id=person.external_id,
            account_id=account.id,
            email=_text(person.email, 320),
            first_name=_text(person.first_name, 100),
            last_name=_text(person.last_name, 100),
            job_title=_text(person.job_title, 300),
            department=_text(person.department, 150),
            country=person.country if person.country and len(person.country) == 2 else None,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def persons_of(self, account: AccountRow, limit: int) -> list[PersonRow]:
        """The account's persons (at most ``limit``), oldest first."""
        query = select(PersonRow).where(PersonRow.account_id == account.id)
        return list(self.session.scalars(query.order_by(PersonRow.id).limit(limit)))


def _text(value: Any, size: int) -> str | None:
    """A non-empty string cut to the column's size; anything else is None."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:size]


def _count(value: Any) -> int | None:
    """A whole number an Integer column holds; anything else is None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return int(value) if 0 <= value < 2**31 else None


def _amount(value: Any) -> float | None:
    """A finite number; anything else is None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value) if abs(value) < 1e300 else None
    return number
