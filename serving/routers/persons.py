"""Persons: list (optionally per account) and read."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from buying_groups.domain.persons import Person
from buying_groups.storage.crm_repository import CrmRepository
from serving.dependencies import LimitDep, OffsetDep, SessionDep
from serving.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1/persons", tags=["persons"], responses=PROBLEM_RESPONSES)

PERSON_EXAMPLE: JsonDict = {
    "external_id": "PER-0000001",
    "account_external_id": "ACC-000001",
    "first_name": "Anna",
    "last_name": "Becker",
    "email": "anna.becker@nordwind.example",
    "job_title": "Leiterin IT-Sicherheit",
    "department": None,
    "country": "DE",
    "phone": None,
}


class PersonPublic(BaseModel):
    """A person as the API shows it."""

    model_config = ConfigDict(json_schema_extra={"examples": [PERSON_EXAMPLE]})

    external_id: str
    account_external_id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    job_title: str | None
    department: str | None
    country: str | None
    phone: str | None

    @classmethod
    def of(cls, person: Person) -> PersonPublic:
        """Convert a domain person."""
        return cls.model_validate(person.model_dump())


class PersonsPublic(BaseModel):
    """A page of persons."""

    items: list[PersonPublic]
    total: int = Field(examples=[1])
    limit: int = Field(examples=[50])
    offset: int = Field(examples=[0])


@router.get("", response_model=PersonsPublic, summary="List persons")
def list_persons(
    session: SessionDep,
    limit: LimitDep = 50,
    offset: OffsetDep = 0,
    account_external_id: str | None = None,
) -> PersonsPublic:
    """Persons ordered by external id; `account_external_id` restricts to one account."""
    page = CrmRepository(session).list_persons(
        account_external_id=account_external_id, limit=limit, offset=offset
    )
    items = [PersonPublic.of(p) for p in page.items]
    return PersonsPublic(items=items, total=page.total, limit=limit, offset=offset)


@router.get("/{external_id}", response_model=PersonPublic, summary="Read one person")
def get_person(external_id: str, session: SessionDep) -> PersonPublic:
    """One person by its external id."""
    return PersonPublic.of(CrmRepository(session).get_person(external_id))
