"""The reviewer's web page: served without a key, locked down by headers, data via the API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

ClientFactory = Callable[..., TestClient]
STATIC = Path(__file__).resolve().parents[2] / "serving" / "static"


def test_the_page_loads_without_a_key_and_forbids_foreign_code(
    client_factory: ClientFactory,
) -> None:
    anonymous = client_factory()
    page = anonymous.get("/ui/review")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert '<script src="/static/review.js"' in page.text
    assert anonymous.get("/static/review.js").status_code == 200
    assert anonymous.get("/static/ui.css").headers["content-type"].startswith("text/css")
    # The data behind it still needs a key.
    assert anonymous.get("/v1/reviews").status_code == 401


def test_the_old_address_leads_to_the_review_page(client_factory: ClientFactory) -> None:
    response = client_factory().get("/review", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/ui/review"


def test_the_page_is_not_part_of_the_api_schema(client_factory: ClientFactory) -> None:
    paths = client_factory().get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p in ("/", "/review") or p.startswith("/ui")]


def test_the_scripts_never_write_api_data_as_html() -> None:
    for name in ("review.js", "ui.js"):
        script = (STATIC / name).read_text()
        assert "innerHTML" not in script and "outerHTML" not in script
        assert "insertAdjacentHTML" not in script and "document.write" not in script
