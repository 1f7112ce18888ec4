"""Outbox events of a generation batch: groups created, members assigned and removed.

A creation job over the large demo CRM records about 100k events (a group.created per
account, a member.assigned per member). Going through ``record_events`` (SQLAlchemy's
executemany with a JSON and a datetime processor per row, and a timestamp taken per row)
cost 3.2 s of the job; here each payload is serialised once with ``json.dumps``, the whole
batch shares one timestamp (its transaction's), and the rows go to the driver as tuples.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, bindparam, insert, select

from buying_groups.domain.events import EventType
from buying_groups.generation.context import JobContext
from buying_groups.generation.reconcile import MemberPlan
from buying_groups.storage.bulk import execute_many
from buying_groups.storage.tables import AccountRow, EventRow, MemberRow, PersonRow, table_of

EVENTS: Final = table_of(EventRow)
_INSERT: Final = insert(EVENTS).values(
    type=bindparam("type"),
    occurred_at=bindparam("occurred_at"),
    group_id=bindparam("group_id"),
    account_external_id=bindparam("account_external_id"),
    solution_interest=bindparam("solution_interest"),
    payload=bindparam("payload"),
)


def record_batch_events(
    conn: Connection,
    context: JobContext,
    plans: Mapping[int, MemberPlan],
    group_ids: Mapping[int, int],
    created: set[int],
) -> int:
    """Record the events of what one batch is about to write, in the batch's transaction.

    Args:
        plans: account id -> the member changes planned for its group.
        group_ids: account id -> group id (new groups included).
        created: accounts whose group this batch creates.

    Returns:
        The number of events recorded.
    """
    rows = batch_events(conn, context, plans, group_ids, created)
    execute_many(conn, _INSERT, rows, preconverted=("payload",))
    return len(rows)


def batch_events(
    conn: Connection,
    context: JobContext,
    plans: Mapping[int, MemberPlan],
    group_ids: Mapping[int, int],
    created: set[int],
) -> list[dict[str, Any]]:
    """Event rows (values of the events table, payload as JSON text) for one batch.

    Arguments as for record_batch_events; events come per account in ``plans`` order:
    group.created, then member.assigned per write, then member.removed per removal.
    """
    removed = _removed_members(conn, [m for p in plans.values() for m in p.removals])
    person_ids = {w.person_id for p in plans.values() for w in p.writes}
    person_ids |= {person for person, _, _ in removed.values()}
    persons = _external_ids(conn, PersonRow, person_ids)
    accounts = context.account_external_ids
    missing = [a for a in plans if a not in accounts]
    if missing:
        accounts = {**accounts, **_external_ids(conn, AccountRow, missing)}
    roles = {role_id: name for name, role_id in context.role_ids.items()}
    # One timestamp for the batch: its events are committed together.
    now = datetime.now(UTC)
    interest = context.interest_name
    created_payload = f', "template_id": {json.dumps(context.template_id)}}}'
    rows: list[dict[str, Any]] = []
    append = rows.append
    for account_id, plan in plans.items():
        group_id = group_ids[account_id]
        account = accounts.get(account_id)
        if account_id in created:
            append(_row(EventType.GROUP_CREATED, now, group_id, account, interest, created_payload))
        for write in plan.writes:
            member = _member(persons.get(write.person_id), roles.get(write.role_id), write.source)
            append(_row(EventType.MEMBER_ASSIGNED, now, group_id, account, interest, member))
        for member_id in plan.removals:
            person_id, role_id, source = removed[member_id]
            member = _member(persons.get(person_id), roles.get(role_id), source)
            append(_row(EventType.MEMBER_REMOVED, now, group_id, account, interest, member))
    return rows


def _row(
    kind: EventType,
    now: datetime,
    group_id: int,
    account: str | None,
    interest: str,
    payload_tail: str,
) -> dict[str, Any]:
    """One events row; the payload is ``{"group_id": ...`` followed by ``payload_tail``."""
    return {
        "type": kind.value,
        "occurred_at": now,
        "group_id": group_id,
        "account_external_id": account,
        "solution_interest": interest,
        "payload": f'{{"group_id": {group_id}{payload_tail}',
    }


def _member(person: str | None, role: str | None, source: str) -> str:
    """The JSON tail of a member event's payload (after its group_id)."""
    return (
        f', "person_external_id": {json.dumps(person)}, "role": {json.dumps(role)}, '
        f'"source": "{source}"}}'
    )


def _removed_members(conn: Connection, member_ids: list[int]) -> dict[int, tuple[int, int, str]]:
    """member id -> (person id, role id, source) of the members a batch removes."""
    found: dict[int, tuple[int, int, str]] = {}
    for start in range(0, len(member_ids), 10_000):
        chunk = member_ids[start : start + 10_000]
        query = select(
            MemberRow.id, MemberRow.person_id, MemberRow.role_id, MemberRow.source
        ).where(MemberRow.id.in_(chunk))
        found.update({row[0]: (row[1], row[2], row[3]) for row in conn.execute(query)})
    return found


def _external_ids(
    conn: Connection, model: type[AccountRow] | type[PersonRow], ids: Iterable[int]
) -> dict[int, str]:
    """id -> external id of ``ids``."""
    wanted = sorted(set(ids))
    found: dict[int, str] = {}
    # Chunks keep the IN list under SQLite's bound-parameter limit.
    for start in range(0, len(wanted), 10_000):
        chunk = wanted[start : start + 10_000]
        query = select(model.id, model.external_id).where(model.id.in_(chunk))
        found.update({pk: ext for pk, ext in conn.execute(query)})
    return found
