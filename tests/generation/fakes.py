"""In-memory fakes of the services' ports (buying_groups.generation.ports): no database.

One ``FakeDatabase`` holds plain dicts; every fake repository reads and writes it, so a job
run, a membership change and a review decision see each other's work as they would in SQL.
``FakeUnitOfWork`` restores the dicts when a transaction fails, as a rollback would.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

import numpy as np

from buying_groups.assignment import PersonRecord
from buying_groups.domain.errors import NotFoundError
from buying_groups.domain.groups import BuyingGroup, Member, MemberSource
from buying_groups.domain.reviews import Review, ReviewDecision, ReviewReason
from buying_groups.domain.role_templates import RoleTemplate
from buying_groups.domain.solution_interests import AccountAudience, SolutionInterest
from buying_groups.generation.ports import (
    BatchCounts,
    CandidatePerson,
    DuplicateJobKeyError,
    EventRecord,
    GroupMembers,
    GroupRecord,
    InterestRef,
    JobRecord,
    PersonRef,
    RemovedMember,
    ReviewProposal,
    RoleRef,
    StoredGroup,
)
from buying_groups.generation.reconcile import (
    GroupRoleValues,
    GroupScores,
    MemberWrite,
    StoredMember,
)
from buying_groups.generation.review_items import ReviewFilter, ReviewItem, ReviewPage, ReviewState

R = TypeVar("R")
BUILTIN_ROLES = ("Decision Maker", "Influencer", "Practitioner", "Champion", "Other")


@dataclass
class FakePerson:
    record: PersonRecord
    external_id: str
    name: str = ""
    activities: list[datetime] = field(default_factory=list)


@dataclass
class FakeGroup:
    account_id: int
    interest_id: int
    template_id: int
    completeness: float = 0.0
    role_completeness: dict[str, float] = field(default_factory=dict)
    is_deleted: bool = False
    engagement: float = 0.0


@dataclass
class FakeMember:
    group_id: int
    person_id: int
    role_id: int
    source: str
    confidence: float | None
    evidence: dict[str, Any]
    is_removed: bool = False


@dataclass
class FakeDatabase:
    """Every table the services touch, as dicts keyed by id."""

    roles: dict[str, int] = field(
        default_factory=lambda: {r: i for i, r in enumerate(BUILTIN_ROLES, 1)}
    )
    templates: dict[int, RoleTemplate] = field(default_factory=dict)
    interests: dict[int, SolutionInterest] = field(default_factory=dict)
    audiences: dict[int, AccountAudience] = field(default_factory=dict)
    accounts: dict[int, tuple[str, int | None]] = field(default_factory=dict)
    persons: dict[int, FakePerson] = field(default_factory=dict)
    groups: dict[int, FakeGroup] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    group_roles: dict[tuple[int, int], GroupRoleValues] = field(default_factory=dict)
    jobs: dict[int, dict[str, Any]] = field(default_factory=dict)
    reviews: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    engagement: dict[int, float] = field(default_factory=dict)

    # --- building the data ---------------------------------------------------------------

    def add_interest(self, interest: SolutionInterest, template: RoleTemplate) -> None:
        template_id = len(self.templates) + 1
        self.templates[template_id] = template
        self.interests[len(self.interests) + 1] = interest.model_copy(
            update={"role_template": template.name}
        )

    def add_account(self, external_id: str, parent: str | None = None) -> int:
        account_id = len(self.accounts) + 1
        self.accounts[account_id] = (external_id, self.account_id(parent) if parent else None)
        return account_id

    def add_person(self, external_id: str, account: str, title: str | None, **fields: Any) -> int:
        person_id = len(self.persons) + 1
        record = PersonRecord(
            person_id,
            self.account_id(account),
            title,
            fields.get("department"),
            fields.get("country"),
            fields.get("email"),
        )
        self.persons[person_id] = FakePerson(record, external_id, fields.get("name", ""))
        return person_id

    def account_id(self, external_id: str) -> int:
        return next(i for i, (ext, _) in self.accounts.items() if ext == external_id)

    def interest_id(self, name: str) -> int:
        found = [i for i, interest in self.interests.items() if interest.name == name]
        if not found:
            raise NotFoundError(f"solution interest {name!r} does not exist")
        return found[0]

    def template_id(self, name: str) -> int:
        return next(i for i, t in self.templates.items() if t.name == name)

    def role_name(self, role_id: int) -> str:
        return next(name for name, i in self.roles.items() if i == role_id)

    # --- reading it back, for assertions --------------------------------------------------

    def members_of(self, account: str, interest: str) -> dict[str, tuple[str, str, bool]]:
        """person external id -> (role, source, removed) of the account's group."""
        group_id = self.group_id(account, interest)
        return {
            self.persons[m.person_id].external_id: (
                self.role_name(m.role_id),
                m.source,
                m.is_removed,
            )
            for m in self.members.values()
            if m.group_id == group_id
        }

    def group_id(self, account: str, interest: str) -> int | None:
        account_id, interest_id = self.account_id(account), self.interest_id(interest)
        return next(
            (
                i
                for i, g in self.groups.items()
                if (g.account_id, g.interest_id) == (account_id, interest_id)
            ),
            None,
        )


