"""The event outbox over HTTP and webhook delivery (signed, ordered, retried)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable, Sequence

import httpx
import pytest
from api_key_factory import make_key
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from webhook_receiver import local_receiver

from buying_groups.domain.events import SIGNATURE_HEADER, EventType, retry_delay, verify
from buying_groups.domain.webhook_targets import Resolver, WebhookTargetPolicy
from buying_groups.settings import Settings
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups.storage.event_repository import EventRepository, event_row, record_events
from buying_groups.storage.tables import WebhookRow
from serving.app import create_app
from serving.routers.events import get_webhook_target_policy
from serving.webhook_transport import webhook_client
from serving.webhooks import dispatch_once, run_dispatcher

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


PUBLIC = "93.184.215.14"


def _fake_dns(answers: dict[str, list[str]]) -> Resolver:
    """A resolver that knows only ``answers`` (the sandbox has no DNS)."""

    def resolve(host: str) -> Sequence[str]:
        if host not in answers:
            raise OSError(f"{host} does not resolve")
        return answers[host]

    return resolve


def _use_dns(client: TestClient, answers: dict[str, list[str]]) -> None:
    """Make the client's app resolve webhook hosts with a fake DNS (and allow no host)."""
    app = client.app
    assert isinstance(app, FastAPI)
    policy = WebhookTargetPolicy((), _fake_dns(answers))
    app.dependency_overrides[get_webhook_target_policy] = lambda: policy


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
    writer = client_factory(["write"])
    _use_dns(writer, {"hooks.example": [PUBLIC]})  # a public host (no DNS in the sandbox)
    assert writer.post("/v1/webhooks", json=body).status_code == 403
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


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:5432/", "loopback"),
        ("http://localhost:8000/", "loopback"),
        ("http://[::1]:8000/", "loopback"),
        ("http://2130706433/", "loopback"),
        ("http://0x7f.0.0.1/", "loopback"),
        ("http://0177.0.0.1/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://0.0.0.0:8000/", "unspecified"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.5/", "private"),
        ("https://192.168.1.1/admin", "private"),
    ],
)
def test_webhooks_to_internal_addresses_are_refused(
    client_factory: ClientFactory, url: str, reason: str
) -> None:
    answer = client_factory(["admin"]).post("/v1/webhooks", json={"url": url})
    assert answer.status_code == 422
    [problem] = answer.json()["errors"]
    assert problem["field"] == "url" and reason in problem["reason"]


