"""Accounts: list, read, and the children of an account."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from buying_groups.domain.accounts import Account
from buying_groups.storage.crm_repository import CrmRepository
from serving.dependencies import LimitDep, OffsetDep, SessionDep
from serving.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], responses=PROBLEM_RESPONSES)

ACCOUNT_EXAMPLE: JsonDict = {
    "external_id": "ACC-000001",
    "name": "Nordwind Industrie AG",
    "domain": "nordwind.example",
    "industry": "Manufacturing",
    "employees": 5200,
    "revenue": 1.2e9,
    "country": "DE",
    "products_owned": ["Secure Edge"],
    "parent_external_id": None,
}


class AccountPublic(BaseModel):
    """An account as the API shows it."""

    model_config = ConfigDict(json_schema_extra={"examples": [ACCOUNT_EXAMPLE]})

    external_id: str
    name: str
    domain: str | None
    industry: str | None
    employees: int | None
    revenue: float | None
    country: str | None
    products_owned: list[str]
    parent_external_id: str | None

    @classmethod
    def of(cls, account: Account) -> AccountPublic:
        """Convert a domain account."""
        return cls.model_validate(account.model_dump())


class AccountsPublic(BaseModel):
    """A page of accounts."""

    items: list[AccountPublic]
    total: int = Field(examples=[1])
    limit: int = Field(examples=[50])
    offset: int = Field(examples=[0])


@router.get("", response_model=AccountsPublic, summary="List accounts")
def list_accounts(
    session: SessionDep,
    limit: LimitDep = 50,
    offset: OffsetDep = 0,
    parent_external_id: str | None = None,
) -> AccountsPublic:
    """Accounts ordered by external id; `parent_external_id` lists one account's divisions."""
    page = CrmRepository(session).list_accounts(
        limit=limit, offset=offset, parent_external_id=parent_external_id
    )
    items = [AccountPublic.of(a) for a in page.items]
    return AccountsPublic(items=items, total=page.total, limit=limit, offset=offset)


@router.get("/{external_id}", response_model=AccountPublic, summary="Read one account")
def get_account(external_id: str, session: SessionDep) -> AccountPublic:
    """One account by its external id."""
    return AccountPublic.of(CrmRepository(session).get_account(external_id))
