"""What the services need from storage: repositories and one unit of work (Protocols).

The services own these ports (cosmicpython's AbstractRepository / AbstractUnitOfWork);
``buying_groups.storage`` implements them on SQLAlchemy (``storage.unit_of_work``) and the
service tests on plain dicts (``tests/generation/fakes.py``). Rows cross the port as named
tuples or small dataclasses, never as positional driver tuples.

The unit of work is the one way a service opens a transaction: ``with uow:`` commits when
the block ends and rolls back on any error; entering it again inside the block joins the
same transaction (a review decision runs a membership change in its own transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, NamedTuple, Protocol, TypeVar

from buying_groups.assignment import PersonRecord
from buying_groups.assignment.rules import PersonFields
from buying_groups.domain.events import EventType
from buying_groups.domain.groups import BuyingGroup, Member
from buying_groups.domain.reviews import Review
from buying_groups.domain.role_templates import RoleTemplate
from buying_groups.domain.solution_interests import AccountAudience, SolutionInterest
from buying_groups.generation.reconcile import (
    GroupRoleValues,
    GroupScores,
    MemberWrite,
    StoredMember,
)
from buying_groups.generation.review_items import ReviewFilter, ReviewItem, ReviewPage
from buying_groups.scores.engagement import FloatArray

R = TypeVar("R")

# --------------------------------------------------------------------------- named rows


class InterestRef(NamedTuple):
    """A solution interest's ids, as services key groups by them."""

    id: int
    name: str
    template_id: int
    template_name: str


class StoredGroup(NamedTuple):
    """A group as a job batch reads it (per account)."""

    group_id: int
    completeness: float
    role_completeness: Mapping[str, Any]
    is_deleted: bool


class RemovedMember(NamedTuple):
    """A member a job batch removes, as its member.removed event names it."""

    person_id: int
    role_id: int
    source: str


class RoleRef(NamedTuple):
    """A role of the catalogue."""

    id: int
    name: str


class PersonRef(NamedTuple):
    """A person as a membership change needs it."""

    id: int
    external_id: str
    account_id: int


@dataclass(frozen=True)
class GroupRecord:
    """A stored buying group: its ids and the domain entity (members included)."""

    id: int
    account_id: int
    interest: InterestRef
    entity: BuyingGroup


@dataclass(frozen=True)
class EventRecord:
    """One outbox event to append (its time is the recording's)."""

    type: EventType
    group_id: int | None
    account_external_id: str | None
    solution_interest: str | None
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReviewProposal:
    """A review item a job wants open for a person (role ids None: no role)."""

    person_id: int
    reason: str
    rule_role_id: int | None
    model_role_id: int | None
    model_confidence: float | None
    evidence: dict[str, Any]

    @property
    def values(self) -> tuple[Any, ...]:
        """What an open review must say to need no update."""
        return (
            self.reason,
            self.rule_role_id,
            self.model_role_id,
            self.model_confidence,
            self.evidence,
        )


@dataclass(frozen=True)
class JobRecord:
    """A generation job as stored, with its interest's and audience's names."""

    job_id: int
    solution_interest: str
    audience: str
    mode: str
    state: str
    total_accounts: int
    processed_accounts: int
    cursor_account_id: int
    groups_created: int
    groups_updated: int
    members_added: int
    members_removed: int
    members_changed: int
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    reviews_created: int = 0


@dataclass
class BatchCounts:
    """What one batch changed (added to the job's counts with its cursor)."""

    groups_created: int = 0
    groups_updated: int = 0
    members_added: int = 0
    members_removed: int = 0
    members_changed: int = 0
    reviews_created: int = 0


class GroupMembers(NamedTuple):
    """A group's members as recommendations read them: active person -> role, and the persons
    a manual, journey or import removal keeps out."""

    is_deleted: bool
    active: dict[int, str]
    excluded: set[int]


