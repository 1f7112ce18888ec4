"""Adobe Journey Optimizer B2B External Actions: a journey step asks for buying-group roles.

Two services share one worker: people of an account (``/integrations/ajo-b2b``, entity
type accountPerson) and whole accounts (``/integrations/ajo-b2b/account``). Each has
``GET /getServiceDefinition`` and ``POST /submitAsyncAction`` as Adobe's spec names them
(reference/ajo-b2b-external-actions/ajo-b2b-external-actions.yaml). Errors on these routes
use the spec's body (``status``, ``code``, ``message``, ``details``), not problem+json.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Request, Response, Security, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from buying_groups.domain.errors import DomainError, NotFoundError
from buying_groups.domain.webhook_targets import WebhookTargetRefusedError
from buying_groups.storage.ajo_action_repository import AjoActionRepository, NewAction, digest
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.tables import AjoActionRow
from serving.ajo_b2b_messages import (
    AccountContext,
    AccountPersonContext,
    AjoError,
    ErrorCode,
    ErrorDetail,
    ExecutionRequest,
    ExecutionResponse,
)
from serving.ajo_service_definitions import (
    ACCOUNT_DEFINITION,
    ACCOUNT_PERSON_DEFINITION,
    MODE,
    SOLUTION_INTEREST,
    TIMEOUT_MINUTES,
)
from serving.dependencies import SessionDep
from serving.routers.events import WebhookTargetPolicyDep
from serving.security import (
    NotAuthenticatedError,
    PermissionDeniedError,
    api_key_header,
    authorize,
    bearer,
    key_scopes,
)

PREFIX: Final = "/integrations/ajo-b2b"
#: Bodies above this are refused with the spec's 400 (a journey sends one account's people).
MAX_BODY_BYTES: Final = 2 * 1024 * 1024
MODES: Final = ("rules", "model", "hybrid")
SUPPORTED: Final = ("accountPerson", "account")
log = logging.getLogger(__name__)
basic = HTTPBasic(auto_error=False, description="Any user name; the API key as the password.")


class AjoRequestError(Exception):
    """A request these routes refuse, with the spec's status and code."""

    def __init__(
        self, status_code: int, code: ErrorCode, message: str, details: Sequence[ErrorDetail] = ()
    ) -> None:
        super().__init__(message)
        self.status_code, self.code, self.message = status_code, code, message
        self.details = list(details)


def ajo_error(
    status_code: int, code: ErrorCode, message: str, details: Sequence[ErrorDetail] = ()
) -> JSONResponse:
    """An answer in the spec's error shape."""
    body = AjoError(code=code, message=message, details=list(details), timestamp=datetime.now(UTC))
    return JSONResponse(body.model_dump(mode="json", exclude_none=True), status_code=status_code)


def too_large(max_bytes: int) -> Response:
    """The body-size middleware's answer on these routes: the spec's 400, not a 413."""
    return ajo_error(400, "INVALID_REQUEST", f"the request body is larger than {max_bytes} bytes")


def _validation_answer(exc: RequestValidationError) -> JSONResponse:
    """Missing parts or unreadable JSON: 400; values of the wrong type or shape: 422."""
    details = [
        ErrorDetail(
            field=".".join(str(p) for p in e.get("loc", ())[1:]) or "body", message=e["msg"]
        )
        for e in exc.errors()
    ]
    bad_request = any(e.get("type") in ("missing", "json_invalid") for e in exc.errors())
    summary = "; ".join(f"{d.field}: {d.message}" for d in details[:5])
    if bad_request:
        return ajo_error(400, "INVALID_REQUEST", f"invalid request: {summary}", details)
    return ajo_error(422, "VALIDATION_ERROR", f"invalid values: {summary}", details)


