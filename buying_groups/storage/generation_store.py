"""The SQL side of a generation job: batch reads and bulk writes on one connection.

``SqlGenerationStore`` implements the jobs' ``GenerationStore`` port with the functions
below. Reads return named rows of plain values (no ORM objects: a job touches a million
rows); writes go through ``execute_many`` and only ever carry rows that change, so a rerun
writes nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    delete,
    false,
    func,
    null,
    select,
    true,
    update,
)
from sqlalchemy import insert as core_insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from buying_groups.assignment.facts import CRM_TEXT_ATTRIBUTES
from buying_groups.assignment.rules import PersonFields
from buying_groups.generation.ports import RemovedMember, ReviewProposal, StoredGroup
from buying_groups.generation.reconcile import (
    GroupRoleValues,
    GroupScores,
    MemberWrite,
    StoredMember,
)
from buying_groups.scores.engagement import (
    DEFAULT_ACTIVITY_WEIGHTS,
    LOOKBACK,
    FloatArray,
    IntArray,
    group_engagement,
    person_engagement,
    raw_engagement_of_codes,
    scale_to_best,
)
from buying_groups.storage.bulk import execute_many, fetch_chunks
from buying_groups.storage.tables import (
    AccountRow,
    ActivityRow,
    BuyingGroupRow,
    EventRow,
    GroupRoleRow,
    MemberRow,
    PersonRow,
    ReviewRow,
    RoleCardRow,
    table_of,
)

ACTIVITY_CHUNK: Final = 200_000
PERSON_CHUNK: Final = 50_000
# Histories shorter than this are read by a scan on SQLite (see _window_column).
SHORT_HISTORY: Final = 3 * LOOKBACK
# Sorted: the type codes of the packed path must follow person_engagement's sorted order.
ACTIVITY_TYPES: Final = sorted(DEFAULT_ACTIVITY_WEIGHTS)
_SECONDS_PER_DAY: Final = 86_400
# Packed activity code: (person_id * _TYPE_SLOTS + type code) * _DAY_SLOTS + UTC day number;
# days since 1970 stay below 2**16 until 2149, person ids below 2**43.
_TYPE_SLOTS: Final = 16
_DAY_SLOTS: Final = 1 << 16
_NO_ACTIVITIES: Final = pd.DataFrame(columns=["person_id", "type", "occurred_at"])
# Scores are recomputed from the same inputs each run; a change smaller than this is noise
# from summation order, and writing it would break "a rerun changes nothing".
SCORE_TOLERANCE: Final = 1e-9

GROUPS = table_of(BuyingGroupRow)
MEMBERS = table_of(MemberRow)
GROUP_ROLES = table_of(GroupRoleRow)
REVIEWS = table_of(ReviewRow)
EVENTS: Final = table_of(EventRow)
#: IN lists are cut into chunks of this many ids (SQLite's bound-parameter limit).
ID_CHUNK: Final = 10_000


class SqlGenerationStore:
    """The ``GenerationStore`` port on one connection (the unit of work's transaction).

    Each method calls this module's function of the same name, looked up when called.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def person_engagement(self, as_of: datetime) -> FloatArray:
        """See person_engagement_by_id."""
        return person_engagement_by_id(self.conn, as_of)

    def load_groups(self, interest_id: int, account_ids: Sequence[int]) -> dict[int, StoredGroup]:
        """See load_groups."""
        return load_groups(self.conn, interest_id, account_ids)

    def load_persons(
        self, account_ids: Sequence[int], attributes: Collection[str]
    ) -> list[PersonFields]:
        """See load_persons."""
        return load_persons(self.conn, account_ids, attributes)

    def load_members(self, group_ids: Sequence[int]) -> dict[int, list[StoredMember]]:
        """See load_members."""
        return load_members(self.conn, group_ids)

    def load_group_roles(self, group_ids: Sequence[int]) -> dict[int, set[GroupRoleValues]]:
        """See load_group_roles."""
        return load_group_roles(self.conn, group_ids)

    def insert_groups(
        self, interest_id: int, template_id: int, scores: Mapping[int, GroupScores]
    ) -> dict[int, int]:
        """See insert_groups."""
        return insert_groups(self.conn, interest_id, template_id, scores)

    def update_group_scores(self, changed: Mapping[int, GroupScores]) -> None:
        """See update_group_scores."""
        update_group_scores(self.conn, changed)

    def write_group_roles(self, rows: Iterable[tuple[int, GroupRoleValues]]) -> None:
        """See write_group_roles."""
        write_group_roles(self.conn, rows)

    def insert_members(self, rows: Iterable[tuple[int, MemberWrite]]) -> None:
        """See insert_members."""
        insert_members(self.conn, rows)

    def update_members(self, writes: Iterable[MemberWrite]) -> None:
        """See update_members."""
        update_members(self.conn, writes)

    def remove_members(self, member_ids: Iterable[int]) -> None:
        """See remove_members."""
        remove_members(self.conn, member_ids)

    def removed_members(self, member_ids: Sequence[int]) -> dict[int, RemovedMember]:
        """See removed_members."""
        return removed_members(self.conn, member_ids)

    def person_external_ids(self, person_ids: Iterable[int]) -> dict[int, str]:
        """See external_ids."""
        return external_ids(self.conn, PersonRow, person_ids)

    def account_external_ids(self, account_ids: Iterable[int]) -> dict[int, str]:
        """See external_ids."""
        return external_ids(self.conn, AccountRow, account_ids)

    def insert_events(self, rows: Sequence[dict[str, Any]]) -> None:
        """See insert_events."""
        insert_events(self.conn, rows)

    def refresh_group_engagement(self, interest_id: int, person: FloatArray) -> int:
        """See refresh_group_engagement."""
        return refresh_group_engagement(self.conn, interest_id, person)

    def write_reviews(self, interest_id: int, proposals: Sequence[ReviewProposal]) -> int:
        """See write_reviews."""
        return write_reviews(self.conn, interest_id, proposals)

    def withdraw_reviews(
        self, interest_id: int, account_ids: Sequence[int], proposed: Collection[int]
    ) -> int:
        """See withdraw_reviews."""
        return withdraw_reviews(self.conn, interest_id, account_ids, proposed)


# --------------------------------------------------------------------------- person engagement


def person_engagement_by_id(conn: Connection, as_of: datetime) -> FloatArray:
    """Engagement of every person at ``as_of``, as an array indexed by person id (0 if none).

    On SQLite the window's activities arrive as packed integer codes (see _packed_codes);
    elsewhere they are read in chunks into compact arrays and scored tenant-wide in one call.
    Both give exactly ``scores.engagement.person_engagement`` (tests/generation/
    test_engagement_codes.py). An array, not a list: 8 MB for 1M persons instead of 32 MB.
    """
    max_id = conn.execute(select(func.max(PersonRow.id))).scalar_one() or 0
    if conn.dialect.name == "sqlite":
        persons, types, days = _packed_codes(conn, as_of)
        raw = raw_engagement_of_codes(persons, types, days, ACTIVITY_TYPES, max_id + 1)
        return scale_to_best(raw)
    frame = _window_activities(conn, as_of)
    scores = np.zeros(max_id + 1, dtype=np.float64)
    if frame.empty:
        return scores
    series = person_engagement(frame, as_of)
    scores[series.index.to_numpy(dtype=np.int64)] = series.to_numpy(dtype=np.float64)
    return scores


def _packed_codes(conn: Connection, as_of: datetime) -> tuple[IntArray, IntArray, IntArray]:
    """(person id, type code, UTC day) of the window's activities with a weight (SQLite).

    SQLite packs each activity into one integer and joins a range of them into one text,
    which numpy parses in C: 4.55M activities take about 2.3 CPU-s, against about 6.5 s for
    driver tuples of (person, type text, timestamp text) turned into arrays (measured on
    the large demo CRM). Aggregating per (person, type, day) in SQL is slower still (12 s:
    a temp B-tree sort). Ranges of activity ids bound the size of each text (~12 MB).
    """
    activities = table_of(ActivityRow)
    column = _window_column(conn, as_of)
    type_code = case(
        {name: code for code, name in enumerate(ACTIVITY_TYPES)}, value=activities.c.type
    )
    # Naive UTC text, as person_engagement reads it; both are UTC seconds, and unixepoch
    # (SQLite >= 3.38) costs about 0.3 s per million rows less than strftime('%s').
    seconds = (
        func.unixepoch(activities.c.occurred_at)
        if sqlite3.sqlite_version_info >= (3, 38)
        else func.strftime("%s", activities.c.occurred_at)
    )
    day = cast(seconds, Integer) // _SECONDS_PER_DAY
    packed = (activities.c.person_id * _TYPE_SLOTS + type_code) * _DAY_SLOTS + day
    first, last = conn.execute(select(func.min(activities.c.id), func.max(activities.c.id))).one()
    parts: list[IntArray] = []
    for low in range(first or 0, (last or -1) + 1, ACTIVITY_CHUNK * 5):
        # Types without a weight make the code NULL, which group_concat skips.
        query = select(func.group_concat(packed)).where(
            activities.c.id >= low,
            activities.c.id < low + ACTIVITY_CHUNK * 5,
            column > as_of - LOOKBACK,
            column <= as_of,
        )
        text = conn.execute(query).scalar_one()
        if text:
            parts.append(np.fromstring(text, dtype=np.int64, sep=","))
    codes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return (
        codes // (_TYPE_SLOTS * _DAY_SLOTS),
        codes // _DAY_SLOTS % _TYPE_SLOTS,
        codes % _DAY_SLOTS,
    )


def _window_activities(conn: Connection, as_of: datetime) -> pd.DataFrame:
    """The window's activities: person_id, type (categorical), occurred_at (naive UTC)."""
    occurred = _window_column(conn, as_of)
    query = select(ActivityRow.person_id, ActivityRow.type, ActivityRow.occurred_at).where(
        occurred > as_of - LOOKBACK, occurred <= as_of
    )
    ids, codes, stamps = [], [], []
    for chunk in fetch_chunks(conn, query, ACTIVITY_CHUNK):
        # Column by column from the driver's tuples: the cheapest transposition measured.
        ids.append(np.fromiter((r[0] for r in chunk), dtype=np.int64, count=len(chunk)))
        # Types without a weight get code -1; the score ignores them anyway.
        codes.append(pd.Categorical([r[1] for r in chunk], categories=ACTIVITY_TYPES).codes)
        stamps.append(_utc_datetimes([r[2] for r in chunk]))
    if not ids:
        return _NO_ACTIVITIES
    codes_all = np.concatenate(codes)
    known = codes_all >= 0
    return pd.DataFrame(
        {
            "person_id": np.concatenate(ids)[known],
            "type": pd.Categorical.from_codes(codes_all[known], categories=ACTIVITY_TYPES),
            "occurred_at": np.concatenate(stamps)[known],
        }
    )


def _utc_datetimes(values: list[Any]) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    """Naive UTC datetime64 of driver values: SQLite's UTC text or PostgreSQL's datetimes."""
    if values and isinstance(values[0], str):
        # numpy parses ISO text about five times faster than pandas (measured).
        return np.array(values, dtype="datetime64[ns]")
    moments = pd.to_datetime(pd.Series(values), utc=True)
    return moments.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")


def _window_column(conn: Connection, as_of: datetime) -> ColumnElement[datetime]:
    """occurred_at as the window query should compare it.

    SQLite keeps no statistics on ranges and always walks the time index, visiting rows in
    random order: when most activities fall in the window (a short history), that is about
    four times slower than a scan (measured on the demo CRM). Wrapping the column hides the
    index then. PostgreSQL's planner chooses by itself.
    """
    column = table_of(ActivityRow).c.occurred_at
    if conn.dialect.name != "sqlite":
        return column
    oldest = conn.execute(select(func.min(column))).scalar_one()
    if oldest is None:
        return column
    oldest = oldest.replace(tzinfo=UTC) if oldest.tzinfo is None else oldest
    if oldest >= as_of - SHORT_HISTORY:
        return func.coalesce(column, column)
    return column


# --------------------------------------------------------------------------- batch reads


def load_groups(
    conn: Connection, interest_id: int, account_ids: Sequence[int]
) -> dict[int, StoredGroup]:
    """account id -> its group (id, completeness, role_completeness, is_deleted)."""
    query = select(
        GROUPS.c.account_id,
        GROUPS.c.id,
        GROUPS.c.completeness,
        GROUPS.c.role_completeness,
        GROUPS.c.is_deleted,
    ).where(GROUPS.c.solution_interest_id == interest_id, GROUPS.c.account_id.in_(account_ids))
    return {account: StoredGroup(*group) for account, *group in conn.execute(query).tuples()}


def load_persons(
    conn: Connection, account_ids: Sequence[int], attributes: Collection[str] = CRM_TEXT_ATTRIBUTES
) -> list[PersonFields]:
    """The persons of ``account_ids`` as the driver's tuples (PersonRecord's fields), in one
    query. Not PersonRecords: naming a million rows made a job 10-15% slower (an allocation
    per row and the collections it triggers, measured on the medium benchmark).

    Only the text ``attributes`` that conditions read are fetched; the others come back as
    None (with titles only, decoding the persons of a 1M-person job is about 1 s cheaper).
    """
    persons = table_of(PersonRow)
    columns = {
        "job_title": persons.c.job_title,
        "department": persons.c.department,
        "country": persons.c.country,
        "email_domain": persons.c.email,
    }
    query = select(
        persons.c.id,
        persons.c.account_id,
        *(column if name in attributes else null() for name, column in columns.items()),
    ).where(persons.c.account_id.in_(account_ids))
    found: list[PersonFields] = []
    for chunk in fetch_chunks(conn, query, PERSON_CHUNK):
        found.extend(chunk)  # type: ignore[arg-type]
    return found


def load_members(conn: Connection, group_ids: Sequence[int]) -> dict[int, list[StoredMember]]:
    """group id -> its member rows, removed ones included."""
    found: dict[int, list[StoredMember]] = {}
    if not group_ids:
        return found
    query = select(
        MEMBERS.c.group_id,
        MEMBERS.c.id,
        MEMBERS.c.person_id,
        MEMBERS.c.role_id,
        MEMBERS.c.source,
        MEMBERS.c.evidence,
        MEMBERS.c.is_removed,
    ).where(MEMBERS.c.group_id.in_(group_ids))
    for group_id, *values in conn.execute(query).tuples():
        found.setdefault(group_id, []).append(StoredMember(*values))
    return found


def load_group_roles(conn: Connection, group_ids: Sequence[int]) -> dict[int, set[GroupRoleValues]]:
    """group id -> its group_roles rows."""
    found: dict[int, set[GroupRoleValues]] = {}
    if not group_ids:
        return found
    c = GROUP_ROLES.c
    query = select(
        c.group_id, c.role_id, c.assigned, c.required, c.completeness, c.required_for_completeness
    ).where(c.group_id.in_(group_ids))
    for group_id, *values in conn.execute(query).tuples():
        found.setdefault(group_id, set()).add(GroupRoleValues(*values))
    return found


# --------------------------------------------------------------------------- batch writes


def insert_groups(
    conn: Connection,
    interest_id: int,
    template_id: int,
    scores_by_account: Mapping[int, GroupScores],
) -> dict[int, int]:
    """Create a group per account with its scores; returns account id -> new group id."""
    if not scores_by_account:
        return {}
    statement = core_insert(GROUPS).values(
        account_id=bindparam("account_id"),
        solution_interest_id=bindparam("interest_id"),
        role_template_id=bindparam("template_id"),
        completeness=bindparam("completeness"),
        role_completeness=bindparam("role_completeness"),
        engagement=bindparam("engagement"),
        is_deleted=false(),
        created_at=func.now(),
        updated_at=func.now(),
    )
    rows = [
        {
            "account_id": account_id,
            "interest_id": interest_id,
            "template_id": template_id,
            "completeness": scores.completeness,
            "role_completeness": scores.role_completeness_json,
            "engagement": 0.0,
        }
        for account_id, scores in scores_by_account.items()
    ]
    execute_many(conn, statement, rows, preconverted=("role_completeness",))
    created = load_groups(conn, interest_id, list(scores_by_account))
    return {account_id: group.group_id for account_id, group in created.items()}


def update_group_scores(conn: Connection, changed: Mapping[int, GroupScores]) -> None:
    """Store new completeness numbers of existing groups."""
    statement = (
        update(GROUPS)
        .where(GROUPS.c.id == bindparam("group_id"))
        .values(
            completeness=bindparam("completeness"),
            role_completeness=bindparam("role_completeness"),
            updated_at=func.now(),
        )
    )
    rows = [
        {
            "group_id": group_id,
            "completeness": s.completeness,
            "role_completeness": s.role_completeness_json,
        }
        for group_id, s in changed.items()
    ]
    execute_many(conn, statement, rows, preconverted=("role_completeness",))


def write_group_roles(conn: Connection, rows: Iterable[tuple[int, GroupRoleValues]]) -> None:
    """Insert or replace group_roles rows given as (group id, values)."""
    insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    names = ("role_id", "assigned", "required", "completeness", "required_for_completeness")
    statement = insert(GROUP_ROLES).values(
        group_id=bindparam("group_id"), **{n: bindparam(n) for n in names}
    )
    statement = statement.on_conflict_do_update(
        index_elements=[GROUP_ROLES.c.group_id, GROUP_ROLES.c.role_id],
        set_={n: statement.excluded[n] for n in names[1:]},
    )
    data = [
        {
            "group_id": group_id,
            "role_id": values.role_id,
            "assigned": values.assigned,
            "required": values.required,
            "completeness": float(values.completeness),
            "required_for_completeness": values.required_for_completeness,
        }
        for group_id, values in rows
    ]
    # Python bools and floats are what both drivers take: skipping the per-value processors
    # lets execute_many build the 250k tuples of a large job with itemgetter, in C.
    execute_many(conn, statement, data, preconverted=("completeness", "required_for_completeness"))


def insert_members(conn: Connection, rows: Iterable[tuple[int, MemberWrite]]) -> None:
    """Insert new members given as (group id, write); evidence is ready JSON text."""
    statement = core_insert(MEMBERS).values(
        group_id=bindparam("group_id"),
        person_id=bindparam("person_id"),
        role_id=bindparam("role_id"),
        source=bindparam("source"),
        confidence=bindparam("confidence"),
        evidence=bindparam("evidence"),
        is_removed=false(),
        created_at=func.now(),
        updated_at=func.now(),
    )
    data = [
        {
            "group_id": group_id,
            "person_id": w.person_id,
            "role_id": w.role_id,
            "source": w.source,
            "confidence": w.confidence,
            "evidence": w.evidence_json,
        }
        for group_id, w in rows
    ]
    execute_many(conn, statement, data, preconverted=("evidence",))


def update_members(conn: Connection, writes: Iterable[MemberWrite]) -> None:
    """Set stored members active in a (new) role with new evidence."""
    statement = (
        update(MEMBERS)
        .where(MEMBERS.c.id == bindparam("member_id"))
        .values(
            role_id=bindparam("role_id"),
            source=bindparam("source"),
            confidence=bindparam("confidence"),
            evidence=bindparam("evidence"),
            is_removed=false(),
            updated_at=func.now(),
        )
    )
    data = [
        {
            "member_id": w.member_id,
            "role_id": w.role_id,
            "source": w.source,
            "confidence": w.confidence,
            "evidence": w.evidence_json,
        }
        for w in writes
    ]
    execute_many(conn, statement, data, preconverted=("evidence",))


def remove_members(conn: Connection, member_ids: Iterable[int]) -> None:
    """Mark job members removed; they keep their source (rule or model), so a later job
    may re-add them."""
    statement = (
        update(MEMBERS)
        .where(MEMBERS.c.id == bindparam("member_id"))
        .values(is_removed=true(), updated_at=func.now())
    )
    execute_many(conn, statement, [{"member_id": m} for m in member_ids])


# --------------------------------------------------------------------------- group engagement


def refresh_group_engagement(conn: Connection, interest_id: int, person: FloatArray) -> int:
    """Recompute the engagement of all the interest's groups; write changed ones only.

    Returns:
        The number of groups whose engagement changed.
    """
    members = _weighted_members(conn, interest_id)
    ids = members["person_id"].to_numpy(dtype=np.int64)
    known = ids < len(person)
    values = np.zeros(len(ids), dtype=np.float64)
    values[known] = person[ids[known]]
    scores = pd.Series(values, index=ids, dtype=np.float64)
    scores = scores[~scores.index.duplicated()]
    fresh = group_engagement(members, scores).to_dict() if len(members) else {}
    stored = conn.execute(
        select(GROUPS.c.id, GROUPS.c.engagement).where(
            GROUPS.c.solution_interest_id == interest_id, GROUPS.c.is_deleted.is_(False)
        )
    ).tuples()
    changed = [
        {"group_id": group_id, "engagement": new}
        for group_id, old in stored
        if abs((new := float(fresh.get(group_id, 0.0))) - old) > SCORE_TOLERANCE
    ]
    statement = (
        update(GROUPS)
        .where(GROUPS.c.id == bindparam("group_id"))
        .values(engagement=bindparam("engagement"), updated_at=func.now())
    )
    execute_many(conn, statement, changed)
    return len(changed)


def _weighted_members(conn: Connection, interest_id: int) -> pd.DataFrame:
    """Active members of the interest's live groups with their card's weighting."""
    cards = table_of(RoleCardRow)
    query = (
        select(MEMBERS.c.group_id, MEMBERS.c.person_id, MEMBERS.c.role_id, cards.c.weighting)
        .join(GROUPS, GROUPS.c.id == MEMBERS.c.group_id)
        .join(
            cards,
            and_(
                cards.c.template_id == GROUPS.c.role_template_id,
                cards.c.role_id == MEMBERS.c.role_id,
            ),
        )
        .where(
            GROUPS.c.solution_interest_id == interest_id,
            GROUPS.c.is_deleted.is_(False),
            MEMBERS.c.is_removed.is_(False),
        )
        .order_by(MEMBERS.c.group_id, MEMBERS.c.id)
    )
    rows = conn.execute(query).tuples().all()
    return pd.DataFrame(rows, columns=["group_id", "person_id", "role", "weighting"])


# --------------------------------------------------------------------------- review items


_REVIEW_CHUNK: Final = 10_000


def write_reviews(conn: Connection, interest_id: int, proposals: Sequence[ReviewProposal]) -> int:
    """Open the proposed reviews: update a person's open one, never reopen a decided one.

    A decided review of the same proposal (reason, rule role, model role) stands: the
    reviewer has answered it. Returns how many reviews were created.
    """
    if not proposals:
        return 0
    open_reviews, decided = _stored_reviews(conn, interest_id, [p.person_id for p in proposals])
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for p in proposals:
        found = open_reviews.get(p.person_id)
        if found is not None:
            if found.values != p.values:
                updates.append({"review_id": found.review_id, **_review_values(p)})
        elif (p.person_id, *p.values[:3]) not in decided:
            inserts.append(
                {"person_id": p.person_id, "solution_interest_id": interest_id} | _review_values(p)
            )
    if inserts:
        conn.execute(core_insert(REVIEWS), inserts)
    if updates:
        names = ("reason", "rule_role_id", "model_role_id", "model_confidence", "evidence")
        statement = (
            update(REVIEWS)
            .where(REVIEWS.c.id == bindparam("review_id"))
            .values({n: bindparam(f"new_{n}") for n in names})
        )
        conn.execute(statement, [_prefixed(u) for u in updates])
    return len(inserts)


def withdraw_reviews(
    conn: Connection,
    interest_id: int,
    account_ids: Sequence[int],
    proposed_person_ids: Collection[int],
) -> int:
    """Delete the open reviews of these accounts' persons that this run no longer proposes.

    A run with the role model judges every person of the accounts it processes again; an
    open review it does not propose again (the title changed, the model was retrained, the
    rule now agrees) asks a question nobody asks any more. Decided reviews are training
    labels and stay. Returns how many reviews were withdrawn.
    """
    if not account_ids:
        return 0
    c = REVIEWS.c
    persons = table_of(PersonRow)
    query = select(c.id, c.person_id).where(
        c.solution_interest_id == interest_id,
        c.decision.is_(None),
        c.person_id.in_(select(persons.c.id).where(persons.c.account_id.in_(account_ids))),
    )
    stale = [rid for rid, pid in conn.execute(query).tuples() if pid not in proposed_person_ids]
    withdrawn = 0
    for start in range(0, len(stale), _REVIEW_CHUNK):
        # Checked again as it is deleted: a reviewer may decide one in the meantime
        # (PostgreSQL re-evaluates the condition on the row the decision updated).
        statement = delete(REVIEWS).where(
            c.id.in_(stale[start : start + _REVIEW_CHUNK]),
            c.solution_interest_id == interest_id,
            c.decision.is_(None),
        )
        withdrawn += conn.execute(statement).rowcount
    return withdrawn


def _review_values(proposal: ReviewProposal) -> dict[str, Any]:
    return {
        "reason": proposal.reason,
        "rule_role_id": proposal.rule_role_id,
        "model_role_id": proposal.model_role_id,
        "model_confidence": proposal.model_confidence,
        "evidence": proposal.evidence,
    }


class _OpenReview(NamedTuple):
    review_id: int
    values: tuple[Any, ...]


def _prefixed(row: dict[str, Any]) -> dict[str, Any]:
    """Bind names of an update must differ from the column names it sets."""
    return {k if k == "review_id" else f"new_{k}": v for k, v in row.items()}


def _stored_reviews(
    conn: Connection, interest_id: int, person_ids: Sequence[int]
) -> tuple[dict[int, _OpenReview], set[tuple[Any, ...]]]:
    """person id -> its open review; and (person, reason, roles) of decided ones."""
    c = REVIEWS.c
    open_reviews: dict[int, _OpenReview] = {}
    decided: set[tuple[Any, ...]] = set()
    wanted = sorted(set(person_ids))
    for start in range(0, len(wanted), _REVIEW_CHUNK):
        query = select(
            c.person_id,
            c.id,
            c.decision,
            c.reason,
            c.rule_role_id,
            c.model_role_id,
            c.model_confidence,
            c.evidence,
        ).where(
            c.solution_interest_id == interest_id,
            c.person_id.in_(wanted[start : start + _REVIEW_CHUNK]),
        )
        for person_id, review_id, decision, *values in conn.execute(query).tuples():
            if decision is None:
                open_reviews[person_id] = _OpenReview(review_id, tuple(values))
            else:
                decided.add((person_id, *values[:3]))
    return open_reviews, decided


# --------------------------------------------------------------------------- events


def removed_members(conn: Connection, member_ids: Sequence[int]) -> dict[int, RemovedMember]:
    """member id -> (person id, role id, source) of the members a batch removes."""
    found: dict[int, RemovedMember] = {}
    for start in range(0, len(member_ids), ID_CHUNK):
        chunk = member_ids[start : start + ID_CHUNK]
        query = select(
            MEMBERS.c.id, MEMBERS.c.person_id, MEMBERS.c.role_id, MEMBERS.c.source
        ).where(MEMBERS.c.id.in_(chunk))
        found.update({member: RemovedMember(*rest) for member, *rest in conn.execute(query)})
    return found


def external_ids(
    conn: Connection, model: type[AccountRow] | type[PersonRow], ids: Iterable[int]
) -> dict[int, str]:
    """id -> external id of ``ids``."""
    wanted = sorted(set(ids))
    found: dict[int, str] = {}
    for start in range(0, len(wanted), ID_CHUNK):
        chunk = wanted[start : start + ID_CHUNK]
        query = select(model.id, model.external_id).where(model.id.in_(chunk))
        found.update({pk: ext for pk, ext in conn.execute(query)})
    return found


_INSERT_EVENT: Final = core_insert(EVENTS).values(
    type=bindparam("type"),
    occurred_at=bindparam("occurred_at"),
    group_id=bindparam("group_id"),
    account_external_id=bindparam("account_external_id"),
    solution_interest=bindparam("solution_interest"),
    payload=bindparam("payload"),
)


def insert_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Append outbox rows whose payload is ready JSON text (one driver call)."""
    execute_many(conn, _INSERT_EVENT, rows, preconverted=("payload",))
