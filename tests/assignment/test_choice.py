"""The choice between rules and the model: a firing rule wins, the model fills in when
confident, disagreements and unsure answers become reviews."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from buying_groups.assignment import NOTHING, Mode, ModelAnswer, Outcome, Thresholds, decide
from buying_groups.domain.reviews import ReviewReason

THRESHOLDS = Thresholds(accept=0.6, review=0.35)
ROLES = frozenset({"Decision Maker", "Practitioner"})


@dataclass(frozen=True)
class Fired:
    role: str


def answer(label: str, confidence: float) -> ModelAnswer:
    return ModelAnswer(label, confidence, {label: confidence})


@pytest.mark.parametrize(
    ("mode", "rule", "model", "expected"),
    [
        # Rules mode never reads the model.
        (
            Mode.RULES,
            Fired("Practitioner"),
            answer("Decision Maker", 0.99),
            Outcome("rule", "Practitioner"),
        ),
        (Mode.RULES, None, answer("Decision Maker", 0.99), NOTHING),
        # Model mode never reads the rules.
        (
            Mode.MODEL,
            Fired("Practitioner"),
            answer("Decision Maker", 0.9),
            Outcome("model", "Decision Maker"),
        ),
        (
            Mode.MODEL,
            None,
            answer("Decision Maker", 0.5),
            Outcome(None, "Decision Maker", ReviewReason.LOW_CONFIDENCE),
        ),
        (Mode.MODEL, None, answer("Decision Maker", 0.2), NOTHING),
        (Mode.MODEL, None, answer("No role", 0.99), NOTHING),
        (Mode.MODEL, None, answer("Champion", 0.99), NOTHING),  # not a role of the template
        # Hybrid: the rule wins; a confident other answer is a disagreement.
        (
            Mode.HYBRID,
            Fired("Practitioner"),
            answer("Practitioner", 0.9),
            Outcome("rule", "Practitioner"),
        ),
        (
            Mode.HYBRID,
            Fired("Practitioner"),
            answer("No role", 0.9),
            Outcome("rule", "Practitioner", ReviewReason.DISAGREEMENT),
        ),
        (
            Mode.HYBRID,
            Fired("Practitioner"),
            answer("Decision Maker", 0.5),
            Outcome("rule", "Practitioner"),
        ),
        (Mode.HYBRID, None, answer("Decision Maker", 0.9), Outcome("model", "Decision Maker")),
        (Mode.HYBRID, None, None, NOTHING),
    ],
)
def test_the_documented_precedence(
    mode: Mode, rule: Fired | None, model: ModelAnswer | None, expected: Outcome
) -> None:
    assert decide(mode, rule, model, THRESHOLDS, ROLES) == expected


def test_the_accept_threshold_is_inclusive() -> None:
    assert THRESHOLDS.confident(answer("Practitioner", 0.6))
    assert not THRESHOLDS.confident(answer("Practitioner", 0.5999))
    assert not THRESHOLDS.confident(None)
