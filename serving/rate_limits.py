"""Request guards as plain ASGI middleware (Starlette's BaseHTTPMiddleware costs about a
millisecond a request each): body size (413) and per-caller rate limits (429)."""

from __future__ import annotations

import hashlib
import math
import time

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from serving.problems import problem_response

OPEN_PATHS = frozenset({"/health", "/ready"})


class BodySizeLimit:
    """Refuse bodies larger than ``max_bytes`` (by Content-Length) with 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = Headers(scope=scope).get("content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
                detail = f"bodies are limited to {self.max_bytes} bytes"
                response = problem_response(413, "too-large", "Request too large", detail)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class RateLimit:
    """Refuse requests beyond ``limit`` (e.g. "600/minute") per caller with 429.

    Callers are API keys (hashed) or, without a key, addresses. The window lives in this
    process's memory: `make run` starts one server process; several would need a shared
    store (the limits library supports Redis).
    """

    def __init__(self, app: ASGIApp, limit: str) -> None:
        self.app = app
        self.limit = limit
        self.rate = parse(limit)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        caller = _caller(scope)
        if self.limiter.hit(self.rate, caller):
            await self.app(scope, receive, send)
            return
        reset = self.limiter.get_window_stats(self.rate, caller).reset_time
        detail = f"limit is {self.limit}; retry later"
        response = problem_response(429, "too-many-requests", "Too many requests", detail)
        response.headers["Retry-After"] = str(max(1, math.ceil(reset - time.time())))
        await response(scope, receive, send)


def _caller(scope: Scope) -> str:
    """A stable key per caller; the key itself is hashed so it never sits in memory twice."""
    headers = Headers(scope=scope)
    secret = headers.get("x-api-key") or headers.get("authorization")
    if secret:
        return "key:" + hashlib.sha256(secret.encode()).hexdigest()[:16]
    client = scope.get("client")
    return "addr:" + (client[0] if client else "unknown")
