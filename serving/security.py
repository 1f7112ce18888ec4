"""API-key authentication and scope checks (read for GET, write for changes, admin for admin).

Every dependency here is ``async`` and touches the database only when a key is not in the
:class:`ApiKeyCache`: a sync dependency costs a thread-pool hop per request, and a key
lookup a session and a query.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from buying_groups.domain.api_keys import Scope, grants, hash_api_key
from buying_groups.storage.api_key_repository import ApiKeyRepository
from serving.caches import LruCache
from serving.problems import problem_response

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key (`buying-groups api-keys create`)."
)
bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotAuthenticatedError(Exception):
    """No key, or a key that is unknown or revoked."""


class PermissionDeniedError(Exception):
    """The key is valid but lacks the scope the operation needs."""


class ApiKeyCache:
    """Scopes of keys seen in the last ``ttl`` seconds, by the key's hash.

    Only valid keys are remembered (a new key works at once; an unknown one is looked up
    every time, behind the rate limit). A key revoked from another process (the CLI) stops
    working here within ``ttl`` seconds; ``ttl=0`` turns the cache off.
    """

    def __init__(
        self, ttl: float, size: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self._entries = LruCache(size)  # digest -> (expires at, scopes)

    def get(self, digest: str) -> frozenset[Scope] | None:
        """The cached scopes, or None when absent or older than ``ttl``."""
        found: tuple[float, frozenset[Scope]] | None = self._entries.get(digest)
        if found is None or found[0] <= self.clock():
            return None
        return found[1]

    def put(self, digest: str, scopes: frozenset[Scope]) -> None:
        """Remember a valid key's scopes for ``ttl`` seconds."""
        if self.ttl > 0:
            self._entries.put(digest, (self.clock() + self.ttl, scopes))

    def clear(self) -> None:
        """Forget every key."""
        self._entries.clear()


def _lookup(session_factory: sessionmaker[Session], plaintext: str) -> frozenset[Scope] | None:
    with session_factory() as session:
        return ApiKeyRepository(session).scopes_of(plaintext)


async def key_scopes(
    request: Request,
    header_key: Annotated[str | None, Security(api_key_header)] = None,
    bearer_key: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> frozenset[Scope]:
    """The scopes of the caller's key; 401 without a valid one."""
    if not request.app.state.settings.auth_required:
        return frozenset(Scope)
    plaintext = header_key or (bearer_key.credentials if bearer_key else None)
    if not plaintext:
        raise NotAuthenticatedError("a valid API key is required (X-API-Key or Bearer)")
    cache: ApiKeyCache = request.app.state.api_keys
    digest = hash_api_key(plaintext)
    scopes = cache.get(digest)
    if scopes is None:
        scopes = await run_in_threadpool(_lookup, request.app.state.session_factory, plaintext)
        if scopes is None:
            raise NotAuthenticatedError("a valid API key is required (X-API-Key or Bearer)")
        cache.put(digest, scopes)
    return scopes


ScopesDep = Annotated[frozenset[Scope], Depends(key_scopes)]


async def authorize(request: Request, scopes: ScopesDep) -> None:
    """Reads need `read`; everything that changes data needs `write`."""
    needed = Scope.READ if request.method in READ_METHODS else Scope.WRITE
    _require(scopes, needed)


async def authorize_read(scopes: ScopesDep) -> None:
    """For operations that change nothing even when they POST (predictions)."""
    _require(scopes, Scope.READ)


async def authorize_admin(scopes: ScopesDep) -> None:
    """Administrative operations need `admin`."""
    _require(scopes, Scope.ADMIN)


def _require(scopes: frozenset[Scope], needed: Scope) -> None:
    if not grants(scopes, needed):
        raise PermissionDeniedError(f"this operation needs the {needed.value!r} scope")


async def _not_authenticated(_request: Request, exc: Exception) -> JSONResponse:
    response = problem_response(401, "unauthorized", "Not authenticated", str(exc))
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


async def _forbidden(_request: Request, exc: Exception) -> JSONResponse:
    return problem_response(403, "forbidden", "Forbidden", str(exc))


def install_security_handlers(app: FastAPI) -> None:
    """Map authentication failures to 401 and missing scopes to 403 (problem+json)."""
    app.add_exception_handler(NotAuthenticatedError, _not_authenticated)
    app.add_exception_handler(PermissionDeniedError, _forbidden)
