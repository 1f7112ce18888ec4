"""Review items: list them for reviewers and apply a reviewer's decision to the group.

A decision is a manual change (member precedence: no job undoes it) and the label of the
person's title for the next training run of the interest's role model
(``training/role_data.py`` reads ``decision`` and ``decided_role_id``).
"""

from __future__ import annotations

from buying_groups.assignment import NO_ROLE
from buying_groups.domain.errors import ConflictError, InvariantError, NotFoundError
from buying_groups.domain.groups import MemberSource
from buying_groups.domain.reviews import Review, ReviewDecision
from buying_groups.generation.membership import MembershipService
from buying_groups.generation.ports import RoleRef, UnitOfWork
from buying_groups.generation.review_items import ReviewFilter, ReviewItem, ReviewPage, ReviewState

__all__ = ["ReviewFilter", "ReviewItem", "ReviewPage", "ReviewService", "ReviewState"]


class ReviewService:
    """List, read and decide review items, each call one transaction of ``uow``."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def list(self, where: ReviewFilter, *, limit: int = 50, offset: int = 0) -> ReviewPage:
        """Reviews matching ``where``, newest first."""
        with self.uow:
            return self.uow.reviews.list(where, limit, offset)

    def get(self, review_id: int) -> ReviewItem:
        """One review, or NotFoundError."""
        with self.uow:
            item = self.uow.reviews.get(review_id)
        if item is None:
            raise NotFoundError(f"review {review_id} does not exist")
        return item

    def decide(
        self, review_id: int, decision: ReviewDecision, reviewer: str, role: str | None = None
    ) -> ReviewItem:
        """Apply a decision to the person's group (as a manual change) and store it.

        Raises:
            NotFoundError: no such review.
            ConflictError: the review is already decided.
            InvariantError: a role is missing, unknown, or given where none is taken.
        """
        with self.uow:
            item = self.get(review_id)
            if item.decision is not None:
                raise ConflictError(
                    f"review {review_id} was already decided ({item.decision.value})"
                )
            decided = _as_domain(item).decide(decision, reviewer, role)
            role_ref = self._role(decided.decided_role)
            # Before the review row: a job batch holding the lock may withdraw open reviews.
            interest_id = self.uow.reviews.interest_id(review_id)
            assert interest_id is not None  # self.get found the review
            self.uow.lock_interest_groups(interest_id)
            if not self.uow.reviews.claim(review_id, decided, role_ref.id if role_ref else None):
                # Two reviewers, one wins.
                raise ConflictError(f"review {review_id} was already decided")
            self._apply(item, decided, role_ref, review_id)
            return self.get(review_id)

    def _role(self, name: str | None) -> RoleRef | None:
        """The decided role; None for "not a member" (or the model's "No role")."""
        if name is None or name == NO_ROLE:
            return None
        found = self.uow.configuration.role(name)
        if found is None:
            raise InvariantError(f"role {name!r} does not exist", field="role")
        return found

    def _apply(
        self, item: ReviewItem, decided: Review, role: RoleRef | None, review_id: int
    ) -> None:
        """Assign the decided role, or record "not a member", as a manual change."""
        membership = MembershipService(self.uow)
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


def _as_domain(item: ReviewItem) -> Review:
    return Review(
        person_external_id=item.person_external_id,
        solution_interest=item.solution_interest,
        reason=item.reason,
        rule_role=item.rule_role,
        model_role=item.model_role,
        model_confidence=item.model_confidence,
    )
