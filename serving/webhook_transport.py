"""An HTTP client for webhooks that connects only to addresses the target policy checked.

Checking a name and then letting the HTTP library resolve it again leaves a window in which
DNS can change its answer (DNS rebinding). Here the connection layer resolves each host once,
checks every address and opens the socket to a checked address itself; the request keeps the
original Host header and TLS server name, so certificates are verified against the name.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Sequence

import httpcore
import httpx

from buying_groups.domain.webhook_targets import WebhookTargetPolicy, WebhookTargetRefusedError

#: Opens a TCP connection: (address, port, timeout, local address, socket options).
Connector = Callable[
    [str, int, float | None, str | None, Iterable[httpcore.SOCKET_OPTION] | None],
    httpcore.NetworkStream,
]


def system_resolver(host: str) -> Sequence[str]:
    """The addresses the system resolver gives ``host`` (OSError when there are none)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (UnicodeError, ValueError) as exc:  # a label too long, a NUL character
        raise OSError(f"cannot resolve {host!r}") from exc
    return [str(info[4][0]) for info in infos]


class PinnedNetworkBackend(httpcore.NetworkBackend):
    """Resolves and checks each host, then connects to one of the checked addresses."""

    def __init__(self, policy: WebhookTargetPolicy, connect: Connector | None = None) -> None:
        self._policy = policy
        self._sync = httpcore.SyncBackend()
        self._connect = connect or self._sync.connect_tcp

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect to the first checked address of ``host`` that answers."""
        try:
            addresses = self._policy.addresses(host)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host!r}") from exc
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return self._connect(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # addresses is never empty
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Never: a webhook goes over TCP."""
        raise WebhookTargetRefusedError("webhooks are not sent to Unix sockets")

    def sleep(self, seconds: float) -> None:
        """Wait between retries (httpcore's own)."""
        self._sync.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport over a PinnedNetworkBackend; no proxy, no environment settings."""

    def __init__(self, policy: WebhookTargetPolicy, connect: Connector | None = None) -> None:
        super().__init__(trust_env=False)
        # httpx takes no network backend, so its pool is replaced by an equal one that has
        # it; tests/serving/test_events.py delivers through this to catch an httpx change.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=PinnedNetworkBackend(policy, connect),
        )


def webhook_client(
    policy: WebhookTargetPolicy, timeout: float = 5.0, connect: Connector | None = None
) -> httpx.Client:
    """A client that sends only to checked addresses and follows no redirect."""
    return httpx.Client(
        transport=PinnedTransport(policy, connect),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
