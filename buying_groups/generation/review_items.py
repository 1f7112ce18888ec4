"""Review items as reviewers see them, and how to ask for a page of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from buying_groups.domain.reviews import ReviewDecision, ReviewReason


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
