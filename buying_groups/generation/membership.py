"""Member changes from people and journeys (manual, journey, import), under precedence.

The precedence rule (manual > journey > import > model/rule) is the domain's:
``BuyingGroup.assign`` and ``BuyingGroup.remove`` refuse a change a higher source decided
against, and this service stores what they return. Each change first takes its solution
interest's group lock (``UnitOfWork.lock_interest_groups``), so it waits for a generation
job's batch on the same interest instead of racing it, and reads the group as the job left it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from buying_groups.domain.errors import ConflictError, InvariantError
from buying_groups.domain.events import EventType
from buying_groups.domain.groups import BuyingGroup, Member, MemberSource
from buying_groups.generation.context import card_scores
from buying_groups.generation.ports import (
    EventRecord,
    GroupRecord,
    PersonRef,
    RoleRef,
    UnitOfWork,
)
from buying_groups.generation.reconcile import score_group

#: Sources a caller may act as; rule and model belong to generation jobs.
CALLER_SOURCES = (MemberSource.MANUAL, MemberSource.JOURNEY, MemberSource.IMPORT)


class MembershipService:
    """Assign, change and remove members of one group; rescore it; record events."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

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
        with self.uow:
            role_ref = self._role(role)
            group, created = self._group(account_external_id, solution_interest)
            person = self._person_of_account(person_external_id, group.account_id)
            member = Member(
                person_external_id=person.external_id,
                role=role_ref.name,
                source=source,
                evidence=evidence or {"by": source.value},
            )
            self._save(group, group.entity.assign(member), person, role_ref)
            kinds = [EventType.GROUP_CREATED] if created else []
            self._events(group, [*kinds, EventType.MEMBER_ASSIGNED], member)

    def remove(
        self,
        account_external_id: str,
        solution_interest: str,
        person_external_id: str,
        source: MemberSource = MemberSource.MANUAL,
    ) -> None:
        """Mark a member removed; jobs will not add them back (the removal has ``source``)."""
        _check_caller(source)
        with self.uow:
            group, _ = self._group(account_external_id, solution_interest, create=False)
            person = self._person_of_account(person_external_id, group.account_id)
            current = group.entity.member(person.external_id)
            if current is None or current.is_removed:
                raise ConflictError(f"person {person_external_id!r} is not a member of this group")
            changed = group.entity.remove(person.external_id, source)
            removed = changed.member(person.external_id)
            assert removed is not None
            self._save(group, changed, person, self._role(removed.role))
            self._events(group, [EventType.MEMBER_REMOVED], removed)

    def exclude(
        self,
        account_external_id: str,
        solution_interest: str,
        person_external_id: str,
        role: str,
        source: MemberSource = MemberSource.MANUAL,
    ) -> None:
        """Record that a person is not a member, so that jobs never add them.

        An active member is removed; otherwise a removed member of ``source`` is stored,
        in ``role`` (the role the person was proposed for), which a job's lower precedence
        cannot undo.
        """
        _check_caller(source)
        with self.uow:
            role_ref = self._role(role)
            group, created = self._group(account_external_id, solution_interest)
            person = self._person_of_account(person_external_id, group.account_id)
            current = group.entity.member(person.external_id)
            if current is not None and not current.is_removed:
                self.remove(account_external_id, solution_interest, person_external_id, source)
                return
            member = Member(
                person_external_id=person.external_id,
                role=role_ref.name,
                source=source,
                evidence={"by": source.value, "not_a_member": True},
                is_removed=True,
            )
            self._save(group, group.entity.assign(member), person, role_ref)
            if created:
                self._events(group, [EventType.GROUP_CREATED], member)

    # --- look-ups --------------------------------------------------------------------------

    def _role(self, name: str) -> RoleRef:
        found = self.uow.configuration.role(name)
        if found is None:
            raise InvariantError(f"role {name!r} does not exist", field="role")
        return found

    def _group(
        self, account_external_id: str, solution_interest: str, create: bool = True
    ) -> tuple[GroupRecord, bool]:
        account_id = self.uow.memberships.account_id(account_external_id)
        interest = self.uow.configuration.interest_ref(solution_interest)
        self.uow.lock_interest_groups(interest.id)
        group = self.uow.memberships.group(account_id, interest)
        if group is not None:
            if group.entity.is_deleted:
                raise ConflictError("this buying group is deleted")
            return group, False
        if not create:
            raise ConflictError(
                f"account {account_external_id!r} has no group for {interest.name!r}"
            )
        return self.uow.memberships.add_group(account_id, interest), True

    def _person_of_account(self, external_id: str, account_id: int) -> PersonRef:
        memberships = self.uow.memberships
        person = memberships.person(external_id)
        if person is None:
            raise InvariantError(
                f"person {external_id!r} does not exist", field="person_external_id"
            )
        if memberships.company_root(person.account_id) != memberships.company_root(account_id):
            raise InvariantError(
                f"person {external_id!r} works for another company", field="person_external_id"
            )
        return person

    # --- effects -----------------------------------------------------------------------------

    def _save(
        self, group: GroupRecord, changed: BuyingGroup, person: PersonRef, role: RoleRef
    ) -> None:
        """Store the person's member as ``changed`` has it, and rescore the group."""
        member = changed.member(person.external_id)
        assert member is not None
        self.uow.memberships.save_member(group, person, role, member)
        configuration = self.uow.configuration
        role_ids = configuration.role_ids()
        cards = card_scores(configuration.get_template(changed.template_name), role_ids)
        self.uow.memberships.save_scores(
            group, score_group(cards, active_by_role(changed, role_ids))
        )

    def _events(self, group: GroupRecord, kinds: list[EventType], member: Member) -> None:
        payload = {
            "person_external_id": member.person_external_id,
            "role": member.role,
            "source": member.source.value,
        }
        self.uow.events.record(
            [
                EventRecord(
                    kind,
                    group.id,
                    group.entity.account_external_id,
                    group.interest.name,
                    {"group_id": group.id} | ({} if kind is EventType.GROUP_CREATED else payload),
                )
                for kind in kinds
            ]
        )


def active_by_role(group: BuyingGroup, role_ids: Mapping[str, int]) -> Counter[int]:
    """Active members per role id (a role the catalogue lacks counts for no card)."""
    return Counter(role_ids[m.role] for m in group.active_members() if m.role in role_ids)


def _check_caller(source: MemberSource) -> None:
    if source not in CALLER_SOURCES:
        allowed = ", ".join(s.value for s in CALLER_SOURCES)
        raise InvariantError(f"source must be one of {allowed}", field="source")
