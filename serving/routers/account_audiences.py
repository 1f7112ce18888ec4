"""Account audiences: a static list of accounts, or a filter evaluated when a job runs."""

from __future__ import annotations

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from buying_groups.domain.solution_interests import AccountAudience
from buying_groups.storage.configuration_repository import ConfigurationRepository
from serving.dependencies import SessionDep
from serving.problems import PROBLEM_RESPONSES

router = APIRouter(
    prefix="/v1/account-audiences", tags=["account-audiences"], responses=PROBLEM_RESPONSES
)


class AccountAudienceCreate(AccountAudience):
    """An audience: `kind` static with `account_external_ids`, or filter with `filter`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Large accounts without Secure Edge",
                    "description": "",
                    "kind": "filter",
                    "account_external_ids": [],
                    "filter": {"employees_gte": 1000, "products_owned_none": ["Secure Edge"]},
                }
            ]
        },
    )


class AccountAudiencePublic(AccountAudience):
    """An audience as the API shows it."""


class AudiencePreview(BaseModel):
    """How many accounts an audience selects now, and the first few."""

    name: str
    total: int = Field(examples=[2])
    account_external_ids: list[str] = Field(examples=[["ACC-000001", "ACC-000007"]])


def _public(audience: AccountAudience) -> AccountAudiencePublic:
    return AccountAudiencePublic.model_validate(audience.model_dump())


@router.get("", response_model=list[AccountAudiencePublic], summary="List account audiences")
def list_audiences(session: SessionDep) -> list[AccountAudiencePublic]:
    """All audiences by name."""
    return [_public(a) for a in ConfigurationRepository(session).list_audiences()]


@router.post(
    "",
    response_model=AccountAudiencePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create an account audience",
)
def create_audience(body: AccountAudienceCreate, session: SessionDep) -> AccountAudiencePublic:
    """Store an audience."""
    audience = AccountAudience.model_validate(body.model_dump())
    return _public(ConfigurationRepository(session).create_audience(audience))


@router.get("/{name}", response_model=AccountAudiencePublic, summary="Read an account audience")
def get_audience(name: str, session: SessionDep) -> AccountAudiencePublic:
    """One audience by name."""
    return _public(ConfigurationRepository(session).get_audience(name))


@router.get("/{name}/preview", response_model=AudiencePreview, summary="Preview an audience")
def preview_audience(
    name: str, session: SessionDep, limit: int = Query(default=20, ge=1, le=500)
) -> AudiencePreview:
    """Evaluate the audience now: the number of accounts and the first `limit` of them."""
    selected = ConfigurationRepository(session).audience_accounts(name)
    return AudiencePreview(name=name, total=len(selected), account_external_ids=selected[:limit])
