"""The event outbox, read by cursor, and webhook subscriptions (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from buying_groups.domain.events import SIGNATURE_HEADER, EventType
from buying_groups.domain.webhook_targets import WebhookTargetPolicy
from buying_groups.storage.event_repository import EventRepository
from buying_groups.storage.tables import WebhookRow
from serving.dependencies import SessionDep, SettingsDep
from serving.problems import PROBLEM_RESPONSES
from serving.security import authorize_admin
from serving.webhook_transport import system_resolver

router = APIRouter(prefix="/v1", tags=["events"], responses=PROBLEM_RESPONSES)


class EventPublic(BaseModel):
    """One change: group created, member assigned/removed, stage or status changed."""

    id: int = Field(examples=[42])
    type: EventType
    occurred_at: datetime
    account_external_id: str | None = Field(examples=["ACC-000001"])
    solution_interest: str | None = Field(examples=["Secure Edge"])
    payload: dict[str, Any] = Field(examples=[{"person_external_id": "PER-1", "role": "Champion"}])


class EventsPublic(BaseModel):
    """A page of events and the cursor to pass as `after` next time."""

    events: list[EventPublic]
    next_cursor: int = Field(examples=[42])


@router.get("/events", response_model=EventsPublic, summary="Read events after a cursor")
def list_events(
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="Last event id seen (0: start).")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    types: Annotated[list[EventType] | None, Query(description="Only these types.")] = None,
) -> EventsPublic:
    """Events oldest first; poll with the returned `next_cursor`."""
    events = EventRepository(session).after(after, limit, [t.value for t in types or []])
    return EventsPublic(
        events=[EventPublic.model_validate(e.as_dict()) for e in events],
        next_cursor=events[-1].id if events else after,
    )


class WebhookCreate(BaseModel):
    """A subscriber URL and the event types it wants (empty: all)."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl = Field(examples=["https://marketing.example/hooks/buying-groups"])
    event_types: list[EventType] = Field(default_factory=list, max_length=10)


class WebhookPublic(BaseModel):
    """A subscription and its delivery state."""

    id: int
    url: str
    event_types: list[str]
    active: bool
    cursor_event_id: int
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None

    @classmethod
    def of(cls, row: WebhookRow) -> WebhookPublic:
        """Convert a stored subscription."""
        return cls.model_validate(row, from_attributes=True)


class WebhookCreated(WebhookPublic):
    """A new subscription with its signing secret, shown only now."""

    secret: str = Field(description=f"HMAC-SHA256 key for the {SIGNATURE_HEADER} header.")


admin = [Depends(authorize_admin)]


def get_webhook_target_policy(settings: SettingsDep) -> WebhookTargetPolicy:
    """Which hosts may receive webhooks, resolved by the system resolver."""
    return WebhookTargetPolicy(settings.webhook_allowed_hosts, system_resolver)


WebhookTargetPolicyDep = Annotated[WebhookTargetPolicy, Depends(get_webhook_target_policy)]


@router.post(
    "/webhooks",
    response_model=WebhookCreated,
    status_code=status.HTTP_201_CREATED,
    dependencies=admin,
    summary="Subscribe a webhook",
)
def create_webhook(
    body: WebhookCreate, session: SessionDep, targets: WebhookTargetPolicyDep
) -> WebhookCreated:
    """Deliver future events to `url` in order, signed, retried with exponential backoff.

    The URL's host must be or resolve to public addresses only (unless the server's
    `BG_WEBHOOK_ALLOWED_HOSTS` lists it); each delivery checks again.
    """
    targets.check_url(str(body.url))
    types = [t.value for t in body.event_types]
    row, secret = EventRepository(session).create_webhook(str(body.url), types)
    return WebhookCreated(**WebhookPublic.of(row).model_dump(), secret=secret)


@router.get(
    "/webhooks", response_model=list[WebhookPublic], dependencies=admin, summary="List webhooks"
)
def list_webhooks(session: SessionDep) -> list[WebhookPublic]:
    """Every subscription with its delivery state."""
    return [WebhookPublic.of(r) for r in EventRepository(session).webhooks()]


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=admin,
    summary="Delete a webhook",
)
def delete_webhook(
    webhook_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep
) -> None:
    """Stop delivering to a subscriber."""
    EventRepository(session).delete_webhook(webhook_id)
