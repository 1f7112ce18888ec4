"""Completeness per role and per group, with hand-worked numbers."""

from __future__ import annotations

import pytest

from buying_groups.scores.completeness import (
    CardRequirement,
    group_completeness,
    role_completeness,
)


def test_one_of_three_required_is_a_third() -> None:
    # min(1 / 3, 1) * 100 = 33.333...
    assert role_completeness(1, 3) == pytest.approx(100 / 3)


def test_more_than_required_is_capped_at_100() -> None:
    # min(4 / 3, 1) * 100 = 100
    assert role_completeness(4, 3) == 100.0


def test_nobody_assigned_is_zero() -> None:
    assert role_completeness(0, 2) == 0.0


@pytest.mark.parametrize(("assigned", "required"), [(1, 0), (-1, 1)])
def test_impossible_counts_are_refused(assigned: int, required: int) -> None:
    with pytest.raises(ValueError):
        role_completeness(assigned, required)


CARDS = [
    CardRequirement("Decision Maker", members_required=1),
    CardRequirement("Influencer", members_required=3),
    CardRequirement("Practitioner", members_required=2),
    CardRequirement("Champion", members_required=1, required_for_completeness=False),
]


def test_group_is_the_unrounded_mean_over_required_cards() -> None:
    result = group_completeness(CARDS, {"Decision Maker": 2, "Influencer": 1, "Champion": 1})
    # Decision Maker min(2/1, 1) = 100; Influencer 1/3 = 33.33...; Practitioner 0/2 = 0.
    # Champion is not required: (100 + 33.33... + 0) / 3 = 44.444...
    assert result.overall == pytest.approx((100 + 100 / 3 + 0) / 3)
    assert result.overall != round(result.overall, 2)
    assert result.per_role == {
        "Decision Maker": 100.0,
        "Influencer": pytest.approx(100 / 3),
        "Practitioner": 0.0,
        "Champion": 100.0,
    }


def test_roles_without_a_card_do_not_count() -> None:
    result = group_completeness(CARDS[:1], {"Decision Maker": 1, "Other": 5})
    assert result.overall == 100.0
    assert set(result.per_role) == {"Decision Maker"}


def test_no_required_card_means_nothing_is_missing() -> None:
    optional = [CardRequirement("Champion", required_for_completeness=False)]
    assert group_completeness(optional, {}).overall == 100.0
    assert group_completeness([], {}).overall == 100.0


def test_a_role_on_two_cards_is_refused() -> None:
    with pytest.raises(ValueError, match="more than one card"):
        group_completeness([CARDS[0], CARDS[0]], {})