def test_a_webhook_host_with_any_internal_address_is_refused(
    client_factory: ClientFactory,
) -> None:
    admin = client_factory(["admin"])
    _use_dns(admin, {"hooks.example": [PUBLIC, "10.0.0.7"], "ok.example": [PUBLIC]})
    refused = admin.post("/v1/webhooks", json={"url": "https://hooks.example/in"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "url"
    unknown = admin.post("/v1/webhooks", json={"url": "https://nowhere.example/in"})
    assert unknown.status_code == 422 and "cannot be resolved" in unknown.json()["detail"]
    assert admin.post("/v1/webhooks", json={"url": "https://ok.example/in"}).status_code == 201
    assert [w["url"] for w in admin.get("/v1/webhooks").json()] == ["https://ok.example/in"]


def test_allowed_hosts_may_subscribe_although_local(engine: Engine) -> None:
    settings = Settings(
        models_enabled=False,
        webhooks_enabled=False,
        webhook_allowed_hosts=["127.0.0.1", "localhost"],
    )
    headers = {"X-API-Key": make_key(engine, ["admin"])}
    with TestClient(create_app(settings, engine=engine), headers=headers) as admin:
        for url in ("http://127.0.0.1:9000/in", "http://localhost:9000/in"):
            assert admin.post("/v1/webhooks", json={"url": url}).status_code == 201
        assert admin.post("/v1/webhooks", json={"url": "http://127.0.0.2/"}).status_code == 422


def _hook(engine: Engine, url: str) -> int:
    """A subscription stored directly (as one made before the policy, or with the setting)."""
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        hook, _ = EventRepository(session).create_webhook(url, [])
        hook_id = hook.id
    _record(engine, EventType.GROUP_CREATED)
    return hook_id


def _last_error(engine: Engine, hook_id: int) -> str | None:
    with make_session_factory(engine)() as session:
        return session.get_one(WebhookRow, hook_id).last_error


def test_delivery_to_an_internal_address_is_refused(engine: Engine) -> None:
    with local_receiver() as receiver:
        direct = _hook(engine, f"http://127.0.0.1:{receiver.port}/in")
        policy = WebhookTargetPolicy((), _fake_dns({}))
        with webhook_client(policy) as http:
            assert dispatch_once(make_session_factory(engine), http) == 0
    assert receiver.requests == []
    assert _last_error(engine, direct) == "target refused by policy"


def test_delivery_resolves_again_and_refuses_a_name_now_pointing_inside(engine: Engine) -> None:
    with local_receiver() as receiver:
        hook = _hook(engine, f"http://hooks.example:{receiver.port}/in")  # was public once
        policy = WebhookTargetPolicy((), _fake_dns({"hooks.example": [PUBLIC, "127.0.0.1"]}))
        with webhook_client(policy) as http:
            assert dispatch_once(make_session_factory(engine), http) == 0
    assert receiver.requests == []
    assert _last_error(engine, hook) == "target refused by policy"


def test_delivery_reaches_an_allowed_local_receiver(engine: Engine) -> None:
    with local_receiver() as receiver:
        _hook(engine, f"http://receiver.test:{receiver.port}/in")
        dns = _fake_dns({"receiver.test": ["127.0.0.1"]})
        with webhook_client(WebhookTargetPolicy(["receiver.test"], dns)) as http:
            assert dispatch_once(make_session_factory(engine), http) == 1
    [request] = receiver.requests
    assert request.path == "/in" and request.host == f"receiver.test:{receiver.port}"


def test_redirects_are_not_followed(engine: Engine) -> None:
    with local_receiver() as receiver:
        receiver.status, receiver.headers = 302, {"Location": "http://169.254.169.254/"}
        hook = _hook(engine, f"http://127.0.0.1:{receiver.port}/in")
        with webhook_client(WebhookTargetPolicy(["127.0.0.1"], _fake_dns({}))) as http:
            assert dispatch_once(make_session_factory(engine), http) == 0
    assert len(receiver.requests) == 1
    assert _last_error(engine, hook) == "HTTP 302"


def test_last_error_tells_a_closed_port_only_that_it_could_not_connect(engine: Engine) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hook = _hook(engine, f"http://127.0.0.1:{port}/in")
    with webhook_client(WebhookTargetPolicy(["127.0.0.1"], _fake_dns({}))) as http:
        assert dispatch_once(make_session_factory(engine), http) == 0
    assert _last_error(engine, hook) == "could not connect"


def test_last_error_tells_a_silent_port_only_that_it_timed_out(engine: Engine) -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        hook = _hook(engine, f"http://127.0.0.1:{silent.getsockname()[1]}/in")
        policy = WebhookTargetPolicy(["127.0.0.1"], _fake_dns({}))
        with webhook_client(policy, timeout=0.3) as http:
            assert dispatch_once(make_session_factory(engine), http) == 0
    assert _last_error(engine, hook) == "timed out"


async def _dispatch_for_a_moment(engine: Engine, allowed_hosts: list[str]) -> None:
    """Run the server's dispatcher until it has made one attempt."""
    factory = make_session_factory(engine)
    task = asyncio.create_task(run_dispatcher(factory, 0.05, allowed_hosts))
    for _ in range(100):
        await asyncio.sleep(0.05)
        with factory() as session:
            if any(w.cursor_event_id or w.attempts for w in EventRepository(session).webhooks()):
                break
    task.cancel()


@pytest.mark.parametrize(("allowed", "delivered"), [([], False), (["127.0.0.1"], True)])
def test_the_servers_dispatcher_delivers_only_to_allowed_local_hosts(
    engine: Engine, allowed: list[str], delivered: bool
) -> None:
    with local_receiver() as receiver:
        hook = _hook(engine, f"http://127.0.0.1:{receiver.port}/in")
        asyncio.run(_dispatch_for_a_moment(engine, allowed))
    assert len(receiver.requests) == int(delivered)
    assert _last_error(engine, hook) == (None if delivered else "target refused by policy")
