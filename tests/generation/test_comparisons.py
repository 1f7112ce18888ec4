"""Rules versus model: agreement rate, confusion table, disagreements."""

from __future__ import annotations

import pytest
from role_model_factory import role_model
from sqlalchemy import Engine

from buying_groups.demo.seed import seed_demo
from buying_groups.generation.comparisons import RoleModelMissingError, compare_assignments
from buying_groups.storage.database import make_session_factory


def test_comparison_counts_agreements_and_lists_disagreements(engine: Engine) -> None:
    seed_demo(engine, "small")
    # The model says everyone is "No role" except it calls CISOs Influencers.
    model = role_model({"CISO": "Influencer", "Accountant": "No role", "Sales Manager": "No role"})
    with make_session_factory(engine)() as session:
        result = compare_assignments(session, "Secure Edge", model, limit=5)

    assert result.persons == 1500
    total = sum(sum(row.values()) for row in result.confusion.values())
    assert total == result.persons
    agreeing = sum(row.get(rule, 0) for rule, row in result.confusion.items())
    assert result.agreements == agreeing
    assert result.agreement_rate == pytest.approx(agreeing / 1500)
    assert result.disagreements_total == 1500 - agreeing > 0
    assert len(result.disagreements) == 5
    assert all(d.rule_role != d.model_role for d in result.disagreements)


def test_comparison_needs_a_role_model(engine: Engine) -> None:
    seed_demo(engine, "small", generate=False)
    with make_session_factory(engine)() as session, pytest.raises(RoleModelMissingError):
        compare_assignments(session, "Secure Edge", None)
