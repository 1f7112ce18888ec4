"""The model adapter: one answer per distinct title, one key for a title, one shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import pandas as pd

from buying_groups.assignment import (
    NO_INSIGHT,
    PersonRecord,
    TitleInsights,
    person_facts,
    title_key,
)


class CountingModel:
    """Answers "Security"/"Director" for every title and counts the titles it is asked."""

    targets_: ClassVar[list[str]] = ["function", "seniority"]
    abstain_threshold = 0.5

    def __init__(self) -> None:
        self.asked: list[str] = []

    def predict_proba(self, X: Sequence[str]) -> dict[str, pd.DataFrame]:
        self.asked.extend(X)
        return {
            "function": pd.DataFrame([[0.9, 0.1]] * len(X), columns=["Security", "Sales"]),
            "seniority": pd.DataFrame([[0.4, 0.6]] * len(X), columns=["Director", "Manager"]),
        }

    def nearest_titles(self, X: Sequence[str], k: int | None = None) -> list[list[dict[str, Any]]]:
        return [[] for _ in X]


def test_a_title_is_asked_once_whatever_its_spacing_and_blank_titles_never() -> None:
    model = CountingModel()
    insights = TitleInsights(model, batch_size=2)
    insights.predict(["CISO", " CISO ", "Head of IT", "", None, "   "])
    insights.predict(["CISO"])
    assert sorted(model.asked) == ["CISO", "Head of IT"]
    assert insights.insight("  ") is NO_INSIGHT and title_key("  ") is None


def test_labels_below_the_abstain_threshold_are_absent() -> None:
    insights = TitleInsights(CountingModel())
    found = insights.insight("CISO")
    assert (found.function, found.seniority) == ("Security", "Manager")
    assert found.persona == "Security / Manager"
    assert insights.labels("CISO")["function"].confidence == 0.9


def test_person_facts_carry_every_attribute() -> None:
    insights = TitleInsights(CountingModel())
    record = PersonRecord(1, 2, "CISO", "IT", "DE", "Ann@Acme.Example")
    facts = person_facts(record, 42.0, insights.insight(record.job_title))
    assert (facts.job_title, facts.department, facts.country) == ("CISO", "IT", "DE")
    assert facts.email_domain == "acme.example" and facts.engagement_score == 42.0
    assert (facts.function, facts.seniority, facts.persona) == (
        "Security",
        "Manager",
        "Security / Manager",
    )
