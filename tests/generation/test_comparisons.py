"""Rules versus model: agreement rate, confusion table, disagreements."""

from __future__ import annotations

from collections import Counter

import pytest
from role_model_factory import role_model
from sqlalchemy import Engine

from buying_groups.generation.comparisons import (
    Comparison,
    RoleModelMissingError,
    _summarise,
    cohen_kappa,
    compare_assignments,
)
from buying_groups.storage.database import make_session_factory
from buying_groups.storage.unit_of_work import SqlUnitOfWork
from buying_groups_demo.seed import seed_demo


def test_comparison_counts_agreements_and_lists_disagreements(engine: Engine) -> None:
    seed_demo(engine, "small")
    # The model says everyone is "No role" except it calls CISOs Influencers.
    model = role_model({"CISO": "Influencer", "Accountant": "No role", "Sales Manager": "No role"})
    with make_session_factory(engine)() as session:
        result = compare_assignments(SqlUnitOfWork.joining(session), "Secure Edge", model, limit=5)

    assert result.persons == 1500
    total = sum(sum(row.values()) for row in result.confusion.values())
    assert total == result.persons
    agreeing = sum(row.get(rule, 0) for rule, row in result.confusion.items())
    # Issue 10: "No role / No role" is reported apart, not counted as agreement.
    neither = result.confusion.get("No role", {}).get("No role", 0)
    assert result.no_role_both == neither > 0
    assert result.agreements == agreeing - neither
    assert result.agreement_rate == pytest.approx((agreeing - neither) / (1500 - neither))
    assert result.disagreements_total == 1500 - agreeing > 0
    assert result.kappa is not None and -1 <= result.kappa <= 1
    assert len(result.disagreements) == 5
    assert all(d.rule_role != d.model_role for d in result.disagreements)


def test_comparison_needs_a_role_model(engine: Engine) -> None:
    seed_demo(engine, "small", generate=False)
    with make_session_factory(engine)() as session, pytest.raises(RoleModelMissingError):
        compare_assignments(SqlUnitOfWork.joining(session), "Secure Edge", None)


def test_kappa_is_one_for_perfect_agreement_and_zero_for_chance() -> None:
    perfect = {("A", "A"): 30, ("B", "B"): 20, ("No role", "No role"): 50}
    assert cohen_kappa(perfect) == pytest.approx(1.0)
    # Independent raters: each cell is the product of the margins.
    chance = {("A", "A"): 25, ("A", "No role"): 25, ("No role", "A"): 25}
    chance[("No role", "No role")] = 25
    assert cohen_kappa(chance) == pytest.approx(0.0)
    assert cohen_kappa({("No role", "No role"): 10}) is None
    assert cohen_kappa({}) is None


def test_agreement_ignores_persons_neither_side_places() -> None:
    result = Comparison("Edge", None)
    _summarise(result, Counter({("A", "A"): 3, ("A", "B"): 1, ("No role", "No role"): 96}))
    assert (result.persons, result.placed, result.agreements) == (100, 4, 3)
    assert result.agreement_rate == pytest.approx(0.75)
