"""Addresses people type in, the headers every page is served with, and the static files.

The web app itself lives under ``/ui`` (``serving/routers/ui.py``); ``/`` and the old
``/review`` lead there.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parents[1] / "static"
#: Only this origin's scripts, styles and API calls; no inline script or style; no framing
#: (clickjacking); forms submit only here (the groups filter is a plain GET form).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
#: Fragments and exports carry tenant data: never stored by the browser or a proxy.
DATA_HEADERS = PAGE_HEADERS | {"Cache-Control": "no-store"}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home() -> RedirectResponse:
    """People who open the service's address land on the groups."""
    return RedirectResponse("/ui/groups")


@router.get("/review")
async def review_page() -> RedirectResponse:
    """The review queue moved into the web app."""
    return RedirectResponse("/ui/review")


def static_files() -> StaticFiles:
    """The pages' scripts and style sheets, mounted at ``/static``."""
    return StaticFiles(directory=STATIC)
