"""Member changes from people and journeys (manual, journey, import), under precedence.

Each change first takes its solution interest's group lock (``storage.group_locks``), so it
waits for a generation job's batch on the same interest instead of racing it, and reads
the group as the job left it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from buying_groups.domain.errors import ConflictError, InvariantError, MemberPrecedenceError
from buying_groups.domain.events import EventType
from buying_groups.domain.groups import MemberSource, may_override
from buying_groups.generation import store
from buying_groups.generation.reconcile import CardScore, score_group
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.crm_repository import CrmRepository
from buying_groups.storage.event_repository import event_row, record_events
from buying_groups.storage.group_locks import lock_interest_groups
from buying_groups.storage.tables import (
    AccountRow,
    BuyingGroupRow,
    MemberRow,
    PersonRow,
    RoleRow,
    RoleTemplateRow,
    SolutionInterestRow,
)

#: Sources a caller may act as; rule and model belong to generation jobs.
CALLER_SOURCES = (MemberSource.MANUAL, MemberSource.JOURNEY, MemberSource.IMPORT)


class MembershipService:
    """Assign, change and remove members of one group; rescore it; record events."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.configuration = ConfigurationRepository(session)

    def assign(
        self,
        account_external_id: str,
        solution_interest: str,
        person_external_id: str,
        role: str,
        source: MemberSource = MemberSource.MANUAL,
        evidence: dict[str, Any] | None = None,
    ) -> None:
        """Put a person into the group in ``role`` (creating the group if needed)."""
        _check_caller(source)
        role_row = self._role(role)
        group, created = self._group(account_external_id, solution_interest)
        person = self._person_of_account(person_external_id, group.account_id)
        member = self._member(group.id, person.id)
        if member is not None:
            _check_precedence(member, source, person_external_id, "change")
        if member is None:
            member = MemberRow(group_id=group.id, person_id=person.id)
            self.session.add(member)
        member.role_id, member.source, member.is_removed = role_row.id, source.value, False
        member.confidence, member.evidence = None, evidence or {"by": source.value}
        self._rescore(group)
        self._events(group, created, EventType.MEMBER_ASSIGNED, person, role_row.name, source)

    def remove(
        self,
        account_external_id: str,
        solution_interest: str,
        person_external_id: str,
        source: MemberSource = MemberSource.MANUAL,
    ) -> None:
        """Mark a member removed; jobs will not add them back (the removal has ``source``)."""
        _check_caller(source)
        group, _ = self._group(account_external_id, solution_interest, create=False)
        person = self._person_of_account(person_external_id, group.account_id)
        member = self._member(group.id, person.id)
        if member is None or member.is_removed:
            raise ConflictError(f"person {person_external_id!r} is not a member of this group")
        _check_precedence(member, source, person_external_id, "remove")
        member.is_removed, member.source = True, source.value
        role = self.session.get_one(RoleRow, member.role_id).name
        self._rescore(group)
        self._events(group, False, EventType.MEMBER_REMOVED, person, role, source)

    def exclude(
        self,
        account_external_id: str,
        solution_interest: str,
        person_external_id: str,
        role: str,
        source: MemberSource = MemberSource.MANUAL,
    ) -> None:
        """Record that a person is not a member, so that jobs never add them.

        An active member is removed; otherwise a removed member row of ``source`` is
        stored, in ``role`` (the role the person was proposed for), which a job's lower
        precedence cannot undo.
        """
        _check_caller(source)
        role_row = self._role(role)
        group, created = self._group(account_external_id, solution_interest)
        person = self._person_of_account(person_external_id, group.account_id)
        member = self._member(group.id, person.id)
        if member is not None and not member.is_removed:
            self.remove(account_external_id, solution_interest, person_external_id, source)
            return
        if member is not None:
            _check_precedence(member, source, person_external_id, "change")
        if member is None:
            member = MemberRow(group_id=group.id, person_id=person.id)
            self.session.add(member)
        member.role_id, member.source, member.is_removed = role_row.id, source.value, True
        member.confidence, member.evidence = None, {"by": source.value, "not_a_member": True}
        self._rescore(group)
        if created:
            self._events(group, True, None, person, role, source)

    # --- look-ups --------------------------------------------------------------------------

    def _role(self, name: str) -> RoleRow:
        row = self.session.scalar(select(RoleRow).where(func.lower(RoleRow.name) == name.lower()))
        if row is None:
            raise InvariantError(f"role {name!r} does not exist", field="role")
        return row

    def _group(
        self, account_external_id: str, solution_interest: str, create: bool = True
    ) -> tuple[BuyingGroupRow, bool]:
        account = CrmRepository(self.session).account_row(account_external_id)
        interest = self.configuration.get_solution_interest(solution_interest)
        interest_row = self.session.scalar(
            select(SolutionInterestRow).where(SolutionInterestRow.name == interest.name)
        )
        assert interest_row is not None
        lock_interest_groups(self.session.connection(), interest_row.id)
        group = self.session.scalar(
            select(BuyingGroupRow).where(
                BuyingGroupRow.account_id == account.id,
                BuyingGroupRow.solution_interest_id == interest_row.id,
            )
        )
        if group is not None:
            if group.is_deleted:
                raise ConflictError("this buying group is deleted")
            return group, False
        if not create:
            raise ConflictError(
                f"account {account_external_id!r} has no group for {interest.name!r}"
            )
        group = BuyingGroupRow(
            account_id=account.id,
            solution_interest_id=interest_row.id,
            role_template_id=interest_row.role_template_id,
        )
        self.session.add(group)
        self.session.flush()
        return group, True

    def _person_of_account(self, external_id: str, account_id: int) -> PersonRow:
        person = self.session.scalar(select(PersonRow).where(PersonRow.external_id == external_id))
        if person is None:
            raise InvariantError(
                f"person {external_id!r} does not exist", field="person_external_id"
            )
        if company_root(self.session, person.account_id) != company_root(self.session, account_id):
            raise InvariantError(
                f"person {external_id!r} works for another company", field="person_external_id"
            )
        return person

    def _member(self, group_id: int, person_id: int) -> MemberRow | None:
        return self.session.scalar(
            select(MemberRow).where(
                MemberRow.group_id == group_id, MemberRow.person_id == person_id
            )
        )

    # --- effects -----------------------------------------------------------------------------

    def _rescore(self, group: BuyingGroupRow) -> None:
        """Recompute completeness from the active members (engagement waits for the next job)."""
        self.session.flush()
        cards = self._card_scores(group.role_template_id)
        active = self.session.execute(
            select(MemberRow.role_id, func.count())
            .where(MemberRow.group_id == group.id, MemberRow.is_removed.is_(False))
            .group_by(MemberRow.role_id)
        )
        scores = score_group(cards, Counter({role_id: count for role_id, count in active}))
        group.completeness, group.role_completeness = scores.completeness, scores.role_completeness
        store.write_group_roles(self.session.connection(), [(group.id, r) for r in scores.roles])

    def _card_scores(self, template_id: int) -> list[CardScore]:
        name = self.session.get_one(RoleTemplateRow, template_id).name
        template = self.configuration.get_template(name)
        return [
            CardScore(
                self._role(c.role).id,
                c.role,
                int(c.weighting),
                c.members_required,
                c.required_for_completeness,
            )
            for c in template.cards
        ]

    def _events(
        self,
        group: BuyingGroupRow,
        created: bool,
        kind: EventType | None,
        person: PersonRow,
        role: str,
        source: MemberSource,
    ) -> None:
        account = self.session.get_one(AccountRow, group.account_id).external_id
        interest = self.session.get_one(SolutionInterestRow, group.solution_interest_id).name
        payload = {"person_external_id": person.external_id, "role": role, "source": source.value}
        kinds: list[tuple[EventType, dict[str, Any]]] = (
            [(EventType.GROUP_CREATED, {})] if created else []
        )
        rows = [
            event_row(
                k,
                group_id=group.id,
                account_external_id=account,
                solution_interest=interest,
                payload={"group_id": group.id, **p},
            )
            for k, p in [*kinds, *([(kind, payload)] if kind else [])]
        ]
        record_events(self.session, rows)


def _check_precedence(member: MemberRow, source: MemberSource, person: str, verb: str) -> None:
    """A lower source never undoes what a higher one decided."""
    if not may_override(MemberSource(member.source), source):
        raise MemberPrecedenceError(
            f"person {person!r} was set by {member.source}; {source.value} cannot {verb} it"
        )


def _check_caller(source: MemberSource) -> None:
    if source not in CALLER_SOURCES:
        allowed = ", ".join(s.value for s in CALLER_SOURCES)
        raise InvariantError(f"source must be one of {allowed}", field="source")


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
