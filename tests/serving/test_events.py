"""The event outbox over HTTP and webhook delivery (signed, ordered, retried)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from buying_groups.domain.events import SIGNATURE_HEADER, EventType, retry_delay, verify
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups.storage.event_repository import EventRepository, event_row, record_events
from buying_groups.storage.tables import WebhookRow
from serving.webhooks import dispatch_once

ClientFactory = Callable[..., TestClient]


def _record(engine: Engine, *types: EventType) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        record_events(
            session,
            [
                event_row(
                    t,
                    group_id=None,
                    account_external_id="A1",
                    solution_interest="S",
                    payload={"n": n},
                )
                for n, t in enumerate(types)
            ],
        )


def test_events_are_read_by_cursor_and_type(client: TestClient, engine: Engine) -> None:
    _record(engine, EventType.GROUP_CREATED, EventType.MEMBER_ASSIGNED, EventType.MEMBER_REMOVED)
    first = client.get("/v1/events", params={"limit": 2}).json()
    assert [e["type"] for e in first["events"]] == ["group.created", "member.assigned"]
    rest = client.get("/v1/events", params={"after": first["next_cursor"]}).json()
    assert [e["payload"]["n"] for e in rest["events"]] == [2]
    again = client.get("/v1/events", params={"after": rest["next_cursor"]}).json()
    assert again == {"events": [], "next_cursor": rest["next_cursor"]}
    only = client.get("/v1/events", params={"types": "member.removed"}).json()
    assert [e["type"] for e in only["events"]] == ["member.removed"]


def test_webhooks_need_admin(client_factory: ClientFactory) -> None:
    body = {"url": "https://hooks.example/x"}
    assert client_factory(["write"]).post("/v1/webhooks", json=body).status_code == 403
    created = client_factory(["admin"]).post("/v1/webhooks", json=body)
    assert created.status_code == 201 and len(created.json()["secret"]) > 20


def test_delivery_is_signed_ordered_and_retried(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        hook, secret = EventRepository(session).create_webhook("https://hooks.example/in", [])
        hook_id = hook.id
    _record(engine, EventType.GROUP_CREATED, EventType.MEMBER_ASSIGNED)
    received: list[httpx.Request] = []
    answers = iter([503, 200])

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(next(answers))

    with httpx.Client(transport=httpx.MockTransport(receiver)) as http:
        assert dispatch_once(factory, http) == 0
        with factory() as session:
            failed = session.get_one(WebhookRow, hook_id)
            assert failed.attempts == 1 and failed.last_error == "HTTP 503"
        assert dispatch_once(factory, http) == 0  # backing off: not due yet
        with unit_of_work(factory) as session:
            session.get_one(WebhookRow, hook_id).next_attempt_at = None
        assert dispatch_once(factory, http) == 2
        assert dispatch_once(factory, http) == 0  # nothing new

    last = received[-1]
    body = json.loads(last.content)
    assert [e["type"] for e in body["events"]] == ["group.created", "member.assigned"]
    assert verify(secret, last.content, last.headers[SIGNATURE_HEADER], int(time.time()))
    assert not verify("wrong", last.content, last.headers[SIGNATURE_HEADER], int(time.time()))


def test_backoff_grows_and_is_capped() -> None:
    assert [retry_delay(n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert retry_delay(50) == 3600.0
