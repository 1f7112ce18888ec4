"""The webhook target policy: only globally routable unicast addresses, however they are spelled."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import ip_address

import pytest

from buying_groups.domain.webhook_targets import (
    WebhookTargetPolicy,
    WebhookTargetRefusedError,
    address_refusal,
    literal_address,
)

PUBLIC = "93.184.215.14"


def _resolver(
    answers: dict[str, list[str]], allowed_hosts: Sequence[str] = ()
) -> WebhookTargetPolicy:
    """A policy over a fake DNS that knows only ``answers``."""

    def resolve(host: str) -> Sequence[str]:
        if host not in answers:
            raise OSError(f"{host} does not resolve")
        return answers[host]

    return WebhookTargetPolicy(allowed_hosts=allowed_hosts, resolve=resolve)


def _no_dns(host: str) -> Sequence[str]:
    raise AssertionError(f"a literal address was sent to the resolver: {host}")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "0.0.0.0",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "240.0.0.1",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::127.0.0.1",
        "2002:7f00:1::",
        "2002:a9fe:a9fe::1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::1",
        "2001:db8::1",
    ],
)
def test_addresses_that_are_not_public_unicast_are_refused(address: str) -> None:
    assert address_refusal(ip_address(address)) is not None


@pytest.mark.parametrize(
    "address", [PUBLIC, "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_unicast_addresses_pass(address: str) -> None:
    assert address_refusal(ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("[::1]", "::1"),
        ("[::ffff:7f00:1]", "::ffff:127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
    ],
)
def test_every_spelling_of_an_ip_address_is_read_as_one(host: str, address: str) -> None:
    assert literal_address(host) == ip_address(address)


@pytest.mark.parametrize("host", ["hooks.example", "1.2.3.4.example", "0x7f.example", "face.b00c"])
def test_names_are_not_read_as_addresses(host: str) -> None:
    assert literal_address(host) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f.0.0.1:8080/",
        "http://0177.0.0.1/",
        "http://0.0.0.0/",
        "http://[::1]:9000/",
        "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/",
        "http://localhost/",
        "http://LOCALHOST./",
        "http://api.localhost/",
    ],
)
def test_urls_naming_internal_addresses_are_refused_without_a_lookup(url: str) -> None:
    with pytest.raises(WebhookTargetRefusedError) as refused:
        WebhookTargetPolicy(allowed_hosts=(), resolve=_no_dns).check_url(url)
    assert refused.value.field == "url"


def test_a_name_is_refused_when_any_of_its_addresses_is_internal() -> None:
    policy = _resolver({"hooks.example": [PUBLIC, "10.0.0.7"]})
    with pytest.raises(WebhookTargetRefusedError, match="private address"):
        policy.check_url("https://hooks.example/in")


def test_a_name_resolving_only_to_public_addresses_passes() -> None:
    policy = _resolver({"hooks.example": [PUBLIC, "2606:4700::1111"]})
    policy.check_url("https://hooks.example/in")
    assert policy.addresses("hooks.example") == [ip_address(PUBLIC), ip_address("2606:4700::1111")]


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(WebhookTargetRefusedError, match="cannot be resolved"):
        _resolver({}).check_url("https://nowhere.example/")


@pytest.mark.parametrize("url", ["ftp://hooks.example/", "file:///etc/passwd", "https:///x"])
def test_only_http_and_https_urls_with_a_host_are_accepted(url: str) -> None:
    with pytest.raises(WebhookTargetRefusedError):
        _resolver({"hooks.example": [PUBLIC]}).check_url(url)


def test_allowed_hosts_skip_the_check_and_are_matched_exactly() -> None:
    policy = _resolver(
        {"receiver.test": ["127.0.0.1"], "other.receiver.test": ["127.0.0.1"]},
        allowed_hosts=("Receiver.Test", "127.0.0.1"),
    )
    policy.check_url("http://receiver.test:9000/in")
    assert policy.addresses("2130706433") == [ip_address("127.0.0.1")]  # one address, any form
    assert policy.addresses("receiver.test") == [ip_address("127.0.0.1")]
    with pytest.raises(WebhookTargetRefusedError):
        policy.check_url("http://other.receiver.test/")  # a sub-domain is not listed
    with pytest.raises(WebhookTargetRefusedError):
        policy.check_url("http://127.0.0.2/")
    with pytest.raises(WebhookTargetRefusedError):
        policy.check_url("http://localhost/")  # a name other than those listed
