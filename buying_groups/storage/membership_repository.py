"""Buying groups as domain entities, for member changes one at a time (``MembershipRepository``).

Member changes come from people and journeys, a few rows each, so the ORM is used here; the
generation jobs' bulk path is ``generation_store``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from buying_groups.domain.groups import BuyingGroup, Member, MemberSource
from buying_groups.generation.ports import GroupRecord, InterestRef, PersonRef, RoleRef
from buying_groups.generation.reconcile import GroupScores
from buying_groups.storage.crm_repository import CrmRepository
from buying_groups.storage.generation_store import write_group_roles
from buying_groups.storage.tables import (
    AccountRow,
    BuyingGroupRow,
    MemberRow,
    PersonRow,
    RoleRow,
    RoleTemplateRow,
)


class SqlMembershipRepository:
    """Groups, their members and the persons who may join them, in one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def account_id(self, external_id: str) -> int:
        """The account's id, or NotFoundError."""
        return CrmRepository(self.session).account_row(external_id).id

    def person(self, external_id: str) -> PersonRef | None:
        """A person by external id."""
        found = self.session.execute(
            select(PersonRow.id, PersonRow.external_id, PersonRow.account_id).where(
                PersonRow.external_id == external_id
            )
        ).first()
        return PersonRef(*found) if found else None

    def company_root(self, account_id: int) -> int:
        """The top of an account's hierarchy (a person may join a group of their company)."""
        return company_root(self.session, account_id)

    def group(self, account_id: int, interest: InterestRef) -> GroupRecord | None:
        """The account's group of the interest, deleted or not, with its members."""
        row = self.session.scalar(
            select(BuyingGroupRow).where(
                BuyingGroupRow.account_id == account_id,
                BuyingGroupRow.solution_interest_id == interest.id,
            )
        )
        return self._record(row, interest) if row else None

    def add_group(self, account_id: int, interest: InterestRef) -> GroupRecord:
        """Create the account's (empty) group of the interest."""
        row = BuyingGroupRow(
            account_id=account_id,
            solution_interest_id=interest.id,
            role_template_id=interest.template_id,
        )
        self.session.add(row)
        self.session.flush()
        return self._record(row, interest)

    def save_member(
        self, group: GroupRecord, person: PersonRef, role: RoleRef, member: Member
    ) -> None:
        """Insert or update the person's member row as ``member`` says."""
        row = self.session.scalar(
            select(MemberRow).where(
                MemberRow.group_id == group.id, MemberRow.person_id == person.id
            )
        )
        if row is None:
            row = MemberRow(group_id=group.id, person_id=person.id)
            self.session.add(row)
        row.role_id, row.source, row.is_removed = role.id, member.source.value, member.is_removed
        row.confidence, row.evidence = member.confidence, member.evidence
        self.session.flush()

    def save_scores(self, group: GroupRecord, scores: GroupScores) -> None:
        """Store completeness and the group_roles rows (engagement waits for the next job)."""
        row = self.session.get_one(BuyingGroupRow, group.id)
        row.completeness, row.role_completeness = scores.completeness, scores.role_completeness
        self.session.flush()
        write_group_roles(self.session.connection(), [(group.id, r) for r in scores.roles])

    def _record(self, row: BuyingGroupRow, interest: InterestRef) -> GroupRecord:
        account = self.session.get_one(AccountRow, row.account_id).external_id
        template = self.session.get_one(RoleTemplateRow, row.role_template_id).name
        found = self.session.execute(
            select(MemberRow, PersonRow.external_id, RoleRow.name)
            .join(PersonRow, PersonRow.id == MemberRow.person_id)
            .join(RoleRow, RoleRow.id == MemberRow.role_id)
            .where(MemberRow.group_id == row.id)
            .order_by(MemberRow.id)
        ).tuples()
        members = tuple(
            Member(
                person_external_id=person,
                role=role,
                source=MemberSource(m.source),
                confidence=m.confidence,
                evidence=m.evidence or {},
                is_removed=m.is_removed,
                updated_at=m.updated_at,
            )
            for m, person, role in found
        )
        entity = BuyingGroup(
            account_external_id=account,
            solution_interest=interest.name,
            template_name=template,
            members=members,
            stage=row.stage,
            status=row.status,
            completeness=row.completeness,
            role_completeness=row.role_completeness or {},
            engagement=row.engagement,
            is_deleted=row.is_deleted,
        )
        return GroupRecord(row.id, row.account_id, interest, entity)


def company_root(session: Session, account_id: int) -> int:
    """The top of an account's hierarchy (a person may join a group of their company)."""
    seen: set[int] = set()
    current: int | None = account_id
    while current is not None and current not in seen:
        seen.add(current)
        parent = session.scalar(select(AccountRow.parent_id).where(AccountRow.id == current))
        if parent is None:
            return current
        current = parent
    return account_id
