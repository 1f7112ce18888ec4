"""The webhook client connects to the address it checked, however DNS answers next."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import httpcore
import httpx
import pytest
from webhook_receiver import local_receiver

from buying_groups.domain.webhook_targets import WebhookTargetPolicy
from serving.webhook_transport import webhook_client

PUBLIC = "93.184.215.14"


class RebindingDns:
    """Answers a public address first and loopback afterwards, as a rebinding attacker would."""

    def __init__(self) -> None:
        self.lookups = 0

    def __call__(self, host: str) -> Sequence[str]:
        self.lookups += 1
        return [PUBLIC] if self.lookups == 1 else ["127.0.0.1"]


class RecordingConnector:
    """Stands in for the network (only 127.0.0.1 is reachable here): notes where it was sent."""

    def __init__(self) -> None:
        self.addresses: list[tuple[str, int]] = []

    def __call__(
        self,
        address: str,
        port: int,
        timeout: float | None,
        local_address: str | None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None,
    ) -> httpcore.NetworkStream:
        self.addresses.append((address, port))
        raise httpcore.ConnectError("unreachable from the sandbox")


def test_a_rebinding_name_is_connected_to_at_the_address_that_was_checked() -> None:
    dns, network = RebindingDns(), RecordingConnector()
    with local_receiver() as receiver:
        policy = WebhookTargetPolicy((), dns)
        with webhook_client(policy, connect=network) as http, pytest.raises(httpx.ConnectError):
            http.post(f"http://rebind.example:{receiver.port}/in", content=b"{}")
    assert network.addresses == [(PUBLIC, receiver.port)]
    assert dns.lookups == 1
    assert receiver.requests == []


def test_the_request_keeps_its_host_header_while_going_to_the_resolved_address() -> None:
    with local_receiver() as receiver:
        policy = WebhookTargetPolicy(["receiver.test"], lambda host: ["127.0.0.1"])
        with webhook_client(policy) as http:
            answer = http.post(f"http://receiver.test:{receiver.port}/in", content=b"{}")
    assert answer.status_code == 200
    assert [r.host for r in receiver.requests] == [f"receiver.test:{receiver.port}"]


def test_proxy_variables_cannot_route_around_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9/")  # nothing listens on the discard port
    with local_receiver() as receiver:
        policy = WebhookTargetPolicy(["127.0.0.1"], lambda host: [])
        with webhook_client(policy) as http:
            answer = http.post(f"http://127.0.0.1:{receiver.port}/in", content=b"{}")
    assert answer.status_code == 200 and len(receiver.requests) == 1
