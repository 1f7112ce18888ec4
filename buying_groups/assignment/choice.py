"""Rules, model or both: which source assigns a person, and what a reviewer should see.

The documented precedence, in every mode that has both:

- a firing rule wins;
- without a rule, the model fills in: a role (not "No role") at or above the interest's
  accept threshold assigns; between the review and accept thresholds, a low-confidence
  review item;
- a confident model answer that says something else than a firing rule (another role, or
  "No role") becomes a disagreement review item; the rule's member stays.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

from buying_groups.assignment.insights import NO_ROLE, ModelAnswer, Thresholds
from buying_groups.domain.groups import MemberSource
from buying_groups.domain.reviews import ReviewReason


class Mode(StrEnum):
    """How roles are assigned: by the template's rules, the role model, or both."""

    RULES = "rules"
    MODEL = "model"
    HYBRID = "hybrid"


class FiredRule(Protocol):
    """What the choice needs of a rule match: the role its card assigns."""

    @property
    def role(self) -> str:
        """The card's role."""
        ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one person gets: the source that assigns them (None: nobody), the role, and
    why a reviewer should look (None: no review)."""

    assign: str | None
    role: str | None = None
    review: ReviewReason | None = None


NOTHING: Final = Outcome(None)


def decide(
    mode: Mode,
    rule: FiredRule | None,
    answer: ModelAnswer | None,
    thresholds: Thresholds,
    assignable: Container[str],
) -> Outcome:
    """Who assigns a person, with which role, and whether a reviewer should look.

    Args:
        mode: rules (the model is ignored), model (the rule is ignored) or hybrid.
        rule: the first card that fired for the person, None if none did.
        answer: the role model's answer for the person's title, None without one.
        thresholds: the interest's accept and review thresholds.
        assignable: the template's role names (a model role outside it assigns nobody).
    """
    if mode is Mode.RULES:
        return Outcome(MemberSource.RULE.value, rule.role) if rule is not None else NOTHING
    if mode is Mode.HYBRID and rule is not None:
        if thresholds.confident(answer) and answer is not None and answer.label != rule.role:
            return Outcome(MemberSource.RULE.value, rule.role, ReviewReason.DISAGREEMENT)
        return Outcome(MemberSource.RULE.value, rule.role)
    if answer is None or answer.label == NO_ROLE or answer.label not in assignable:
        return NOTHING
    if thresholds.confident(answer):
        return Outcome(MemberSource.MODEL.value, answer.label)
    if answer.confidence >= thresholds.review:
        return Outcome(None, answer.label, ReviewReason.LOW_CONFIDENCE)
    return NOTHING
