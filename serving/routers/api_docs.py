"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc``, working offline.

FastAPI's own pages load Swagger UI and ReDoc from a CDN: without internet they are blank.
Here their assets come from the ``fastapi-offline`` package (MIT; it ships Swagger UI's and
ReDoc's release files) and are served by the app, so the pages name no other host.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/static-docs"
OPENAPI_URL = "/openapi.json"
TITLE = "buying-groups API"
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

router = APIRouter(include_in_schema=False)


def _policy(page: str) -> str:
    """Only this origin; the page's one inline start-up script by its hash. Both tools
    inject style elements and ReDoc runs a worker from a blob, hence those two sources."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in INLINE_SCRIPT.findall(page)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
        "object-src 'none'"
    )


def _page(response: HTMLResponse) -> tuple[str, dict[str, str]]:
    """The page's HTML and its headers (built once: the page never changes)."""
    page = bytes(response.body).decode()
    headers = {
        "Content-Security-Policy": _policy(page),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return page, headers


SWAGGER_UI = _page(
    get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=f"{TITLE} · Swagger UI",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        oauth2_redirect_url=None,
        swagger_ui_parameters={"persistAuthorization": False},
    )
)
REDOC = _page(
    get_redoc_html(
        openapi_url=OPENAPI_URL,
        title=f"{TITLE} · ReDoc",
        redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
        with_google_fonts=False,
    )
)


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    """Swagger UI: read the API and try it (Authorize with an API key)."""
    return HTMLResponse(SWAGGER_UI[0], headers=SWAGGER_UI[1])


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    """ReDoc: the API reference on one page."""
    return HTMLResponse(REDOC[0], headers=REDOC[1])


def assets() -> StaticFiles:
    """Swagger UI's and ReDoc's files, mounted at ``ASSETS_URL``."""
    return StaticFiles(directory=ASSETS)