class FakeUnitOfWork:
    """The UnitOfWork port over a FakeDatabase; nested entries join the transaction."""

    def __init__(self, db: FakeDatabase | None = None) -> None:
        self.db = db or FakeDatabase()
        self.commits = 0
        self.locks: list[int] = []
        self._depth = 0
        self._snapshot: dict[str, Any] | None = None
        self.jobs = FakeJobRepository(self.db)
        self.configuration = FakeConfiguration(self.db)
        self.generation = FakeGenerationStore(self.db)
        self.memberships = FakeMembershipRepository(self.db)
        self.reviews = FakeReviewRepository(self.db)
        self.crm = FakeCrmReader(self.db)
        self.events = FakeEventLog(self.db)

    def __enter__(self) -> FakeUnitOfWork:
        if self._depth == 0:
            self._snapshot = copy.deepcopy(vars(self.db))
        self._depth += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth:
            return
        if exc_type is None:
            self.commits += 1
        else:
            assert self._snapshot is not None
            vars(self.db).update(self._snapshot)
        self._snapshot = None

    def lock_interest_groups(self, interest_id: int) -> None:
        assert self._depth, "the lock is taken inside a transaction"
        self.locks.append(interest_id)

    def retrying(self, transaction: Callable[[], R]) -> Callable[[], R]:
        return transaction


class FakeJobRepository:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def add(
        self, interest_id: int, audience_id: int, mode: str, idempotency_key: str | None
    ) -> int:
        if idempotency_key and any(j["key"] == idempotency_key for j in self.db.jobs.values()):
            raise DuplicateJobKeyError(idempotency_key)
        job_id = len(self.db.jobs) + 1
        self.db.jobs[job_id] = {
            "key": idempotency_key,
            "interest_id": interest_id,
            "audience_id": audience_id,
            "mode": mode,
            "state": "queued",
            "error": None,
            "started_at": None,
            "finished_at": None,
            "cursor_account_id": 0,
            "total_accounts": 0,
            "processed_accounts": 0,
            **{f.name: 0 for f in dataclasses.fields(BatchCounts)},
        }
        return job_id

    def get(self, job_id: int) -> JobRecord | None:
        job = self.db.jobs.get(job_id)
        if job is None:
            return None
        names = {f.name for f in dataclasses.fields(JobRecord)}
        return JobRecord(
            job_id=job_id,
            solution_interest=self.db.interests[job["interest_id"]].name,
            audience=self.db.audiences[job["audience_id"]].name,
            **{k: v for k, v in job.items() if k in names},
        )

    def by_key(self, idempotency_key: str) -> JobRecord | None:
        found = [i for i, j in self.db.jobs.items() if j["key"] == idempotency_key]
        return self.get(found[0]) if found else None

    def unfinished(self) -> list[int]:
        return sorted(i for i, j in self.db.jobs.items() if j["state"] in ("queued", "running"))

    def start(self, job_id: int) -> datetime:
        job = self.db.jobs[job_id]
        job["state"], job["error"] = "running", None
        job["started_at"] = job["started_at"] or datetime.now(UTC)
        started: datetime = job["started_at"]
        return started

    def fail(self, job_id: int, error: str) -> None:
        self.db.jobs[job_id].update(state="failed", error=error)

    def set_total(self, job_id: int, total_accounts: int) -> None:
        self.db.jobs[job_id]["total_accounts"] = total_accounts

    def cursor(self, job_id: int) -> int:
        cursor: int = self.db.jobs[job_id]["cursor_account_id"]
        return cursor

    def advance(self, job_id: int, cursor: int, accounts: int, counts: BatchCounts) -> None:
        job = self.db.jobs[job_id]
        job["cursor_account_id"] = cursor
        job["processed_accounts"] += accounts
        for name, value in dataclasses.asdict(counts).items():
            job[name] += value

    def succeed(self, job_id: int) -> None:
        self.db.jobs[job_id].update(state="succeeded", finished_at=datetime.now(UTC))


