"""Predict persona and buying-group role for job titles: title model, role model, rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from buying_groups.domain.conditions import (
    CompiledCondition,
    PersonFacts,
    compile_condition,
    uses_patterns,
)
from buying_groups.domain.role_templates import RoleCard
from buying_groups.ml.title_classifier import TitleClassifier

#: The role model's label for "this person plays no role in the group".
NO_ROLE = "No role"


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
    """A template's cards as a title-only rule: the first card whose conditions hold."""

    def __init__(self, cards: Sequence[RoleCard]) -> None:
        self._cards = [
            (c.role, position, compile_condition(c.conditions))
            for position, c in enumerate(cards)
            if c.conditions is not None
        ]
        #: Whether a card runs a user regex: callers keep such matching off an event loop.
        self.uses_patterns = any(
            uses_patterns(c.conditions) for c in cards if c.conditions is not None
        )

    def role(self, facts: PersonFacts) -> RolePrediction:
        """The first matching card's role, or no role."""
        for role, position, condition in self._cards:
            found = _evaluate(condition, facts)
            if found is not None:
                return RolePrediction(role, None, "rule", {"card": position, "fired": found})
        return RolePrediction(None, None, "rule", {"card": None})


def _evaluate(condition: CompiledCondition, facts: PersonFacts) -> str | None:
    result = condition.evaluate(facts)
    return None if result is None else result.summary


def predict_roles(
    titles: Sequence[str],
    *,
    title_model: TitleClassifier | None,
    role_model: TitleClassifier | None = None,
    rules: RuleRoles | None = None,
    neighbours: int = 3,
) -> list[TitlePrediction]:
    """Persona from the title model; role from the role model when there is one, else rules.

    Rules see the title and the inferred function, seniority and persona, so a card may test
    what the model inferred.
    """
    targets, nearest = _targets(title_model, titles, neighbours)
    roles = _model_roles(role_model, titles) if role_model is not None else None
    results = []
    for index, title in enumerate(titles):
        predicted = targets[index] if targets else {}
        persona = _persona(predicted)
        if roles is not None:
            role = roles[index]
        elif rules is not None:
            role = rules.role(_facts(title, predicted, persona))
        else:
            role = None
        results.append(
            TitlePrediction(title, predicted, persona, role, nearest[index] if nearest else [])
        )
    return results


def _targets(
    model: TitleClassifier | None, titles: Sequence[str], neighbours: int
) -> tuple[list[dict[str, LabelPrediction]], list[list[dict[str, Any]]]]:
    if model is None or not titles:
        return [], []
    predictions, nearest = model.predict_explained(list(titles), neighbours)
    targets = [
        {
            t: LabelPrediction(None if label is None else str(label), p)
            for t, (label, p) in row.items()
        }
        for row in predictions
    ]
    return targets, nearest


def _model_roles(model: TitleClassifier, titles: Sequence[str]) -> list[RolePrediction]:
    target = model.targets_[0]
    probabilities = model.predict_proba(list(titles))[target]
    results = []
    for _, row in probabilities.iterrows():
        label = str(row.idxmax())
        confidence = float(row.max())
        top = row.sort_values(ascending=False).head(3)
        evidence = {"probabilities": {str(k): round(float(v), 4) for k, v in top.items()}}
        chosen = None if label == NO_ROLE or confidence < model.abstain_threshold else label
        results.append(RolePrediction(chosen, confidence, "model", evidence))
    return results


def _persona(targets: dict[str, LabelPrediction]) -> str | None:
    function, seniority = targets.get("function"), targets.get("seniority")
    if function is None or seniority is None or not (function.label and seniority.label):
        return None
    return f"{function.label} / {seniority.label}"


def _facts(title: str, targets: dict[str, LabelPrediction], persona: str | None) -> PersonFacts:
    function, seniority = targets.get("function"), targets.get("seniority")
    return PersonFacts(
        job_title=title,
        function=function.label if function else None,
        seniority=seniority.label if seniority else None,
        persona=persona,
    )
