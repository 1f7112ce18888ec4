"""Per-caller rate limits (429 with Retry-After), keyed by API key or, without one, by address."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from serving.problems import problem_response

OPEN_PATHS = frozenset({"/health", "/ready"})


def _caller(request: Request) -> str:
    """A stable key per caller; the key itself is hashed so it never sits in memory twice."""
    secret = request.headers.get("x-api-key") or request.headers.get("authorization")
    if secret:
        return "key:" + hashlib.sha256(secret.encode()).hexdigest()[:16]
    return "addr:" + (request.client.host if request.client else "unknown")


def install_rate_limits(app: FastAPI, limit: str) -> None:
    """Refuse requests beyond ``limit`` (e.g. "600/minute") per caller with 429.

    The window lives in this process's memory: one server process is what `make run`
    starts; several processes would need a shared store (limits supports Redis).
    """
    rate = parse(limit)
    limiter = MovingWindowRateLimiter(MemoryStorage())

    @app.middleware("http")
    async def rate_limit(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path in OPEN_PATHS:
            return await call_next(request)
        caller = _caller(request)
        if not limiter.hit(rate, caller):
            reset = limiter.get_window_stats(rate, caller).reset_time
            wait = max(1, math.ceil(reset - time.time()))
            response = problem_response(
                429, "too-many-requests", "Too many requests", f"limit is {limit}; retry later"
            )
            response.headers["Retry-After"] = str(wait)
            return response
        return await call_next(request)
