"""Which hosts a webhook may be delivered to: globally routable unicast addresses only.

A subscriber URL is chosen by an admin, but the server makes the request from inside the
network: without this policy a webhook could reach the cloud metadata service, a database
port or an admin page on loopback. The policy is pure; resolving a name is a function the
caller hands in (the system resolver in production, a fake in tests).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address
from urllib.parse import urlsplit

from buying_groups.domain.errors import InvariantError

IPAddress = IPv4Address | IPv6Address
#: Host name -> the addresses it resolves to; raises OSError when it resolves to none.
Resolver = Callable[[str], Sequence[str]]

SCHEMES = ("http", "https")
# Ranges whose last 32 bits are an IPv4 address a gateway forwards to (6to4, NAT64).
_EMBEDDING_IPV4 = (IPv6Network("2002::/16"), IPv6Network("64:ff9b::/96"))
_NAT64_LOCAL = IPv6Network("64:ff9b:1::/48")
# Every form inet_aton (and so getaddrinfo) reads as IPv4: 2130706433, 0x7f.1, 0177.0.0.1.
_NUMERIC_HOST = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}", re.IGNORECASE)


class WebhookTargetRefusedError(InvariantError):
    """A webhook URL points at an address the server must not send requests to."""

    title = "Webhook target refused"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="url")


def address_refusal(address: IPAddress) -> str | None:
    """Why no webhook may go to ``address``; None for a globally routable unicast address."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return address_refusal(embedded)
    # is_global alone lets multicast (224.0.0.0/4) through, and on Python 3.11 6to4 too.
    checks = (
        ("an unspecified address", address.is_unspecified),
        ("a loopback address", address.is_loopback),
        ("a link-local address", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("a private address", address.is_private),
        ("a reserved address", address.is_reserved),
        ("a site-local address", isinstance(address, IPv6Address) and address.is_site_local),
        ("a local NAT64 address", isinstance(address, IPv6Address) and address in _NAT64_LOCAL),
        ("an address that is not globally routable", not address.is_global),
    )
    return next((reason for reason, applies in checks if applies), None)


def _embedded_ipv4(address: IPAddress) -> IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, 6to4, NAT64), if any."""
    if isinstance(address, IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _EMBEDDING_IPV4[1]:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def literal_address(host: str) -> IPAddress | None:
    """``host`` as an IP address, in any form a resolver reads as one; None for a name."""
    host = _normalised(host)
    try:
        return ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _normalised(host: str) -> str:
    """Lower case, without IPv6 brackets or the trailing dot of a fully qualified name."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host[:-1] if host.endswith(".") else host


@dataclass(frozen=True)
class WebhookTargetPolicy:
    """Refuse webhook hosts that are or resolve to anything but public unicast addresses.

    Args:
        allowed_hosts: host names or IP addresses that skip the address check (local
            development and tests); a URL's host must equal one of them.
        resolve: turns a host name into its addresses.
    """

    allowed_hosts: Collection[str]
    resolve: Resolver

    def check_url(self, url: str) -> None:
        """Raise WebhookTargetRefusedError unless ``url`` may receive webhooks."""
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise WebhookTargetRefusedError("a webhook URL must be http:// or https:// with a host")
        if self._allowed(parts.hostname):
            return  # resolved only when delivering: a development name may not resolve yet
        try:
            self.addresses(parts.hostname)
        except OSError:
            raise WebhookTargetRefusedError(
                f"the host {parts.hostname!r} cannot be resolved"
            ) from None

    def addresses(self, host: str) -> list[IPAddress]:
        """Resolve ``host`` once and check every address; connect only to these.

        Raises:
            WebhookTargetRefusedError: the host or one of its addresses is refused.
            OSError: the host resolves to no address.
        """
        name = _normalised(host)
        literal = literal_address(name)
        if self._allowed(name):
            return [literal] if literal is not None else self._resolved(name)
        if literal is not None:
            return [self._checked(literal, host)]
        if name == "localhost" or name.endswith(".localhost"):
            raise WebhookTargetRefusedError(f"the host {host!r} is a loopback name")
        return [self._checked(address, host) for address in self._resolved(name)]

    def _allowed(self, host: str) -> bool:
        name, literal = _normalised(host), literal_address(host)
        for allowed in self.allowed_hosts:
            allowed_literal = literal_address(allowed)
            if literal is not None and allowed_literal == literal:
                return True
            if literal is None and allowed_literal is None and _normalised(allowed) == name:
                return True
        return False

    def _resolved(self, name: str) -> list[IPAddress]:
        addresses = [ip_address(a) for a in self.resolve(name)]
        if not addresses:
            raise OSError(f"{name!r} resolves to no address")
        return list(dict.fromkeys(addresses))

    @staticmethod
    def _checked(address: IPAddress, host: str) -> IPAddress:
        reason = address_refusal(address)
        if reason is not None:
            raise WebhookTargetRefusedError(
                f"the host {host!r} is or resolves to {reason}; webhooks go only to public "
                "addresses (BG_WEBHOOK_ALLOWED_HOSTS lists hosts exempt from this)"
            )
        return address