class CandidatePerson(NamedTuple):
    """A person of an account's company, as recommendations and comparisons show them."""

    record: PersonRecord
    external_id: str
    name: str
    account_external_id: str


class DuplicateJobKeyError(Exception):
    """Another caller stored a job with the same idempotency key first."""


# --------------------------------------------------------------------------- repositories


class JobRepository(Protocol):
    """Generation jobs: their state, cursor and counts."""

    def add(
        self, interest_id: int, audience_id: int, mode: str, idempotency_key: str | None
    ) -> int:
        """Store a queued job; DuplicateJobKeyError if the key is taken. Returns its id."""
        ...

    def get(self, job_id: int) -> JobRecord | None: ...

    def by_key(self, idempotency_key: str) -> JobRecord | None: ...

    def unfinished(self) -> list[int]:
        """Ids of queued or running jobs, oldest first."""
        ...

    def start(self, job_id: int) -> datetime:
        """Set the job running (error cleared); returns when it first started (UTC)."""
        ...

    def fail(self, job_id: int, error: str) -> None: ...

    def set_total(self, job_id: int, total_accounts: int) -> None: ...

    def cursor(self, job_id: int) -> int: ...

    def advance(self, job_id: int, cursor: int, accounts: int, counts: BatchCounts) -> None:
        """Move the cursor and add a batch's counts."""
        ...

    def succeed(self, job_id: int) -> None: ...


class ConfigurationReader(Protocol):
    """The configuration the services read: interests, templates, audiences, roles."""

    def get_solution_interest(self, name: str) -> SolutionInterest:
        """NotFoundError if unknown."""
        ...

    def get_template(self, name: str) -> RoleTemplate: ...

    def get_audience(self, name: str) -> AccountAudience:
        """NotFoundError if unknown."""
        ...

    def interest_ref(self, name: str) -> InterestRef:
        """NotFoundError if unknown."""
        ...

    def audience_id(self, name: str) -> int:
        """NotFoundError if unknown."""
        ...

    def role_ids(self) -> dict[str, int]:
        """Every role of the catalogue: name -> id."""
        ...

    def role(self, name: str) -> RoleRef | None:
        """A role by name, ignoring case."""
        ...

    def select_audience(self, audience: AccountAudience) -> dict[int, str]:
        """The audience's accounts now: id -> external id."""
        ...


