"""Review items: where rules and the role model disagree, or the model is unsure.

A decision changes the person's group as a manual change (no job undoes it) and becomes a
training label of the interest's role model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Security
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from buying_groups.domain.errors import InvariantError
from buying_groups.domain.reviews import ReviewDecision, ReviewReason
from buying_groups.generation.reviews import ReviewFilter, ReviewItem, ReviewService, ReviewState
from buying_groups.storage.api_key_repository import ApiKeyRepository
from serving.dependencies import LimitDep, OffsetDep, SessionDep, UnitOfWorkDep
from serving.problems import PROBLEM_RESPONSES
from serving.security import api_key_header, bearer

router = APIRouter(prefix="/v1/reviews", tags=["reviews"], responses=PROBLEM_RESPONSES)
ReviewId = Annotated[int, Path(ge=1, le=2**31 - 1)]

_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "solution_interest": "Secure Edge",
    "person_external_id": "PER-0000042",
    "person_name": "Ana Lima",
    "job_title": "Chief Happiness Officer",
    "account_external_id": "ACC-000017",
    "account_name": "Nordlicht Logistik GmbH",
    "reason": "disagreement",
    "rule_role": "Decision Maker",
    "rule_evidence": {
        "card": 0,
        "role": "Decision Maker",
        "condition": 'job_title contains "chief"',
    },
    "model_role": "No role",
    "model_confidence": 0.77,
    "model_evidence": {
        "model_version": "3",
        "probabilities": {"No role": 0.77, "Decision Maker": 0.205},
        "nearest_titles": [
            {"title": "Chief Happiness Officer", "similarity": 1.0, "role": "No role"}
        ],
    },
    "decision": None,
    "decided_role": None,
    "decided_by": None,
    "decided_at": None,
    "created_at": "2026-11-27T10:00:00Z",
}


class ReviewPublic(BaseModel):
    """A review item: who, what the rule and the model propose, and the decision if any.

    `model_role` is "No role" when the model says the person plays no role.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

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

    @classmethod
    def of(cls, item: ReviewItem) -> ReviewPublic:
        """Convert the service's item."""
        return cls.model_validate(item, from_attributes=True)


class ReviewsPublic(BaseModel):
    """A page of review items, newest first."""

    items: list[ReviewPublic]
    total: int = Field(examples=[12])
    limit: int = Field(examples=[50])
    offset: int = Field(examples=[0])


class ReviewDecisionCreate(BaseModel):
    """A reviewer's decision; `role` only with `other_role`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"decision": "accept_rule"},
                {"decision": "other_role", "role": "Influencer", "reviewer": "ana@example.com"},
            ]
        },
    )

    decision: ReviewDecision
    role: str | None = Field(default=None, min_length=1, max_length=80)
    reviewer: str | None = Field(
        default=None,
        min_length=1,
        max_length=120,
        description="Who decides; defaults to the API key's name.",
    )


def key_name(
    session: SessionDep,
    header_key: Annotated[str | None, Security(api_key_header)] = None,
    bearer_key: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> str | None:
    """The caller's API key name (the default reviewer)."""
    plaintext = header_key or (bearer_key.credentials if bearer_key else None)
    return ApiKeyRepository(session).name_of(plaintext) if plaintext else None


KeyNameDep = Annotated[str | None, Security(key_name)]


@router.get("", response_model=ReviewsPublic, summary="List review items")
def list_reviews(
    uow: UnitOfWorkDep,
    solution_interest: str | None = None,
    reason: ReviewReason | None = None,
    state: ReviewState | None = None,
    account_external_id: str | None = None,
    limit: LimitDep = 50,
    offset: OffsetDep = 0,
) -> ReviewsPublic:
    """Filter by solution interest, reason, state (open or decided) and account."""
    where = ReviewFilter(solution_interest, reason, state, account_external_id)
    page = ReviewService(uow).list(where, limit=limit, offset=offset)
    items = [ReviewPublic.of(i) for i in page.items]
    return ReviewsPublic(items=items, total=page.total, limit=limit, offset=offset)


@router.get("/{review_id}", response_model=ReviewPublic, summary="Read a review item")
def get_review(review_id: ReviewId, uow: UnitOfWorkDep) -> ReviewPublic:
    """The person, the rule's and the model's proposals with their evidence, the decision."""
    return ReviewPublic.of(ReviewService(uow).get(review_id))


@router.post("/{review_id}/decision", response_model=ReviewPublic, summary="Decide a review item")
def decide_review(
    review_id: ReviewId, body: ReviewDecisionCreate, uow: UnitOfWorkDep, key: KeyNameDep
) -> ReviewPublic:
    """Apply the decision to the group as a manual change; a decided review answers 409.

    accept_rule and accept_model assign the proposed role, other_role the given one;
    not_a_member removes the person (or records that they must never be added).
    """
    reviewer = body.reviewer or key
    if not reviewer:
        raise InvariantError("say who decides (reviewer)", field="reviewer")
    item = ReviewService(uow).decide(review_id, body.decision, reviewer, body.role)
    return ReviewPublic.of(item)