class AjoRoute(APIRoute):
    """Answers every failure of these routes in the spec's error shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, wrapped to turn errors into the spec's bodies."""
        handle = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                if request.method == "POST" and len(await request.body()) > MAX_BODY_BYTES:
                    return too_large(MAX_BODY_BYTES)
                return await handle(request)
            except RequestValidationError as exc:
                return _validation_answer(exc)
            except AjoRequestError as exc:
                return ajo_error(exc.status_code, exc.code, exc.message, exc.details)
            except NotAuthenticatedError as exc:
                return ajo_error(401, "UNAUTHORIZED", str(exc))
            except PermissionDeniedError as exc:
                return ajo_error(403, "FORBIDDEN", str(exc))
            except DomainError as exc:
                return ajo_error(422, "VALIDATION_ERROR", str(exc))
            except StarletteHTTPException as exc:  # FastAPI's own (a malformed Basic header)
                code: ErrorCode = "UNAUTHORIZED" if exc.status_code == 401 else "INVALID_REQUEST"
                return ajo_error(exc.status_code, code, str(exc.detail))
            except Exception:
                reference = uuid.uuid4().hex[:12]
                log.exception("AJO B2B request failed (reference %s)", reference)
                message = f"an unexpected error occurred (reference {reference})"
                return ajo_error(500, "INTERNAL_ERROR", message)

        return guarded


async def authorize_journey(
    request: Request,
    header_key: Annotated[str | None, Security(api_key_header)] = None,
    bearer_key: Annotated[Any, Security(bearer)] = None,
    basic_credentials: Annotated[HTTPBasicCredentials | None, Security(basic)] = None,
) -> None:
    """The spec's three options, each carrying one of our API keys: X-API-Key, a bearer
    token (OAuth2's access token), or HTTP Basic with the key as the password."""
    plaintext = header_key or (bearer_key.credentials if bearer_key else None)
    if not plaintext and basic_credentials is not None:
        plaintext = basic_credentials.password
    scopes = await key_scopes(request, header_key=plaintext or None, bearer_key=None)
    await authorize(request, scopes)


ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    code: {"model": AjoError, "description": text}
    for code, text in (
        (400, "Invalid request parameters (missing fields, not JSON, too large)"),
        (401, "Authentication required or invalid"),
        (403, "The API key lacks the scope this operation needs"),
        (422, "Request validation failed"),
        (500, "Internal server error"),
    )
}
router = APIRouter(
    prefix=PREFIX,
    tags=["AJO B2B external actions"],
    route_class=AjoRoute,
    dependencies=[Depends(authorize_journey)],
    responses=ERROR_RESPONSES,
)


@router.get("/getServiceDefinition", summary="Service definition (people of an account)")
async def get_service_definition() -> dict[str, Any]:
    """What a journey can ask of this service: roles of people of an account (accountPerson)."""
    return ACCOUNT_PERSON_DEFINITION


@router.get("/account/getServiceDefinition", summary="Service definition (whole accounts)")
async def get_account_service_definition() -> dict[str, Any]:
    """What a journey can ask of this service for whole accounts (entity type account)."""
    return ACCOUNT_DEFINITION


class StatusPublic(BaseModel):
    """The spec's status check."""

    status: Literal["healthy"] = "healthy"
    timestamp: datetime


@router.get("/status", summary="Status check")
async def status_check() -> StatusPublic:
    """The service is up (the spec's monitoring endpoint)."""
    return StatusPublic(timestamp=datetime.now(UTC))


def _submit(body: ExecutionRequest, session: SessionDep, targets: WebhookTargetPolicyDep) -> Any:
    """Check, store and acknowledge a request; the worker decides the roles and calls back."""
    _check_entity(body)
    interest = _check_flow(body, ConfigurationRepository(session))
    _check_callback_url(body.callbackUrl, targets)
    stored = body.model_dump(mode="json", exclude_none=True)
    stored["objectData"].setdefault("flowStepContext", {})[SOLUTION_INTEREST] = interest
    body_digest = digest(json.dumps(stored, sort_keys=True))
    repository = AjoActionRepository(session)
    row = repository.by_token(body.token)
    if row is None:
        try:
            row = repository.add(_new_action(body, stored, body_digest))
        except IntegrityError:  # the same token, stored by a concurrent request
            row = repository.by_token(body.token)
            if row is None:
                raise
    return _accepted(row, body_digest)


