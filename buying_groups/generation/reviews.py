"""Review items: list them for reviewers and apply a reviewer's decision to the group.

A decision is a manual change (member precedence: no job undoes it) and the label of the
person's title for the next training run of the interest's role model
(``training/role_data.py`` reads ``decision`` and ``decided_role_id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeAlias

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session, aliased

from buying_groups.domain.errors import ConflictError, InvariantError, NotFoundError
from buying_groups.domain.groups import MemberSource
from buying_groups.domain.reviews import Review, ReviewDecision, ReviewReason
from buying_groups.generation.membership import MembershipService
from buying_groups.ml.role_predictions import NO_ROLE
from buying_groups.storage.group_locks import lock_interest_groups
from buying_groups.storage.tables import (
    AccountRow,
    PersonRow,
    ReviewRow,
    RoleRow,
    SolutionInterestRow,
)


class ReviewState(StrEnum):
    """Whether a reviewer has decided yet."""

    OPEN = "open"
    DECIDED = "decided"


@dataclass(frozen=True)
class ReviewItem:
    """A review as a reviewer sees it: who, the rule's and the model's proposals, the decision.

    ``model_role`` is "No role" when the model says the person plays no role.
    """

    id: int
    solution_interest: str
    person_external_id: str
    person_name: str
    job_title: str | None
    account_external_id: str
    account_name: str
    reason: ReviewReason
    rule_role: str | None
    rule_evidence: dict[str, Any] | None
    model_role: str | None
    model_confidence: float | None
    model_evidence: dict[str, Any] | None
    decision: ReviewDecision | None
    decided_role: str | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class ReviewPage:
    """One page of reviews and how many match in all."""

    items: list[ReviewItem]
    total: int


@dataclass(frozen=True)
class ReviewFilter:
    """Which reviews to list (None: any)."""

    solution_interest: str | None = None
    reason: ReviewReason | None = None
    state: ReviewState | None = None
    account_external_id: str | None = None


_RULE, _MODEL, _DECIDED = aliased(RoleRow), aliased(RoleRow), aliased(RoleRow)
AnySelect: TypeAlias = Select[*tuple[Any, ...]]


class ReviewService:
    """List, read and decide review items, in the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def list(self, where: ReviewFilter, *, limit: int = 50, offset: int = 0) -> ReviewPage:
        """Reviews matching ``where``, newest first."""
        query = _filtered(_query(), where)
        count = _filtered(_joined(select(func.count(ReviewRow.id))), where)
        rows = self.session.execute(query.order_by(ReviewRow.id.desc()).limit(limit).offset(offset))
        return ReviewPage([_item(*row) for row in rows], self.session.scalar(count) or 0)

    def get(self, review_id: int) -> ReviewItem:
        """One review, or NotFoundError."""
        row = self.session.execute(_query().where(ReviewRow.id == review_id)).one_or_none()
        if row is None:
            raise NotFoundError(f"review {review_id} does not exist")
        return _item(*row)

    def decide(
        self, review_id: int, decision: ReviewDecision, reviewer: str, role: str | None = None
    ) -> ReviewItem:
        """Apply a decision to the person's group (as a manual change) and store it.

        Raises:
            NotFoundError: no such review.
            ConflictError: the review is already decided.
            InvariantError: a role is missing, unknown, or given where none is taken.
        """
        item = self.get(review_id)
        if item.decision is not None:
            raise ConflictError(f"review {review_id} was already decided ({item.decision.value})")
        decided = _as_domain(item).decide(decision, reviewer, role)
        role_row = self._role(decided.decided_role)
        # Before the review row: a job batch holding the lock may withdraw open reviews.
        self._lock_groups(review_id)
        self._claim(review_id, decided, role_row)
        self._apply(item, decided, role_row, review_id)
        return self.get(review_id)

    def _role(self, name: str | None) -> RoleRow | None:
        """The decided role's row; None for "not a member" (or the model's "No role")."""
        if name is None or name == NO_ROLE:
            return None
        row = self.session.scalar(select(RoleRow).where(func.lower(RoleRow.name) == name.lower()))
        if row is None:
            raise InvariantError(f"role {name!r} does not exist", field="role")
        return row

    def _lock_groups(self, review_id: int) -> None:
        """Take the group lock of the review's interest, as the membership change will."""
        interest_id = self.session.scalar(
            select(ReviewRow.solution_interest_id).where(ReviewRow.id == review_id)
        )
        assert interest_id is not None  # self.get found the review
        lock_interest_groups(self.session.connection(), interest_id)

    def _claim(self, review_id: int, decided: Review, role: RoleRow | None) -> None:
        """Store the decision only if nobody decided in between (two reviewers, one wins)."""
        assert decided.decision is not None
        result = self.session.execute(
            update(ReviewRow)
            .where(ReviewRow.id == review_id, ReviewRow.decision.is_(None))
            .values(
                decision=decided.decision.value,
                decided_role_id=role.id if role else None,
                decided_by=decided.decided_by,
                decided_at=decided.decided_at or datetime.now(UTC),
                updated_at=datetime.now(UTC),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConflictError(f"review {review_id} was already decided")

    def _apply(
        self, item: ReviewItem, decided: Review, role: RoleRow | None, review_id: int
    ) -> None:
        """Assign the decided role, or record "not a member", as a manual change."""
        membership = MembershipService(self.session)
        target = (item.account_external_id, item.solution_interest, item.person_external_id)
        if role is not None:
            evidence = {
                "by": "review",
                "review_id": review_id,
                "decision": decided.decision.value if decided.decision else None,
                "reviewer": decided.decided_by,
            }
            membership.assign(*target, role.name, MemberSource.MANUAL, evidence)
            return
        proposed = item.rule_role or item.model_role
        assert proposed is not None and proposed != NO_ROLE  # a review always proposes a role
        membership.exclude(*target, proposed, MemberSource.MANUAL)


def _joined(query: AnySelect) -> AnySelect:
    return (
        query.join(PersonRow, PersonRow.id == ReviewRow.person_id)
        .join(AccountRow, AccountRow.id == PersonRow.account_id)
        .join(SolutionInterestRow, SolutionInterestRow.id == ReviewRow.solution_interest_id)
        .outerjoin(_RULE, _RULE.id == ReviewRow.rule_role_id)
        .outerjoin(_MODEL, _MODEL.id == ReviewRow.model_role_id)
        .outerjoin(_DECIDED, _DECIDED.id == ReviewRow.decided_role_id)
    )


def _query() -> AnySelect:
    return _joined(
        select(
            ReviewRow,
            PersonRow,
            AccountRow.external_id,
            AccountRow.name,
            SolutionInterestRow.name,
            _RULE.name,
            _MODEL.name,
            _DECIDED.name,
        )
    )


def _filtered(query: AnySelect, where: ReviewFilter) -> AnySelect:
    if where.solution_interest is not None:
        query = query.where(SolutionInterestRow.name == where.solution_interest)
    if where.reason is not None:
        query = query.where(ReviewRow.reason == where.reason.value)
    if where.state is ReviewState.OPEN:
        query = query.where(ReviewRow.decision.is_(None))
    elif where.state is ReviewState.DECIDED:
        query = query.where(ReviewRow.decision.is_not(None))
    if where.account_external_id is not None:
        query = query.where(AccountRow.external_id == where.account_external_id)
    return query


def _item(
    review: ReviewRow,
    person: PersonRow,
    account_external_id: str,
    account_name: str,
    interest: str,
    rule_role: str | None,
    model_role: str | None,
    decided_role: str | None,
) -> ReviewItem:
    evidence = review.evidence or {}
    # A model answer without a role id is the model's "No role".
    if model_role is None and review.model_confidence is not None:
        model_role = NO_ROLE
    name = " ".join(n for n in (person.first_name, person.last_name) if n)
    return ReviewItem(
        id=review.id,
        solution_interest=interest,
        person_external_id=person.external_id,
        person_name=name,
        job_title=person.job_title,
        account_external_id=account_external_id,
        account_name=account_name,
        reason=ReviewReason(review.reason),
        rule_role=rule_role,
        rule_evidence=evidence.get("rule"),
        model_role=model_role,
        model_confidence=review.model_confidence,
        model_evidence=evidence.get("model"),
        decision=ReviewDecision(review.decision) if review.decision else None,
        decided_role=decided_role,
        decided_by=review.decided_by,
        decided_at=review.decided_at,
        created_at=review.created_at,
    )


def _as_domain(item: ReviewItem) -> Review:
    return Review(
        person_external_id=item.person_external_id,
        solution_interest=item.solution_interest,
        reason=item.reason,
        rule_role=item.rule_role,
        model_role=item.model_role,
        model_confidence=item.model_confidence,
    )