class FakeConfiguration:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def get_solution_interest(self, name: str) -> SolutionInterest:
        return self.db.interests[self.db.interest_id(name)]

    def get_template(self, name: str) -> RoleTemplate:
        return self.db.templates[self.db.template_id(name)]

    def get_audience(self, name: str) -> AccountAudience:
        return self.db.audiences[self.audience_id(name)]

    def interest_ref(self, name: str) -> InterestRef:
        interest_id = self.db.interest_id(name)
        template = self.db.interests[interest_id].role_template
        return InterestRef(interest_id, name, self.db.template_id(template), template)

    def audience_id(self, name: str) -> int:
        found = [i for i, a in self.db.audiences.items() if a.name == name]
        if not found:
            raise NotFoundError(f"account audience {name!r} does not exist")
        return found[0]

    def role_ids(self) -> dict[str, int]:
        return dict(self.db.roles)

    def role(self, name: str) -> RoleRef | None:
        found = [(i, n) for n, i in self.db.roles.items() if n.lower() == name.lower()]
        return RoleRef(*found[0]) if found else None

    def select_audience(self, audience: AccountAudience) -> dict[int, str]:
        wanted = set(audience.account_external_ids)
        return {i: ext for i, (ext, _) in self.db.accounts.items() if ext in wanted}


class FakeGenerationStore:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def person_engagement(self, as_of: datetime) -> Any:
        scores = np.zeros(max(self.db.persons, default=0) + 1, dtype=np.float64)
        for person_id, score in self.db.engagement.items():
            scores[person_id] = score
        return scores

    def load_groups(self, interest_id: int, account_ids: Sequence[int]) -> dict[int, StoredGroup]:
        return {
            g.account_id: StoredGroup(i, g.completeness, g.role_completeness, g.is_deleted)
            for i, g in self.db.groups.items()
            if g.interest_id == interest_id and g.account_id in account_ids
        }

    def load_persons(
        self, account_ids: Sequence[int], attributes: Collection[str]
    ) -> list[PersonRecord]:
        return [p.record for p in self.db.persons.values() if p.record.account_id in account_ids]

    def load_members(self, group_ids: Sequence[int]) -> dict[int, list[StoredMember]]:
        found: dict[int, list[StoredMember]] = {}
        for member_id, m in self.db.members.items():
            if m.group_id in group_ids:
                stored = StoredMember(
                    member_id, m.person_id, m.role_id, m.source, m.evidence, m.is_removed
                )
                found.setdefault(m.group_id, []).append(stored)
        return found

    def load_group_roles(self, group_ids: Sequence[int]) -> dict[int, set[GroupRoleValues]]:
        found: dict[int, set[GroupRoleValues]] = {}
        for (group_id, _), values in self.db.group_roles.items():
            if group_id in group_ids:
                found.setdefault(group_id, set()).add(values)
        return found

    def insert_groups(
        self, interest_id: int, template_id: int, scores: Mapping[int, GroupScores]
    ) -> dict[int, int]:
        created = {}
        for account_id, s in scores.items():
            group_id = len(self.db.groups) + 1
            self.db.groups[group_id] = FakeGroup(
                account_id, interest_id, template_id, s.completeness, dict(s.role_completeness)
            )
            created[account_id] = group_id
        return created

    def update_group_scores(self, changed: Mapping[int, GroupScores]) -> None:
        for group_id, s in changed.items():
            group = self.db.groups[group_id]
            group.completeness, group.role_completeness = s.completeness, dict(s.role_completeness)

    def write_group_roles(self, rows: Iterable[tuple[int, GroupRoleValues]]) -> None:
        for group_id, values in rows:
            self.db.group_roles[(group_id, values.role_id)] = values

    def insert_members(self, rows: Iterable[tuple[int, MemberWrite]]) -> None:
        for group_id, w in rows:
            self.db.members[len(self.db.members) + 1] = FakeMember(
                group_id,
                w.person_id,
                w.role_id,
                w.source,
                w.confidence,
                json.loads(w.evidence_json),
            )

    def update_members(self, writes: Iterable[MemberWrite]) -> None:
        for w in writes:
            assert w.member_id is not None
            member = self.db.members[w.member_id]
            member.role_id, member.source, member.confidence = w.role_id, w.source, w.confidence
            member.evidence, member.is_removed = json.loads(w.evidence_json), False

    def remove_members(self, member_ids: Iterable[int]) -> None:
        for member_id in member_ids:
            self.db.members[member_id].is_removed = True

    def removed_members(self, member_ids: Sequence[int]) -> dict[int, RemovedMember]:
        members = self.db.members
        return {
            i: RemovedMember(members[i].person_id, members[i].role_id, members[i].source)
            for i in member_ids
        }

    def person_external_ids(self, person_ids: Iterable[int]) -> dict[int, str]:
        return {i: self.db.persons[i].external_id for i in person_ids}

    def account_external_ids(self, account_ids: Iterable[int]) -> dict[int, str]:
        return {i: self.db.accounts[i][0] for i in account_ids}

    def insert_events(self, rows: Sequence[dict[str, Any]]) -> None:
        self.db.events.extend({**row, "payload": json.loads(row["payload"])} for row in rows)

    def refresh_group_engagement(self, interest_id: int, person: Any) -> int:
        return 0

    def write_reviews(self, interest_id: int, proposals: Sequence[ReviewProposal]) -> int:
        created = 0
        for p in proposals:
            mine = [
                r
                for r in self.db.reviews.values()
                if (r["person_id"], r["interest_id"]) == (p.person_id, interest_id)
            ]
            if any(r["decision"] is None for r in mine):
                continue
            self.db.reviews[len(self.db.reviews) + 1] = {
                "person_id": p.person_id,
                "interest_id": interest_id,
                "reason": p.reason,
                "rule_role_id": p.rule_role_id,
                "model_role_id": p.model_role_id,
                "model_confidence": p.model_confidence,
                "evidence": p.evidence,
                "decision": None,
                "decided_role_id": None,
                "decided_by": None,
                "decided_at": None,
            }
            created += 1
        return created

    def withdraw_reviews(
        self, interest_id: int, account_ids: Sequence[int], proposed: Collection[int]
    ) -> int:
        return 0


