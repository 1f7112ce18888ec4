"""Predict persona and buying-group role for job titles (the prediction route's shape).

Every decision is the assignment core's: the facts a card sees (the title and what the
title model infers from it), the first matching card, the role model's answer and the
choice between them (a firing rule wins; the model fills in when confident).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from buying_groups.assignment import (
    NO_ROLE,
    CardMatch,
    Mode,
    ModelAnswer,
    PersonRecord,
    RuleMatcher,
    Thresholds,
    TitleInsights,
    decide,
)
from buying_groups.assignment.choice import Outcome
from buying_groups.domain.groups import MemberSource
from buying_groups.domain.role_templates import RoleCard
from buying_groups.ml.title_classifier import TitleClassifier

__all__ = [
    "NO_ROLE",
    "KnownPerson",
    "LabelPrediction",
    "RolePrediction",
    "RuleRoles",
    "TitlePrediction",
]
#: Without an interest's thresholds, any answer of the role model counts.
ANY_ANSWER: Final = Thresholds(accept=0.0, review=0.0)


@dataclass(frozen=True)
class LabelPrediction:
    """One target's answer: the label (None when the model abstains) and its probability."""

    label: str | None
    confidence: float


@dataclass(frozen=True)
class RolePrediction:
    """A role with where it came from: the role model or the template's rules."""

    label: str | None
    confidence: float | None
    source: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class TitlePrediction:
    """Everything predicted for one title."""

    title: str
    targets: dict[str, LabelPrediction] = field(default_factory=dict)
    persona: str | None = None
    role: RolePrediction | None = None
    nearest_titles: list[dict[str, Any]] = field(default_factory=list)


class RuleRoles:
    """A live template's cards, compiled once, for title-only predictions."""

    def __init__(self, cards: Sequence[RoleCard]) -> None:
        self.matcher = RuleMatcher(cards)
        self.roles = frozenset(card.role for card in cards)
        #: Whether a card runs a user regex: callers keep such matching off an event loop.
        self.uses_patterns = self.matcher.uses_patterns


@dataclass(frozen=True)
class KnownPerson:
    """What a caller knows of a person beyond the title (all optional)."""

    department: str | None = None
    country: str | None = None
    email: str | None = None
    engagement_score: float | None = None


NOBODY_KNOWN: Final = KnownPerson()


def predict_roles(
    titles: Sequence[str],
    *,
    title_model: TitleClassifier | None,
    role_model: TitleClassifier | None = None,
    rules: RuleRoles | None = None,
    thresholds: Thresholds = ANY_ANSWER,
    neighbours: int = 3,
    persons: Sequence[KnownPerson] | None = None,
) -> list[TitlePrediction]:
    """Persona from the title model; role from the template's rules and the role model.

    Rules see the title, what the title model infers (function, seniority, persona), the
    role model's probabilities and, per title, what ``persons`` tells of the person
    (department, country, e-mail, engagement), as in a generation job; a firing rule wins,
    else the role model's answer at or above ``thresholds.accept`` (the interest's).
    """
    known = list(persons) if persons is not None else [NOBODY_KNOWN] * len(titles)
    if len(known) != len(titles):
        raise ValueError("persons must match titles one to one")
    insights = TitleInsights(title_model, role_model)
    insights.predict(titles)
    nearest: list[list[dict[str, Any]]] = [[] for _ in titles]
    if title_model is not None and titles:
        nearest = title_model.nearest_titles(list(titles), neighbours)
    matcher = rules.matcher.bound_to(insights) if rules is not None else None
    results = []
    for title, neighbours_of, person in zip(titles, nearest, known, strict=True):
        targets = {
            target: LabelPrediction(answer.label, answer.confidence)
            for target, answer in insights.labels(title).items()
        }
        role = _role((title, person), insights, matcher, rules, thresholds)
        results.append(
            TitlePrediction(title, targets, insights.insight(title).persona, role, neighbours_of)
        )
    return results


def _role(
    person: tuple[str, KnownPerson],
    insights: TitleInsights,
    matcher: RuleMatcher | None,
    rules: RuleRoles | None,
    thresholds: Thresholds,
) -> RolePrediction | None:
    """The core's decision for a person known by a title (and what else the caller knows)."""
    if matcher is None and insights.role_model is None:
        return None
    title, known = person
    record = PersonRecord(0, 0, title, known.department, known.country, known.email)
    rule = matcher.match(record, known.engagement_score) if matcher else None
    answer = insights.answer(title)
    mode = Mode.HYBRID if matcher is not None and answer is not None else Mode.RULES
    if matcher is None:
        mode = Mode.MODEL
    assignable = rules.roles if rules is not None else frozenset([answer.label] if answer else [])
    outcome = decide(mode, rule, answer, thresholds, assignable)
    return _prediction(outcome, rule, answer)


def _prediction(
    outcome: Outcome, rule: CardMatch | None, answer: ModelAnswer | None
) -> RolePrediction:
    if outcome.assign == MemberSource.RULE and rule is not None:
        fired = {"card": rule.position, "fired": rule.evidence["condition"]}
        return RolePrediction(rule.role, None, "rule", fired)
    if answer is None:
        return RolePrediction(None, None, "rule", {"card": None})
    evidence: dict[str, Any] = {"probabilities": dict(answer.probabilities)}
    if outcome.review is not None:
        evidence["review"] = outcome.review.value
    label = answer.label if outcome.assign == MemberSource.MODEL else None
    return RolePrediction(label, answer.confidence, "model", evidence)
