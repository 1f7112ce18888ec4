"""Review items: where rules and model disagree, or the model is unsure."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from buying_groups.domain.errors import ConflictError, InvariantError


class ReviewReason(StrEnum):
    """Why a person was put in front of a reviewer."""

    DISAGREEMENT = "disagreement"
    LOW_CONFIDENCE = "low_confidence"


class ReviewDecision(StrEnum):
    """What a reviewer decided."""

    ACCEPT_RULE = "accept_rule"
    ACCEPT_MODEL = "accept_model"
    OTHER_ROLE = "other_role"
    NOT_A_MEMBER = "not_a_member"


class Review(BaseModel):
    """A (person, solution interest) awaiting or carrying a reviewer's decision."""

    model_config = ConfigDict(frozen=True)

    person_external_id: str
    solution_interest: str
    reason: ReviewReason
    rule_role: str | None = None
    model_role: str | None = None
    model_confidence: float | None = Field(default=None, ge=0, le=1)
    decision: ReviewDecision | None = None
    decided_role: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None

    def decide(self, decision: ReviewDecision, reviewer: str, role: str | None = None) -> Review:
        """Record a decision; returns the decided review (the label for training)."""
        if self.decision is not None:
            raise ConflictError("this review has already been decided")
        decided_role = self._role_for(decision, role)
        return self.model_copy(
            update={
                "decision": decision,
                "decided_role": decided_role,
                "decided_by": reviewer,
                "decided_at": datetime.now(UTC),
            }
        )

    def _role_for(self, decision: ReviewDecision, role: str | None) -> str | None:
        if decision is ReviewDecision.OTHER_ROLE:
            if not role:
                raise InvariantError("another role needs the role's name", field="role")
            return role
        if role is not None:
            raise InvariantError(f"{decision.value} takes no role", field="role")
        chosen = {
            ReviewDecision.ACCEPT_RULE: self.rule_role,
            ReviewDecision.ACCEPT_MODEL: self.model_role,
            ReviewDecision.NOT_A_MEMBER: None,
        }[decision]
        if decision is not ReviewDecision.NOT_A_MEMBER and chosen is None:
            raise InvariantError(f"{decision.value}: there is no such proposal", field="decision")
        return chosen