class FakeMembershipRepository:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def account_id(self, external_id: str) -> int:
        try:
            return self.db.account_id(external_id)
        except StopIteration:
            raise NotFoundError(f"account {external_id!r} does not exist") from None

    def person(self, external_id: str) -> PersonRef | None:
        found = [p for p in self.db.persons.values() if p.external_id == external_id]
        if not found:
            return None
        record = found[0].record
        return PersonRef(record.person_id, external_id, record.account_id)

    def company_root(self, account_id: int) -> int:
        parent = self.db.accounts[account_id][1]
        return account_id if parent is None else self.company_root(parent)

    def group(self, account_id: int, interest: InterestRef) -> GroupRecord | None:
        for group_id, g in self.db.groups.items():
            if (g.account_id, g.interest_id) == (account_id, interest.id):
                return self._record(group_id, interest)
        return None

    def add_group(self, account_id: int, interest: InterestRef) -> GroupRecord:
        group_id = len(self.db.groups) + 1
        self.db.groups[group_id] = FakeGroup(account_id, interest.id, interest.template_id)
        return self._record(group_id, interest)

    def save_member(
        self, group: GroupRecord, person: PersonRef, role: RoleRef, member: Member
    ) -> None:
        values = FakeMember(
            group.id,
            person.id,
            role.id,
            member.source.value,
            member.confidence,
            dict(member.evidence),
            member.is_removed,
        )
        for member_id, m in self.db.members.items():
            if (m.group_id, m.person_id) == (group.id, person.id):
                self.db.members[member_id] = values
                return
        self.db.members[len(self.db.members) + 1] = values

    def save_scores(self, group: GroupRecord, scores: GroupScores) -> None:
        FakeGenerationStore(self.db).update_group_scores({group.id: scores})
        FakeGenerationStore(self.db).write_group_roles((group.id, r) for r in scores.roles)

    def _record(self, group_id: int, interest: InterestRef) -> GroupRecord:
        g = self.db.groups[group_id]
        members = tuple(
            Member(
                person_external_id=self.db.persons[m.person_id].external_id,
                role=self.db.role_name(m.role_id),
                source=MemberSource(m.source),
                confidence=m.confidence,
                evidence=m.evidence,
                is_removed=m.is_removed,
            )
            for m in self.db.members.values()
            if m.group_id == group_id
        )
        entity = BuyingGroup(
            account_external_id=self.db.accounts[g.account_id][0],
            solution_interest=interest.name,
            template_name=self.db.templates[g.template_id].name,
            members=members,
            completeness=g.completeness,
            role_completeness=g.role_completeness,
            is_deleted=g.is_deleted,
        )
        return GroupRecord(group_id, g.account_id, interest, entity)


