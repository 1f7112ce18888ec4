"""/docs and /redoc work offline: their assets come from the app, no other host is named."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

ClientFactory = Callable[..., TestClient]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_page_names_no_other_host(client_factory: ClientFactory, path: str) -> None:
    anonymous = client_factory()
    page = anonymous.get(path)
    assert page.status_code == 200
    assert not re.search(r"(src|href)=\"?(https?:)?//", page.text)
    assets = re.findall(r"(?:src|href)=\"(/static-docs/[^\"]+)\"", page.text)
    assert assets
    for asset in assets:
        assert anonymous.get(asset).status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "https:" not in policy


def test_swagger_ui_starts_by_its_script_hash_only(client_factory: ClientFactory) -> None:
    policy = client_factory().get("/docs").headers["content-security-policy"]
    assert re.search(r"script-src 'self' 'sha256-[A-Za-z0-9+/=]+';", policy)
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
