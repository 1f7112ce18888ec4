"""Outbox events of a generation batch: groups created, members assigned and removed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, select

from buying_groups.domain.events import EventType
from buying_groups.domain.groups import MemberSource
from buying_groups.generation.context import JobContext
from buying_groups.generation.reconcile import MemberPlan
from buying_groups.storage.event_repository import event_row
from buying_groups.storage.tables import AccountRow, MemberRow, PersonRow


def batch_events(
    conn: Connection,
    context: JobContext,
    plans: Mapping[int, MemberPlan],
    group_ids: Mapping[int, int],
    created: set[int],
) -> list[dict[str, Any]]:
    """Event rows for what one batch is about to write (recorded in the same transaction).

    Args:
        plans: account id -> the member changes planned for its group.
        group_ids: account id -> group id (new groups included).
        created: accounts whose group this batch creates.
    """
    removed = _removed_members(conn, [m for p in plans.values() for m in p.removals])
    person_ids = {w.person_id for p in plans.values() for w in p.writes}
    person_ids |= {person for person, _ in removed.values()}
    persons = _external_ids(conn, PersonRow, person_ids)
    accounts = _external_ids(conn, AccountRow, plans.keys())
    roles = {role_id: name for name, role_id in context.role_ids.items()}
    rows: list[dict[str, Any]] = []
    for account_id, plan in plans.items():

        def event(kind: EventType, payload: dict[str, Any], a: int = account_id) -> None:
            rows.append(
                event_row(
                    kind,
                    group_id=group_ids[a],
                    account_external_id=accounts.get(a),
                    solution_interest=context.interest_name,
                    payload={"group_id": group_ids[a], **payload},
                )
            )

        if account_id in created:
            event(EventType.GROUP_CREATED, {"template_id": context.template_id})
        for write in plan.writes:
            person = persons.get(write.person_id)
            role = roles.get(write.role_id)
            event(EventType.MEMBER_ASSIGNED, _member(person, role))
        for member_id in plan.removals:
            person_id, role_id = removed[member_id]
            event(EventType.MEMBER_REMOVED, _member(persons.get(person_id), roles.get(role_id)))
    return rows


def _member(person: str | None, role: str | None) -> dict[str, Any]:
    return {"person_external_id": person, "role": role, "source": MemberSource.RULE.value}


def _removed_members(conn: Connection, member_ids: list[int]) -> dict[int, tuple[int, int]]:
    if not member_ids:
        return {}
    query = select(MemberRow.id, MemberRow.person_id, MemberRow.role_id).where(
        MemberRow.id.in_(member_ids)
    )
    return {member: (person, role) for member, person, role in conn.execute(query)}


def _external_ids(
    conn: Connection, model: type[AccountRow] | type[PersonRow], ids: Iterable[int]
) -> dict[int, str]:
    wanted = sorted(set(ids))
    found: dict[int, str] = {}
    # Chunks keep the IN list under SQLite's bound-parameter limit.
    for start in range(0, len(wanted), 10_000):
        chunk = wanted[start : start + 10_000]
        query = select(model.id, model.external_id).where(model.id.in_(chunk))
        found.update({pk: ext for pk, ext in conn.execute(query)})
    return found
