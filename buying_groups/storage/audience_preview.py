"""Preview an account audience: how many accounts it selects now, and the first few.

A static audience is looked up in SQL. A filter audience narrows the accounts in SQL with
its numeric bounds (revenue, employees), then applies ``AccountFilter.matches`` in Python to
the rows that pass, so that the preview agrees exactly with what a generation job selects
(text is matched case-folded, and ``products_owned`` is a JSON list). Rows are streamed, so
memory grows with the audience, not with the account table: one pass over the accounts that
pass the numeric bounds (about a second per 100k accounts). With ``include_children`` the
descendants are added level by level through the indexed ``parent_id`` column.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from buying_groups.domain.accounts import Account
from buying_groups.domain.solution_interests import AccountAudience, AccountFilter, AudienceKind
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.crm_repository import CrmRepository
from buying_groups.storage.tables import AccountRow

#: Ids per IN (...) list: far below SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 500
STREAM_BATCH = 2_000
T = TypeVar("T")


@dataclass(frozen=True)
class AudiencePreview:
    """The number of accounts an audience selects now and the first ones by external id."""

    name: str
    kind: AudienceKind
    total: int
    accounts: Sequence[Account]


def preview_audience(session: Session, name: str, limit: int = 10) -> AudiencePreview:
    """Evaluate the audience ``name`` now.

    Raises:
        NotFoundError: the audience does not exist.
    """
    audience = ConfigurationRepository(session).get_audience(name)
    selected = select_audience(session, audience)
    first = heapq.nsmallest(limit, selected.values())
    crm = CrmRepository(session)
    return AudiencePreview(
        name=audience.name,
        kind=audience.kind,
        total=len(selected),
        accounts=[crm.get_account(external_id) for external_id in first],
    )


def select_audience(session: Session, audience: AccountAudience) -> dict[int, str]:
    """Row id -> external id of every account the audience selects."""
    if audience.kind is AudienceKind.STATIC:
        return _listed(session, audience.account_external_ids)
    assert audience.filter is not None  # the model guarantees it for filter audiences
    chosen = _matching(session, audience.filter)
    if audience.filter.include_children:
        chosen |= descendants(session, chosen)
    return chosen


def _listed(session: Session, external_ids: Sequence[str]) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in _chunks(list(dict.fromkeys(external_ids))):
        query = select(AccountRow.id, AccountRow.external_id).where(
            AccountRow.external_id.in_(chunk)
        )
        found.update(session.execute(query).tuples().all())
    return found


def _matching(session: Session, account_filter: AccountFilter) -> dict[int, str]:
    if not _needs_python(account_filter):
        # Only numeric bounds: SQL decides alone (no row turned into an Account).
        query = select(AccountRow.id, AccountRow.external_id).where(
            *_numeric_bounds(account_filter)
        )
        return dict(session.execute(query).tuples().all())
    query = (
        select(
            AccountRow.id,
            AccountRow.external_id,
            AccountRow.name,
            AccountRow.industry,
            AccountRow.country,
            AccountRow.revenue,
            AccountRow.employees,
            AccountRow.products_owned,
        )
        .where(*_numeric_bounds(account_filter))
        .execution_options(yield_per=STREAM_BATCH)
    )
    chosen: dict[int, str] = {}
    for row in session.execute(query):
        account = Account.model_construct(
            external_id=row.external_id,
            name=row.name,
            industry=row.industry,
            country=row.country,
            revenue=row.revenue,
            employees=row.employees,
            products_owned=tuple(row.products_owned or ()),
        )
        if account_filter.matches(account):
            chosen[row.id] = row.external_id
    return chosen


def _needs_python(account_filter: AccountFilter) -> bool:
    """Whether the filter has conditions that ``AccountFilter.matches`` checks in Python."""
    return bool(
        account_filter.products_owned_any
        or account_filter.products_owned_none
        or account_filter.industries
        or account_filter.countries
    )


def _numeric_bounds(account_filter: AccountFilter) -> list[ColumnElement[bool]]:
    """The filter's numeric bounds; NULL fails them in SQL as ``matches`` fails None."""
    bounds = (
        (AccountRow.revenue, account_filter.revenue_gte, account_filter.revenue_lte),
        (AccountRow.employees, account_filter.employees_gte, account_filter.employees_lte),
    )
    conditions: list[ColumnElement[bool]] = []
    for column, low, high in bounds:
        if low is not None:
            conditions.append(column >= low)
        if high is not None:
            conditions.append(column <= high)
    return conditions


def descendants(session: Session, roots: dict[int, str]) -> dict[int, str]:
    """Every account below ``roots`` in the hierarchy (cycles are refused on import)."""
    found: dict[int, str] = {}
    frontier = list(roots)
    while frontier:
        level: dict[int, str] = {}
        for chunk in _chunks(frontier):
            query = select(AccountRow.id, AccountRow.external_id).where(
                AccountRow.parent_id.in_(chunk)
            )
            level.update(session.execute(query).tuples().all())
        new = {k: v for k, v in level.items() if k not in found and k not in roots}
        found |= new
        frontier = list(new)
    return found


def _chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]