class GenerationStore(Protocol):
    """A job's bulk reads and writes (plain values: a job touches a million rows)."""

    def person_engagement(self, as_of: datetime) -> FloatArray:
        """Engagement of every person at ``as_of``, indexed by person id (0 if none)."""
        ...

    def load_groups(self, interest_id: int, account_ids: Sequence[int]) -> dict[int, StoredGroup]:
        """account id -> its group of the interest."""
        ...

    def load_persons(
        self, account_ids: Sequence[int], attributes: Collection[str]
    ) -> Sequence[PersonFields]:
        """The persons of the accounts, laid out as PersonRecord (plain tuples may come: a job
        reads a million); text attributes not in ``attributes`` are None."""
        ...

    def load_members(self, group_ids: Sequence[int]) -> dict[int, list[StoredMember]]: ...

    def load_group_roles(self, group_ids: Sequence[int]) -> dict[int, set[GroupRoleValues]]: ...

    def insert_groups(
        self, interest_id: int, template_id: int, scores: Mapping[int, GroupScores]
    ) -> dict[int, int]:
        """Create a group per account; returns account id -> new group id."""
        ...

    def update_group_scores(self, changed: Mapping[int, GroupScores]) -> None: ...

    def write_group_roles(self, rows: Iterable[tuple[int, GroupRoleValues]]) -> None: ...

    def insert_members(self, rows: Iterable[tuple[int, MemberWrite]]) -> None: ...

    def update_members(self, writes: Iterable[MemberWrite]) -> None: ...

    def remove_members(self, member_ids: Iterable[int]) -> None: ...

    def removed_members(self, member_ids: Sequence[int]) -> dict[int, RemovedMember]: ...

    def person_external_ids(self, person_ids: Iterable[int]) -> dict[int, str]: ...

    def account_external_ids(self, account_ids: Iterable[int]) -> dict[int, str]: ...

    def insert_events(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append outbox rows whose payload is ready JSON text."""
        ...

    def refresh_group_engagement(self, interest_id: int, person: FloatArray) -> int:
        """Recompute the engagement of the interest's groups; returns how many changed."""
        ...

    def write_reviews(self, interest_id: int, proposals: Sequence[ReviewProposal]) -> int:
        """Open proposed reviews (never reopen a decided one); returns how many were created."""
        ...

    def withdraw_reviews(
        self, interest_id: int, account_ids: Sequence[int], proposed: Collection[int]
    ) -> int:
        """Delete these accounts' open reviews that are no longer proposed."""
        ...


class MembershipRepository(Protocol):
    """Groups as domain entities, for member changes one at a time."""

    def account_id(self, external_id: str) -> int:
        """NotFoundError if unknown."""
        ...

    def person(self, external_id: str) -> PersonRef | None: ...

    def company_root(self, account_id: int) -> int:
        """The top of an account's hierarchy."""
        ...

    def group(self, account_id: int, interest: InterestRef) -> GroupRecord | None: ...

    def add_group(self, account_id: int, interest: InterestRef) -> GroupRecord: ...

    def save_member(
        self, group: GroupRecord, person: PersonRef, role: RoleRef, member: Member
    ) -> None:
        """Insert or update the member row of ``person`` as ``member`` says."""
        ...

    def save_scores(self, group: GroupRecord, scores: GroupScores) -> None:
        """Store completeness and the group's role rows."""
        ...


class ReviewRepository(Protocol):
    """Review items for reviewers."""

    def list(self, where: ReviewFilter, limit: int, offset: int) -> ReviewPage: ...

    def get(self, review_id: int) -> ReviewItem | None: ...

    def interest_id(self, review_id: int) -> int | None: ...

    def claim(self, review_id: int, decided: Review, role_id: int | None) -> bool:
        """Store the decision unless one is stored already; False then."""
        ...


class CrmReader(Protocol):
    """Accounts, persons and activities as recommendations and comparisons read them."""

    def account_id(self, external_id: str) -> int | None: ...

    def company_accounts(self, account_id: int) -> list[int]:
        """The account first, then every other account of its company, ascending."""
        ...

    def persons(self, account_ids: Sequence[int]) -> list[CandidatePerson]:
        """The persons of the accounts, by external id."""
        ...

    def recent_activity(
        self, person_ids: Sequence[int], since: datetime, until: datetime
    ) -> dict[int, int]:
        """Activities per person with since < occurred_at <= until."""
        ...

    def group_members(self, solution_interest: str, account_id: int) -> GroupMembers | None:
        """The account's group of the interest, None if it has none."""
        ...

    def accounts_with_group(self, solution_interest: str) -> list[int]:
        """Accounts with a live group of the interest."""
        ...


class EventLog(Protocol):
    """The event outbox."""

    def record(self, events: Sequence[EventRecord]) -> None: ...


class UnitOfWork(Protocol):
    """One transaction over every repository (see the module's docstring)."""

    @property
    def jobs(self) -> JobRepository: ...

    @property
    def configuration(self) -> ConfigurationReader: ...

    @property
    def generation(self) -> GenerationStore: ...

    @property
    def memberships(self) -> MembershipRepository: ...

    @property
    def reviews(self) -> ReviewRepository: ...

    @property
    def crm(self) -> CrmReader: ...

    @property
    def events(self) -> EventLog: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def lock_interest_groups(self, interest_id: int) -> None:
        """Hold the interest's group lock until the transaction ends (writers take turns)."""
        ...

    def retrying(self, transaction: Callable[[], R]) -> Callable[[], R]:
        """``transaction`` (one whole ``with uow:``), run again when it loses a write race."""
        ...
