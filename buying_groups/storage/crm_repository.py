"""Reads of accounts and persons, returned as domain objects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from buying_groups.domain.accounts import Account
from buying_groups.domain.errors import NotFoundError
from buying_groups.domain.persons import Person
from buying_groups.storage.tables import AccountRow, PersonRow

T = TypeVar("T")
AnySelect: TypeAlias = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing and the total number of items."""

    items: Sequence[T]
    total: int
    limit: int
    offset: int


def _page(session: Session, query: AnySelect, limit: int, offset: int) -> tuple[list[Any], int]:
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.limit(limit).offset(offset)).all()
    return list(rows), total


class CrmRepository:
    """Accounts and persons as the API and CLI read them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _accounts_query(self) -> AnySelect:
        parent = aliased(AccountRow)
        return (
            select(AccountRow, parent.external_id)
            .outerjoin(parent, AccountRow.parent_id == parent.id)
            .order_by(AccountRow.external_id)
        )

    def list_accounts(
        self, *, limit: int = 50, offset: int = 0, parent_external_id: str | None = None
    ) -> Page[Account]:
        """Accounts ordered by external id, optionally the children of one parent."""
        query = self._accounts_query()
        if parent_external_id is not None:
            parent = self.account_row(parent_external_id)
            query = query.where(AccountRow.parent_id == parent.id)
        rows, total = _page(self.session, query, limit, offset)
        return Page([_account(row, parent) for row, parent in rows], total, limit, offset)

    def account_row(self, external_id: str) -> AccountRow:
        """The stored row of an account, or NotFoundError."""
        row = self.session.scalar(select(AccountRow).where(AccountRow.external_id == external_id))
        if row is None:
            raise NotFoundError(f"account {external_id!r} does not exist")
        return row

    def get_account(self, external_id: str) -> Account:
        """One account by external id."""
        query = self._accounts_query().where(AccountRow.external_id == external_id)
        found = self.session.execute(query).first()
        if found is None:
            raise NotFoundError(f"account {external_id!r} does not exist")
        return _account(found[0], found[1])

    def list_persons(
        self, *, account_external_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> Page[Person]:
        """Persons ordered by external id, optionally of one account."""
        query = (
            select(PersonRow, AccountRow.external_id)
            .join(AccountRow, PersonRow.account_id == AccountRow.id)
            .order_by(PersonRow.external_id)
        )
        if account_external_id is not None:
            query = query.where(AccountRow.id == self.account_row(account_external_id).id)
        rows, total = _page(self.session, query, limit, offset)
        return Page([_person(row, account) for row, account in rows], total, limit, offset)

    def get_person(self, external_id: str) -> Person:
        """One person by external id."""
        query = (
            select(PersonRow, AccountRow.external_id)
            .join(AccountRow, PersonRow.account_id == AccountRow.id)
            .where(PersonRow.external_id == external_id)
        )
        found = self.session.execute(query).first()
        if found is None:
            raise NotFoundError(f"person {external_id!r} does not exist")
        return _person(found[0], found[1])

    def count_accounts(self) -> int:
        """How many accounts are stored."""
        return self.session.execute(select(func.count()).select_from(AccountRow)).scalar_one()


def _account(row: AccountRow, parent_external_id: str | None) -> Account:
    return Account(
        external_id=row.external_id,
        name=row.name,
        domain=row.domain,
        industry=row.industry,
        employees=row.employees,
        revenue=row.revenue,
        country=row.country,
        products_owned=tuple(row.products_owned or ()),
        parent_external_id=parent_external_id,
    )


def _person(row: PersonRow, account_external_id: str) -> Person:
    return Person.model_construct(
        external_id=row.external_id,
        account_external_id=account_external_id,
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email,
        job_title=row.job_title,
        department=row.department,
        country=row.country,
        phone=row.phone,
    )
