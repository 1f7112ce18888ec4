"""Accounts, persons and activities as recommendations and comparisons read them (``CrmReader``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from buying_groups.assignment import PersonRecord
from buying_groups.domain.groups import MemberSource
from buying_groups.generation.ports import CandidatePerson, GroupMembers
from buying_groups.storage.audience_preview import descendants
from buying_groups.storage.membership_repository import company_root
from buying_groups.storage.tables import (
    AccountRow,
    ActivityRow,
    BuyingGroupRow,
    MemberRow,
    PersonRow,
    RoleRow,
    SolutionInterestRow,
)

#: A removal by these sources means "not a member": generation never adds them back either.
_DECIDING_SOURCES: Final = frozenset(
    {MemberSource.MANUAL.value, MemberSource.JOURNEY.value, MemberSource.IMPORT.value}
)
#: IN lists are cut into chunks of this many ids (SQLite's bound-parameter limit).
_CHUNK: Final = 10_000


class SqlCrmReader:
    """Read-only queries over the CRM tables and the groups, in one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def account_id(self, external_id: str) -> int | None:
        """The id of an account, or None."""
        return self.session.scalar(
            select(AccountRow.id).where(AccountRow.external_id == external_id)
        )

    def company_accounts(self, account_id: int) -> list[int]:
        """The account first, then every other account of its company (the tree under its
        root): whoever the group may take as a member, as memberships decide it."""
        root = company_root(self.session, account_id)
        company = {root, *descendants(self.session, {root: ""})}
        return [account_id, *sorted(company - {account_id})]

    def persons(self, account_ids: Sequence[int]) -> list[CandidatePerson]:
        """The persons of these accounts, by external id."""
        found: list[CandidatePerson] = []
        for start in range(0, len(account_ids), _CHUNK):
            query = (
                select(
                    PersonRow.id,
                    PersonRow.account_id,
                    PersonRow.job_title,
                    PersonRow.department,
                    PersonRow.country,
                    PersonRow.email,
                    PersonRow.external_id,
                    PersonRow.first_name,
                    PersonRow.last_name,
                    AccountRow.external_id,
                )
                .join(AccountRow, AccountRow.id == PersonRow.account_id)
                .where(PersonRow.account_id.in_(account_ids[start : start + _CHUNK]))
            )
            for *fields, external, first, last, account in self.session.execute(query).tuples():
                name = " ".join(p for p in (first, last) if p)
                found.append(CandidatePerson(PersonRecord(*fields), external, name, account))
        found.sort(key=lambda p: p.external_id)
        return found

    def recent_activity(
        self, person_ids: Sequence[int], since: datetime, until: datetime
    ) -> dict[int, int]:
        """Activities per person with ``since < occurred_at <= until``."""
        if not person_ids:
            return {}
        rows = self.session.execute(
            select(ActivityRow.person_id, func.count())
            .where(
                ActivityRow.person_id.in_(person_ids),
                ActivityRow.occurred_at > since,
                ActivityRow.occurred_at <= until,
            )
            .group_by(ActivityRow.person_id)
        )
        return {person_id: int(count) for person_id, count in rows}

    def group_members(self, solution_interest: str, account_id: int) -> GroupMembers | None:
        """Active members (person id -> role) and persons a manual, journey or import removal
        keeps out, of the account's group of the interest; None without a group."""
        group = self.session.execute(
            select(BuyingGroupRow.id, BuyingGroupRow.is_deleted)
            .join(
                SolutionInterestRow, SolutionInterestRow.id == BuyingGroupRow.solution_interest_id
            )
            .where(
                BuyingGroupRow.account_id == account_id,
                SolutionInterestRow.name == solution_interest,
            )
        ).first()
        if group is None:
            return None
        rows = self.session.execute(
            select(MemberRow.person_id, RoleRow.name, MemberRow.is_removed, MemberRow.source)
            .join(RoleRow, RoleRow.id == MemberRow.role_id)
            .where(MemberRow.group_id == group.id)
        ).tuples()
        active: dict[int, str] = {}
        excluded: set[int] = set()
        for person_id, role_name, is_removed, source in rows:
            if not is_removed:
                active[person_id] = role_name
            elif source in _DECIDING_SOURCES:
                excluded.add(person_id)
        return GroupMembers(group.is_deleted, active, excluded)

    def accounts_with_group(self, solution_interest: str) -> list[int]:
        """Accounts with a live group of the interest."""
        return list(
            self.session.scalars(
                select(BuyingGroupRow.account_id)
                .join(SolutionInterestRow)
                .where(
                    SolutionInterestRow.name == solution_interest,
                    BuyingGroupRow.is_deleted.is_(False),
                )
            )
        )
