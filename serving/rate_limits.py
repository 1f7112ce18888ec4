"""Request guards as plain ASGI middleware (Starlette's BaseHTTPMiddleware costs about a
millisecond a request each): body size (413) and per-caller rate limits (429)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from buying_groups.domain.api_keys import hash_api_key
from serving.problems import problem_response
from serving.security import ApiKeyCache

OPEN_PATHS = frozenset({"/health", "/ready"})


class BodyTooLargeError(HTTPException):
    """The body grew past the limit while it was read (413)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"bodies are limited to {max_bytes} bytes")


class BodySizeLimit:
    """Refuse bodies larger than ``max_bytes`` with 413.

    A declared Content-Length over the limit is refused before anything is read; a chunked
    (or under-declared) body is counted as it streams in, and the read that crosses the
    limit raises :class:`BodyTooLargeError`, so no more than ``max_bytes`` plus one chunk
    is ever held.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        refusals: Mapping[str, Callable[[int], Response]] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        #: Path prefix -> the refusal of routes whose contract names another status than 413.
        self.refusals = dict(refusals or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLargeError:
            # Raised where the app did not turn it into its own 413 (outside a route).
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"bodies are limited to {self.max_bytes} bytes"
        response: Response = problem_response(413, "too-large", "Request too large", detail)
        for prefix, refusal in self.refusals.items():
            if scope["path"].startswith(prefix):
                response = refusal(self.max_bytes)
        await response(scope, receive, send)


class RateLimit:
    """Refuse requests beyond ``limit`` (e.g. "600/minute") per caller with 429.

    A caller is a *validated* API key (one bucket per key, whether it comes as ``X-API-Key``
    or as a bearer token) or else the client address: a key the auth check has not accepted
    yet (unknown, revoked, or not seen in the last ``BG_API_KEY_CACHE_SECONDS``) counts
    against the address it comes from, so inventing keys buys no fresh buckets and failed
    authentications are limited per address. The window lives in this process's memory:
    `make run` starts one server process; several would need a shared store (the limits
    library supports Redis).
    """

    def __init__(self, app: ASGIApp, limit: str, keys: ApiKeyCache | None = None) -> None:
        self.app = app
        self.limit = limit
        self.rate = parse(limit)
        self.keys = keys
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        digest, validated = self._key(scope)
        caller = f"key:{digest}" if validated else self._address(scope)
        if self.limiter.hit(self.rate, caller):
            await self.app(scope, receive, send)
            if digest and not validated and self._valid(digest):
                # The auth check accepted the key just now: this request is its first too.
                self.limiter.hit(self.rate, f"key:{digest}")
            return
        reset = self.limiter.get_window_stats(self.rate, caller).reset_time
        detail = f"limit is {self.limit}; retry later"
        response = problem_response(429, "too-many-requests", "Too many requests", detail)
        response.headers["Retry-After"] = str(max(1, math.ceil(reset - time.time())))
        await response(scope, receive, send)

    def _key(self, scope: Scope) -> tuple[str | None, bool]:
        """The presented key's digest (None without a key) and whether it is known valid."""
        secret = presented_key(Headers(scope=scope))
        if not secret or self.keys is None:
            return None, False
        digest = hash_api_key(secret)
        return digest, self._valid(digest)

    def _valid(self, digest: str) -> bool:
        return self.keys is not None and self.keys.get(digest) is not None

    @staticmethod
    def _address(scope: Scope) -> str:
        client = scope.get("client")
        return "addr:" + (client[0] if client else "unknown")


def presented_key(headers: Headers) -> str | None:
    """The API key a request presents: ``X-API-Key``, else an ``Authorization: Bearer`` token."""
    key = headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
