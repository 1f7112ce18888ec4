"""One error format everywhere: RFC 9457 problem details (type, title, status, detail)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from buying_groups.domain.errors import ConflictError, DomainError, InvariantError, NotFoundError
from buying_groups.storage.group_locks import is_write_race

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger(__name__)


class FieldProblem(BaseModel):
    """One bad field and why."""

    field: str
    reason: str


class Problem(BaseModel):
    """The body of every error response."""

    type: str = Field(examples=["urn:buying-groups:problem:not-found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["account 'ACC-000999' does not exist"])
    errors: list[FieldProblem] = Field(default_factory=list)


STATUS_BY_ERROR: tuple[tuple[type[DomainError], int, str], ...] = (
    (NotFoundError, 404, "not-found"),
    (ConflictError, 409, "conflict"),
    (InvariantError, 422, "invalid"),
    (DomainError, 422, "domain-rule"),
)
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": text}
    for code, text in (
        (400, "Bad request"),
        (401, "Missing or invalid API key"),
        (403, "The API key lacks the scope this operation needs"),
        (404, "Not found"),
        (409, "Conflict with the current state"),
        (413, "Request too large"),
        (422, "Invalid input; `errors` names each field"),
        (429, "Too many requests"),
        (503, "The database could not complete the request; nothing was saved"),
    )
}


def problem_response(
    status: int, slug: str, title: str, detail: str, errors: list[FieldProblem] | None = None
) -> JSONResponse:
    """Build a problem+json response."""
    body = Problem(
        type=f"urn:buying-groups:problem:{slug}",
        title=title,
        status=status,
        detail=detail,
        errors=errors or [],
    )
    return JSONResponse(body.model_dump(), status_code=status, media_type=PROBLEM_MEDIA_TYPE)


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    for error_type, status, slug in STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            errors = _field_problems(exc)
            return problem_response(status, slug, error_type.title, str(exc), errors)
    raise exc  # unreachable: DomainError is the last entry


def _field_problems(exc: DomainError) -> list[FieldProblem]:
    """Errors that carry (path, reason) pairs list them all; others name their one field."""
    pairs = getattr(exc, "errors", None)
    if isinstance(pairs, list) and all(isinstance(p, tuple) and len(p) == 2 for p in pairs):
        return [FieldProblem(field=str(path), reason=str(reason)) for path, reason in pairs]
    field = getattr(exc, "field", None)
    return [FieldProblem(field=field, reason=str(exc))] if field else []


def _pydantic_problems(errors: list[Any], prefix: tuple[str, ...] = ()) -> list[FieldProblem]:
    return [
        FieldProblem(
            field=".".join(str(p) for p in (*prefix, *e.get("loc", ()))), reason=str(e.get("msg"))
        )
        for e in errors
    ]


async def _model_error(_request: Request, exc: Exception) -> JSONResponse:
    """A domain model refused values built inside a route (not the request body itself)."""
    assert isinstance(exc, PydanticValidationError)
    errors = _pydantic_problems(list(exc.errors()))
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errors[:5])
    return problem_response(422, "invalid", "Invalid value", detail, errors)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _pydantic_problems(list(exc.errors()))
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errors[:5])
    return problem_response(422, "invalid", "Invalid request", detail, errors)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}.get(
        exc.status_code, "http"
    )
    return problem_response(
        exc.status_code, slug, slug.replace("-", " ").capitalize(), str(exc.detail)
    )


async def _integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    """A uniqueness or reference rule of the database refused the change (a race, usually)."""
    log.warning("integrity error: %s", exc)
    detail = "the change conflicts with existing data (a duplicate name or a missing reference)"
    return problem_response(409, "conflict", "Conflict", detail)


async def _operational_error(request: Request, exc: Exception) -> JSONResponse:
    """A lost race (deadlock, lock timeout, busy database) is a 409 to retry; else a 503."""
    if not is_write_race(exc):
        return await _storage_unavailable(request, exc)
    log.warning("write race: %s", exc)
    detail = "a concurrent change to the same data got in the way; retry the request"
    return problem_response(409, "conflict", "Conflict", detail)


async def _unstorable_value(_request: Request, exc: Exception) -> JSONResponse:
    """The database cannot hold a value: a NUL character in text, a number out of range."""
    log.info("unstorable value: %s", exc)
    detail = "a value cannot be stored: text with NUL characters or a number out of range"
    return problem_response(422, "invalid", "Invalid value", detail)


async def _storage_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """The database failed (unreachable, locked, out of space, a failed commit): nothing of
    this request was stored. The details, SQL included, stay in the log."""
    reference = uuid.uuid4().hex[:12]
    log.error("storage failed (reference %s)", reference, exc_info=exc)
    detail = (
        f"the database could not complete the request; nothing was saved (reference {reference})"
    )
    response = problem_response(503, "storage-unavailable", "Storage unavailable", detail)
    response.headers["Retry-After"] = "5"
    return response


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    reference = uuid.uuid4().hex[:12]
    log.error("unexpected error (reference %s)", reference, exc_info=exc)
    detail = f"an unexpected error occurred (reference {reference}; see the server log)"
    return problem_response(500, "internal", "Internal error", detail)


def install_problem_handlers(app: FastAPI) -> None:
    """Map domain errors, validation errors and everything else to problem+json."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PydanticValidationError, _model_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DataError, _unstorable_value)
    app.add_exception_handler(OperationalError, _operational_error)
    app.add_exception_handler(OverflowError, _unstorable_value)
    app.add_exception_handler(Exception, _unexpected_error)