submit_responses: dict[int | str, dict[str, Any]] = {201: {"model": ExecutionResponse}}
for path, name in (("/submitAsyncAction", "people"), ("/account/submitAsyncAction", "accounts")):
    router.add_api_route(
        path,
        _submit,
        methods=["POST"],
        status_code=status.HTTP_201_CREATED,
        response_model=ExecutionResponse,
        summary=f"Ask for buying-group roles ({name}); answered by callback",
        description="Stores the request and answers 201 at once; a worker assigns the people "
        "(source `journey`) and POSTs the result to `callbackUrl` with `X-Callback-Token`. "
        "The same `token` again answers the same `requestId` and changes nothing.",
        responses=submit_responses,
        operation_id=f"submit_async_action_{name}",
    )


def _accepted(row: AjoActionRow, body_digest: str) -> ExecutionResponse:
    if row.body_digest != body_digest:
        raise AjoRequestError(
            422,
            "VALIDATION_ERROR",
            "this token was already used by another request",
            [ErrorDetail(field="token", message="already used by another request")],
        )
    return ExecutionResponse(
        requestId=row.request_id,
        message="accepted; the roles follow at callbackUrl",
        estimatedProcessingTime=5,
    )


def _new_action(body: ExecutionRequest, stored: dict[str, Any], body_digest: str) -> NewAction:
    minutes = body.actionConfig.timeout if body.actionConfig else TIMEOUT_MINUTES
    deadline = datetime.now(UTC) + timedelta(minutes=min(max(minutes, 1), 240))
    return NewAction(
        request_id=str(uuid.uuid4()),
        token=body.token,
        body_digest=body_digest,
        callback_url=body.callbackUrl,
        object_type=body.objectData.objectType,
        request=stored,
        deadline_at=deadline,
    )


def _invalid(field: str, message: str) -> AjoRequestError:
    return AjoRequestError(
        422, "VALIDATION_ERROR", f"{field}: {message}", [ErrorDetail(field=field, message=message)]
    )


def _check_entity(body: ExecutionRequest) -> None:
    """The object type is one this service handles and its context has that type's shape."""
    object_type = body.objectData.objectType
    if object_type not in SUPPORTED:
        raise _invalid(
            "objectData.objectType",
            f"{object_type!r} is not supported: this service places the people of accounts "
            "(accountPerson or account)",
        )
    model = AccountPersonContext if object_type == "accountPerson" else AccountContext
    context = body.objectData.objectContext
    try:
        parsed = model.model_validate(context)
    except ValueError as exc:  # pydantic's ValidationError
        raise RequestValidationError(
            [{**e, "loc": ("body", "objectData", "objectContext", *e["loc"])} for e in _errors(exc)]
        ) from None
    if object_type == "account" and not parsed.accountId.isdigit():
        raise _invalid("objectData.objectContext.accountId", "must be a number (Adobe's id)")


def _errors(exc: ValueError) -> list[dict[str, Any]]:
    errors = getattr(exc, "errors", None)
    return list(errors()) if callable(errors) else [{"loc": (), "msg": str(exc), "type": "value"}]


def _check_flow(body: ExecutionRequest, configuration: ConfigurationRepository) -> str:
    """The solution interest (the only one, when the step names none) and the mode."""
    flow = body.objectData.flowStepContext or {}
    mode = flow.get(MODE)
    if mode is not None and mode not in MODES:
        raise _invalid(f"objectData.flowStepContext.{MODE}", f"must be one of {', '.join(MODES)}")
    name = flow.get(SOLUTION_INTEREST)
    field = f"objectData.flowStepContext.{SOLUTION_INTEREST}"
    if name is None:
        interests = configuration.list_solution_interests()
        if len(interests) != 1:
            raise _invalid(field, "is required (the name of a solution interest)")
        return interests[0].name
    if not isinstance(name, str):
        raise _invalid(field, "must be a string")
    try:
        return configuration.get_solution_interest(name).name
    except NotFoundError:
        raise AjoRequestError(
            422,
            "RESOURCE_NOT_FOUND",
            f"{field}: no solution interest is named {name[:120]!r}",
            [ErrorDetail(field=field, message="no solution interest has this name")],
        ) from None


def _check_callback_url(url: str, targets: WebhookTargetPolicyDep) -> None:
    """Callbacks follow the webhook target policy: public addresses only (or allowed hosts)."""
    try:
        targets.check_url(url)
    except WebhookTargetRefusedError as exc:
        raise _invalid("callbackUrl", str(exc)) from None
