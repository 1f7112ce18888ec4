"""The reviewer's web page: rule and model roles side by side, and the decisions.

The page is static (HTML, CSS and a script under ``serving/static``) and calls the same
``/v1`` API as every other client with the API key the reviewer types in, so it needs no
session, cookie or server-side rendering. It is served without a key; its data is not.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parents[1] / "static"
#: Only this origin's script, style and API calls; no framing (clickjacking).
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/review")
async def review_page() -> FileResponse:
    """The review page."""
    return FileResponse(STATIC / "review.html", media_type="text/html", headers=PAGE_HEADERS)


@router.get("/")
async def home() -> RedirectResponse:
    """People who open the service's address land on the review page."""
    return RedirectResponse("/review")


def static_files() -> StaticFiles:
    """The page's script and style sheet, mounted at ``/static``."""
    return StaticFiles(directory=STATIC)
