"""API-key authentication and scope checks (read for GET, write for changes, admin for admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from buying_groups.domain.api_keys import Scope, grants
from buying_groups.storage.api_key_repository import ApiKeyRepository
from serving.dependencies import SessionDep
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


def key_scopes(
    request: Request,
    session: SessionDep,
    header_key: Annotated[str | None, Security(api_key_header)] = None,
    bearer_key: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> frozenset[Scope]:
    """The scopes of the caller's key; 401 without a valid one."""
    if not request.app.state.settings.auth_required:
        return frozenset(Scope)
    plaintext = header_key or (bearer_key.credentials if bearer_key else None)
    scopes = ApiKeyRepository(session).scopes_of(plaintext) if plaintext else None
    if scopes is None:
        raise NotAuthenticatedError("a valid API key is required (X-API-Key or Bearer)")
    return scopes


ScopesDep = Annotated[frozenset[Scope], Depends(key_scopes)]


def authorize(request: Request, scopes: ScopesDep) -> None:
    """Reads need `read`; everything that changes data needs `write`."""
    needed = Scope.READ if request.method in READ_METHODS else Scope.WRITE
    _require(scopes, needed)


def authorize_read(scopes: ScopesDep) -> None:
    """For operations that change nothing even when they POST (predictions)."""
    _require(scopes, Scope.READ)


def authorize_admin(scopes: ScopesDep) -> None:
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
