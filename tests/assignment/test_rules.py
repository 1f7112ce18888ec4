"""The card matcher caches per class of persons without changing any outcome."""

from __future__ import annotations

from typing import Any

import pytest

from buying_groups.assignment.rules import PersonFields, RuleMatcher, email_domain
from buying_groups.domain.conditions import parse_condition
from buying_groups.domain.role_templates import RoleCard


def _card(role: str, condition: dict[str, Any] | None) -> RoleCard:
    return RoleCard(role=role, conditions=parse_condition(condition) if condition else None)


CARDS = (
    _card(
        "Champion",
        {
            "all": [
                {"attribute": "engagement_score", "operator": "gte", "value": 50},
                {"attribute": "engagement_score", "operator": "lt", "value": 90},
            ]
        },
    ),
    _card("Practitioner", {"attribute": "job_title", "operator": "contains", "value": "engineer"}),
    _card("Other", None),
)


def _person(title: str | None, email: str | None = None) -> PersonFields:
    return (1, 1, title, None, None, email)


@pytest.mark.parametrize(
    ("score", "role"),
    [
        (0.0, "Practitioner"),
        (49.9, "Practitioner"),
        (50.0, "Champion"),
        (89.9, "Champion"),
        (90.0, "Practitioner"),
        (100.0, "Practitioner"),
    ],
)
def test_cached_engagement_buckets_match_like_the_condition(score: float, role: str) -> None:
    matcher = RuleMatcher(CARDS)
    for warm in (0.0, 50.0, 90.0, 95.0):  # fill the cache with other scores first
        matcher.match(_person("Network Engineer"), warm)

    found = matcher.match(_person("Network Engineer"), score)

    assert found is not None and found.role == role


def test_card_without_conditions_assigns_nobody() -> None:
    assert RuleMatcher(CARDS).match(_person("Sales Intern"), 0.0) is None


def test_titles_are_cached_per_distinct_title() -> None:
    matcher = RuleMatcher(CARDS[1:])
    for _ in range(3):
        matcher.match(_person("Data Engineer"), 10.0)
        matcher.match(_person("Data Engineer"), 70.0)  # engagement is not read: same class
    assert matcher.cached_classes == 1


def test_email_domain_conditions_read_the_domain_of_the_email() -> None:
    card = _card(
        "Influencer",
        {"attribute": "email_domain", "operator": "equals", "value": "acme.example"},
    )
    matcher = RuleMatcher((card,))

    assert matcher.match(_person("Analyst", "ann@ACME.example"), 0.0) is not None
    assert matcher.match(_person("Analyst", "bob@other.example"), 0.0) is None


def test_email_domain_is_the_lower_case_part_after_the_at() -> None:
    assert email_domain("Ann@Acme.Example") == "acme.example"
    assert email_domain("no-at-sign") is None
    assert email_domain(None) is None
