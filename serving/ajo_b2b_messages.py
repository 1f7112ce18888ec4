"""The messages of Adobe Journey Optimizer B2B's External Actions interface, as pydantic models.

Inputs are liberal where Adobe's own files are (reference/ajo-b2b-external-actions/README):
``actionConfig`` may be missing, fields Adobe adds later are kept, not refused (the
project's ``extra="forbid"`` would break on Adobe's next field), and ``objectContext`` is
read by ``objectType`` rather than by the spec's ambiguous ``oneOf``. Identifiers and flags
are strict (a string where the spec says integer is refused, not converted). Outputs are
built to validate against the spec's schemas exactly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

#: Adobe's callback payload carries ids as int64.
INT64: Final = 2**63 - 1
MAX_RELATIONSHIPS: Final = 1000
Id = Annotated[StrictInt, Field(ge=-INT64 - 1, le=INT64)]
ShortText = Annotated[StrictStr, Field(max_length=2000)]


class Liberal(BaseModel):
    """Keeps fields the spec does not name (Adobe may add some)."""

    model_config = ConfigDict(extra="allow")


class Subscription(Liberal):
    """The Marketo / AJO instance that calls."""

    prefix: ShortText | None = None
    imsOrgId: ShortText | None = None  # noqa: N815 (Adobe's field names)
    munchkinId: ShortText | None = None  # noqa: N815


class JourneyContext(Liberal):
    """The journey the step belongs to."""

    id: ShortText | None = None
    name: ShortText | None = None
    status: Literal["Finished", "Live", "Draft", "Aborted"] | None = None
    startDate: ShortText | None = None  # noqa: N815
    endDate: ShortText | None = None  # noqa: N815


class ExecutionContext(Liberal):
    """Who calls: subscription, journey, the admin's global attributes."""

    subscription: Subscription | None = None
    journey: JourneyContext | None = None
    admin: dict[str, Any] | None = None


class Relationship(Liberal):
    """One person of the account, with the lead fields the admin mapped."""

    accountPersonRelId: Id  # noqa: N815
    accountId: Id  # noqa: N815
    personId: Id  # noqa: N815
    leadData: dict[str, Any]  # noqa: N815
    relationshipMetadata: dict[str, Any] | None = None  # noqa: N815


class AccountContext(Liberal):
    """``objectContext`` of an account."""

    accountId: Annotated[StrictStr, Field(min_length=1, max_length=100)]  # noqa: N815
    accountData: dict[str, Any]  # noqa: N815


class AccountPersonContext(AccountContext):
    """``objectContext`` of accountPerson: the account and some of its people."""

    accountPersonRelationships: Annotated[  # noqa: N815
        list[Relationship], Field(max_length=MAX_RELATIONSHIPS)
    ]


class ObjectData(Liberal):
    """The entity the step runs for, and the step's own attributes."""

    objectType: Literal["lead", "account", "accountPerson"]  # noqa: N815
    objectContext: dict[str, Any]  # noqa: N815
    flowStepContext: dict[str, Any] | None = None  # noqa: N815


class PathCondition(Liberal):
    """One condition of a split path."""

    accessor: StrictStr
    operator: Literal[
        "is",
        "isNot",
        "greaterThan",
        "greaterThanOrEqual",
        "lessThan",
        "lessThanOrEqual",
        "contains",
        "notContains",
    ]
    values: list[StrictStr]


class PathDefinition(Liberal):
    """A split path and its conditions."""

    pathId: StrictStr  # noqa: N815
    pathDefinition: list[PathCondition]  # noqa: N815


class ActionConfig(Liberal):
    """The step's configuration: the callback timeout in minutes, split paths."""

    timeout: StrictInt
    pathConfig: list[PathDefinition] | None = None  # noqa: N815


class ExecutionRequest(Liberal):
    """``POST /submitAsyncAction``: a journey step asks for roles, answered by callback."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "token": "test-callback-token-123",
                    "callbackUrl": "https://adobe.com/external-actions/callback",
                    "objectData": {
                        "objectType": "accountPerson",
                        "objectContext": {
                            "accountId": "67890",
                            "accountData": {"accountName": "Test Corporation"},
                            "accountPersonRelationships": [
                                {
                                    "accountPersonRelId": 111,
                                    "accountId": 67890,
                                    "personId": 12345,
                                    "leadData": {"email": "john@testcorp.com", "title": "CTO"},
                                }
                            ],
                        },
                        "flowStepContext": {"solutionInterest": "Secure Edge", "mode": "rules"},
                    },
                    "actionConfig": {"timeout": 60},
                }
            ]
        },
    )

    token: Annotated[StrictStr, Field(min_length=1, max_length=10_000)]
    objectData: ObjectData  # noqa: N815
    callbackUrl: Annotated[StrictStr, Field(min_length=1, max_length=2000)]  # noqa: N815
    actionConfig: ActionConfig | None = None  # noqa: N815
    context: ExecutionContext | None = None
    enableSplitPaths: StrictBool | None = None  # noqa: N815


class ExecutionResponse(BaseModel):
    """201: the request is stored; the answer follows at ``callbackUrl``."""

    status: Literal["accepted"] = "accepted"
    requestId: str  # noqa: N815
    message: str
    estimatedProcessingTime: int  # noqa: N815


ErrorCode = Literal[
    "INVALID_REQUEST",
    "RESOURCE_NOT_FOUND",
    "VALIDATION_ERROR",
    "INTERNAL_ERROR",
    "UNAUTHORIZED",
    "FORBIDDEN",
    "TIMEOUT",
    "RATE_LIMITED",
]


class ErrorDetail(BaseModel):
    """One bad field."""

    field: str
    message: str


class AjoError(BaseModel):
    """The spec's error body (these routes only; the rest of the API answers problem+json)."""

    status: Literal["error"] = "error"
    code: ErrorCode
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)
    timestamp: datetime
    requestId: str | None = None  # noqa: N815
    token: str | None = None
