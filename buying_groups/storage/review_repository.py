"""Review items in the ``reviews`` table, with the names reviewers read (``ReviewRepository``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeAlias

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session, aliased

from buying_groups.assignment import NO_ROLE
from buying_groups.domain.reviews import Review, ReviewDecision, ReviewReason
from buying_groups.generation.review_items import ReviewFilter, ReviewItem, ReviewPage, ReviewState
from buying_groups.storage.tables import (
    AccountRow,
    PersonRow,
    ReviewRow,
    RoleRow,
    SolutionInterestRow,
)

_RULE, _MODEL, _DECIDED = aliased(RoleRow), aliased(RoleRow), aliased(RoleRow)
AnySelect: TypeAlias = Select[*tuple[Any, ...]]


class SqlReviewRepository:
    """Reviews read with their person, account, interest and role names, in one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def list(self, where: ReviewFilter, limit: int, offset: int) -> ReviewPage:
        """Reviews matching ``where``, newest first, and how many match."""
        query = _filtered(_query(), where)
        count = _filtered(_joined(select(func.count(ReviewRow.id))), where)
        rows = self.session.execute(query.order_by(ReviewRow.id.desc()).limit(limit).offset(offset))
        return ReviewPage([_item(*row) for row in rows], self.session.scalar(count) or 0)

    def get(self, review_id: int) -> ReviewItem | None:
        """One review, or None."""
        # populate_existing: claim() updates the row without the ORM.
        query = _query().where(ReviewRow.id == review_id).execution_options(populate_existing=True)
        row = self.session.execute(query).one_or_none()
        return _item(*row) if row else None

    def interest_id(self, review_id: int) -> int | None:
        """The solution interest of a review."""
        return self.session.scalar(
            select(ReviewRow.solution_interest_id).where(ReviewRow.id == review_id)
        )

    def claim(self, review_id: int, decided: Review, role_id: int | None) -> bool:
        """Store the decision only if nobody decided in between; False if somebody did."""
        assert decided.decision is not None
        result = self.session.execute(
            update(ReviewRow)
            .where(ReviewRow.id == review_id, ReviewRow.decision.is_(None))
            .values(
                decision=decided.decision.value,
                decided_role_id=role_id,
                decided_by=decided.decided_by,
                decided_at=decided.decided_at or datetime.now(UTC),
                updated_at=datetime.now(UTC),
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


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
