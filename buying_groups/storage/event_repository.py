"""The event outbox and webhook subscriptions."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, or_, select
from sqlalchemy.orm import Session

from buying_groups.domain.errors import InvariantError, NotFoundError
from buying_groups.domain.events import EventType, retry_delay
from buying_groups.generation.ports import EventRecord
from buying_groups.storage.tables import EventRow, WebhookRow


@dataclass(frozen=True)
class Event:
    """One recorded change; ``id`` is the cursor to read on from."""

    id: int
    type: str
    occurred_at: datetime
    account_external_id: str | None
    solution_interest: str | None
    payload: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The JSON form sent to apps and webhooks."""
        return {
            "id": self.id,
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat(),
            "account_external_id": self.account_external_id,
            "solution_interest": self.solution_interest,
            "payload": self.payload,
        }


def event_row(
    event_type: EventType,
    *,
    group_id: int | None,
    account_external_id: str | None,
    solution_interest: str | None,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """The values of one outbox row (for ``record_events``)."""
    return {
        "type": event_type.value,
        "occurred_at": datetime.now(UTC),
        "group_id": group_id,
        "account_external_id": account_external_id,
        "solution_interest": solution_interest,
        "payload": payload,
    }


def record_events(conn: Connection | Session, rows: Sequence[dict[str, Any]]) -> None:
    """Append events in the caller's transaction, so they exist exactly when the change does."""
    if rows:
        conn.execute(insert(EventRow), list(rows))


class SqlEventLog:
    """The ``EventLog`` port: appends to the outbox in the session's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, events: Sequence[EventRecord]) -> None:
        """Append the events, timestamped now."""
        record_events(
            self.session,
            [
                event_row(
                    e.type,
                    group_id=e.group_id,
                    account_external_id=e.account_external_id,
                    solution_interest=e.solution_interest,
                    payload=e.payload,
                )
                for e in events
            ],
        )


def _event(row: EventRow) -> Event:
    occurred = row.occurred_at if row.occurred_at.tzinfo else row.occurred_at.replace(tzinfo=UTC)
    return Event(
        row.id, row.type, occurred, row.account_external_id, row.solution_interest, row.payload
    )


class EventRepository:
    """Read the outbox; manage webhook subscriptions and their delivery state."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def after(self, cursor: int, limit: int, types: Sequence[str] = ()) -> list[Event]:
        """Events with an id greater than ``cursor``, oldest first."""
        query = select(EventRow).where(EventRow.id > cursor).order_by(EventRow.id).limit(limit)
        if types:
            query = query.where(EventRow.type.in_(list(types)))
        return [_event(r) for r in self.session.scalars(query)]

    def of_group(self, group_id: int, limit: int = 20) -> list[Event]:
        """The newest events of one buying group, newest first."""
        query = (
            select(EventRow)
            .where(EventRow.group_id == group_id)
            .order_by(EventRow.id.desc())
            .limit(limit)
        )
        return [_event(r) for r in self.session.scalars(query)]

    def latest_id(self) -> int:
        """The id of the newest event (0 when there is none)."""
        return self.session.scalar(select(EventRow.id).order_by(EventRow.id.desc())) or 0

    def create_webhook(
        self, url: str, event_types: Sequence[str], from_now: bool = True
    ) -> tuple[WebhookRow, str]:
        """Subscribe ``url``; returns the row and the signing secret (shown once)."""
        if not url.startswith(("http://", "https://")):
            raise InvariantError("a webhook URL must start with http:// or https://", field="url")
        known = {t.value for t in EventType}
        unknown = sorted(set(event_types) - known)
        if unknown:
            raise InvariantError(f"unknown event type(s) {unknown}", field="event_types")
        secret = secrets.token_urlsafe(32)
        row = WebhookRow(
            url=url,
            secret=secret,
            event_types=sorted(set(event_types)),
            cursor_event_id=self.latest_id() if from_now else 0,
        )
        self.session.add(row)
        self.session.flush()
        return row, secret

    def webhooks(self) -> list[WebhookRow]:
        """Every subscription."""
        return list(self.session.scalars(select(WebhookRow).order_by(WebhookRow.id)))

    def delete_webhook(self, webhook_id: int) -> None:
        """Unsubscribe."""
        row = self.session.get(WebhookRow, webhook_id)
        if row is None:
            raise NotFoundError(f"webhook {webhook_id} does not exist")
        self.session.delete(row)

    def due_webhooks(self, now: datetime) -> list[WebhookRow]:
        """Active subscriptions whose next attempt is due."""
        query = select(WebhookRow).where(
            WebhookRow.active.is_(True),
            or_(WebhookRow.next_attempt_at.is_(None), WebhookRow.next_attempt_at <= now),
        )
        return list(self.session.scalars(query.order_by(WebhookRow.id)))

    def mark_delivered(self, row: WebhookRow, last_event_id: int) -> None:
        """Move the subscription's cursor past what was delivered."""
        row.cursor_event_id, row.attempts = last_event_id, 0
        row.next_attempt_at, row.last_error = None, None

    def mark_failed(self, row: WebhookRow, error: str, now: datetime) -> None:
        """Back off exponentially before the next attempt."""
        row.attempts += 1
        row.last_error = error[:2000]
        row.next_attempt_at = now + timedelta(seconds=retry_delay(row.attempts))