class FakeReviewRepository:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def list(self, where: ReviewFilter, limit: int, offset: int) -> ReviewPage:
        items = [self._item(i) for i in sorted(self.db.reviews, reverse=True)]
        items = [i for i in items if _matches(i, where)]
        return ReviewPage(items[offset : offset + limit], len(items))

    def get(self, review_id: int) -> ReviewItem | None:
        return self._item(review_id) if review_id in self.db.reviews else None

    def interest_id(self, review_id: int) -> int | None:
        review = self.db.reviews.get(review_id)
        return review["interest_id"] if review else None

    def claim(self, review_id: int, decided: Review, role_id: int | None) -> bool:
        review = self.db.reviews[review_id]
        if review["decision"] is not None:
            return False
        assert decided.decision is not None
        review.update(
            decision=decided.decision.value,
            decided_role_id=role_id,
            decided_by=decided.decided_by,
            decided_at=decided.decided_at or datetime.now(UTC),
        )
        return True

    def _item(self, review_id: int) -> ReviewItem:
        r = self.db.reviews[review_id]
        person = self.db.persons[r["person_id"]]
        account = self.db.accounts[person.record.account_id][0]
        role = self.db.role_name
        model_role = role(r["model_role_id"]) if r["model_role_id"] else None
        if model_role is None and r["model_confidence"] is not None:
            model_role = "No role"
        return ReviewItem(
            id=review_id,
            solution_interest=self.db.interests[r["interest_id"]].name,
            person_external_id=person.external_id,
            person_name=person.name,
            job_title=person.record.job_title,
            account_external_id=account,
            account_name=account,
            reason=ReviewReason(r["reason"]),
            rule_role=role(r["rule_role_id"]) if r["rule_role_id"] else None,
            rule_evidence=r["evidence"].get("rule"),
            model_role=model_role,
            model_confidence=r["model_confidence"],
            model_evidence=r["evidence"].get("model"),
            decision=ReviewDecision(r["decision"]) if r["decision"] else None,
            decided_role=role(r["decided_role_id"]) if r["decided_role_id"] else None,
            decided_by=r["decided_by"],
            decided_at=r["decided_at"],
            created_at=datetime(2025, 1, 1, tzinfo=UTC),
        )


def _matches(item: ReviewItem, where: ReviewFilter) -> bool:
    if where.state is ReviewState.OPEN and item.decision is not None:
        return False
    if where.state is ReviewState.DECIDED and item.decision is None:
        return False
    return (where.solution_interest in (None, item.solution_interest)) and (
        where.reason in (None, item.reason)
    )


class FakeCrmReader:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def account_id(self, external_id: str) -> int | None:
        return next((i for i, (ext, _) in self.db.accounts.items() if ext == external_id), None)

    def company_accounts(self, account_id: int) -> list[int]:
        root = FakeMembershipRepository(self.db).company_root
        company = {i for i in self.db.accounts if root(i) == root(account_id)}
        return [account_id, *sorted(company - {account_id})]

    def persons(self, account_ids: Sequence[int]) -> list[CandidatePerson]:
        found = [
            CandidatePerson(
                p.record, p.external_id, p.name, self.db.accounts[p.record.account_id][0]
            )
            for p in self.db.persons.values()
            if p.record.account_id in account_ids
        ]
        return sorted(found, key=lambda p: p.external_id)

    def recent_activity(
        self, person_ids: Sequence[int], since: datetime, until: datetime
    ) -> dict[int, int]:
        counts = {
            i: sum(since < moment <= until for moment in self.db.persons[i].activities)
            for i in person_ids
        }
        return {i: n for i, n in counts.items() if n}

    def group_members(self, solution_interest: str, account_id: int) -> GroupMembers | None:
        interest_id = self.db.interest_id(solution_interest)
        groups = [
            (i, g)
            for i, g in self.db.groups.items()
            if (g.account_id, g.interest_id) == (account_id, interest_id)
        ]
        if not groups:
            return None
        group_id, group = groups[0]
        active, excluded = {}, set()
        for m in self.db.members.values():
            if m.group_id != group_id:
                continue
            if not m.is_removed:
                active[m.person_id] = self.db.role_name(m.role_id)
            elif m.source in ("manual", "journey", "import"):
                excluded.add(m.person_id)
        return GroupMembers(group.is_deleted, active, excluded)

    def accounts_with_group(self, solution_interest: str) -> list[int]:
        interest_id = self.db.interest_id(solution_interest)
        return [
            g.account_id
            for g in self.db.groups.values()
            if g.interest_id == interest_id and not g.is_deleted
        ]


class FakeEventLog:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def record(self, events: Sequence[EventRecord]) -> None:
        self.db.events.extend(
            {
                "type": e.type.value,
                "group_id": e.group_id,
                "account_external_id": e.account_external_id,
                "solution_interest": e.solution_interest,
                "payload": e.payload,
            }
            for e in events
        )
