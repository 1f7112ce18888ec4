"""Imports of accounts, persons and activities as JSON records (files go through the CLI)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Engine

from buying_groups.domain.accounts import Account
from buying_groups.domain.persons import Activity, Person
from buying_groups.generation.group_imports import GroupImportRow, GroupImportService
from buying_groups.imports.loader import (
    ImportReport,
    import_accounts,
    import_activities,
    import_persons,
)
from buying_groups.storage.group_repository import GroupRepository
from buying_groups.storage.unit_of_work import SqlUnitOfWork
from serving.dependencies import EngineDep
from serving.problems import PROBLEM_RESPONSES
from serving.routers.accounts import ACCOUNT_EXAMPLE
from serving.routers.persons import PERSON_EXAMPLE

router = APIRouter(prefix="/v1", tags=["imports"], responses=PROBLEM_RESPONSES)
MAX_ROWS = 10_000


class RowError(BaseModel):
    """Why a field of a row was refused."""

    field: str
    reason: str


class RejectedRowPublic(BaseModel):
    """A row that was not loaded: its 1-based position in `rows` and the reasons."""

    line: int
    external_id: str | None
    errors: list[RowError]


class ImportReportPublic(BaseModel):
    """What an import did; rows are upserted by external id."""

    entity: str = Field(examples=["persons"])
    accepted: int = Field(examples=[1])
    inserted: int = Field(examples=[1])
    updated: int = Field(examples=[0])
    rejected: list[RejectedRowPublic]


ACTIVITY_EXAMPLE = {
    "external_id": "ACT-1",
    "person_external_id": "PER-0000001",
    "type": "form_filled",
    "occurred_at": "2026-11-20T09:30:00Z",
}
ROWS_DOC = f"Up to {MAX_ROWS} records, upserted by external id."


def _only_known_fields(rows: list[dict[str, Any]], model: type[BaseModel]) -> list[dict[str, Any]]:
    """Refuse the request when a row has a field the entity does not have: a misspelt
    column would otherwise be dropped from every row without a word."""
    known = model.model_fields
    for index, row in enumerate(rows):
        unknown = next((key for key in row if key not in known), None)
        if unknown is not None:
            shown = unknown if len(unknown) <= 40 else unknown[:40] + "..."
            raise ValueError(
                f"rows[{index}] has an unknown field {shown!r}; known: {', '.join(known)}"
            )
    return rows


class AccountImportCreate(BaseModel):
    """Accounts to upsert."""

    model_config = ConfigDict(extra="forbid")

    rows: list[dict[str, Any]] = Field(
        min_length=1, max_length=MAX_ROWS, description=ROWS_DOC, examples=[[ACCOUNT_EXAMPLE]]
    )

    @field_validator("rows")
    @classmethod
    def _known_fields(cls, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _only_known_fields(rows, Account)


class PersonImportCreate(BaseModel):
    """Persons to upsert."""

    model_config = ConfigDict(extra="forbid")

    rows: list[dict[str, Any]] = Field(
        min_length=1, max_length=MAX_ROWS, description=ROWS_DOC, examples=[[PERSON_EXAMPLE]]
    )

    @field_validator("rows")
    @classmethod
    def _known_fields(cls, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _only_known_fields(rows, Person)


class ActivityImportCreate(BaseModel):
    """Activities to upsert."""

    model_config = ConfigDict(extra="forbid")

    rows: list[dict[str, Any]] = Field(
        min_length=1, max_length=MAX_ROWS, description=ROWS_DOC, examples=[[ACTIVITY_EXAMPLE]]
    )

    @field_validator("rows")
    @classmethod
    def _known_fields(cls, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _only_known_fields(rows, Activity)


def _run(
    importer: Callable[..., ImportReport], engine: Engine, rows: list[dict[str, Any]]
) -> ImportReportPublic:
    return ImportReportPublic.model_validate(importer(engine, rows).as_dict())


@router.post("/account-imports", response_model=ImportReportPublic, summary="Import accounts")
def create_account_import(body: AccountImportCreate, engine: EngineDep) -> ImportReportPublic:
    """Upsert accounts; parents may be in the same request; cycles are refused per row."""
    return _run(import_accounts, engine, body.rows)


@router.post("/person-imports", response_model=ImportReportPublic, summary="Import persons")
def create_person_import(body: PersonImportCreate, engine: EngineDep) -> ImportReportPublic:
    """Upsert persons; each must belong to a stored account."""
    return _run(import_persons, engine, body.rows)


@router.post("/activity-imports", response_model=ImportReportPublic, summary="Import activities")
def create_activity_import(body: ActivityImportCreate, engine: EngineDep) -> ImportReportPublic:
    """Upsert activities; without an external id, the same activity twice is stored once."""
    return _run(import_activities, engine, body.rows)


GROUP_IMPORT_EXAMPLE = {
    "solution_interest": "Secure Edge",
    "account_external_id": "ACC-0001",
    "person_external_id": "PER-0000001",
    "role": "Decision Maker",
    "stage": None,
    "status": None,
}


class GroupImportCreate(BaseModel):
    """Buying-group members decided elsewhere, to add with source `import`."""

    model_config = ConfigDict(extra="forbid")

    rows: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_ROWS,
        description=f"Up to {MAX_ROWS} members; stage and status are optional.",
        examples=[[GROUP_IMPORT_EXAMPLE]],
    )

    @field_validator("rows")
    @classmethod
    def _known_fields(cls, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _only_known_fields(rows, GroupImportRow)


class GroupImportReportPublic(ImportReportPublic):
    """What a group import did; `unchanged` rows were already true (same member, same role,
    by import; same stage and status)."""

    unchanged: int = Field(examples=[0])


@router.post(
    "/buying-group-imports",
    response_model=GroupImportReportPublic,
    summary="Import buying-group members",
)
def create_buying_group_import(
    body: GroupImportCreate, engine: EngineDep
) -> GroupImportReportPublic:
    """Add members with source `import`, row by row; a manual or journey decision, and a
    removal by hand, are never undone (such rows are rejected). The same rows twice change
    nothing."""
    uow = SqlUnitOfWork(engine)
    service = GroupImportService(uow, lambda: GroupRepository(uow.session))
    return GroupImportReportPublic.model_validate(service.run(body.rows).as_dict())
