"""Person and group engagement, with the arithmetic written out."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest

from buying_groups.scores.engagement import (
    group_engagement,
    normalised_weights,
    person_engagement,
)

AS_OF = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)


def activities(*rows: tuple[str, str, datetime]) -> pd.DataFrame:
    """An activity frame from (person_id, type, occurred_at) rows."""
    return pd.DataFrame(rows, columns=["person_id", "type", "occurred_at"])


def days_ago(days: float) -> datetime:
    """A moment ``days`` before AS_OF."""
    return AS_OF - timedelta(days=days)


# ------------------------------------------------------------------ weights


def test_min_max_maps_lowest_to_zero_and_highest_to_one() -> None:
    weights = {"event_attended": 60, "form_filled": 40, "email_opened": 30}
    # (60-30)/30 = 1; (40-30)/30 = 1/3; (30-30)/30 = 0
    assert normalised_weights(weights, ["event_attended", "form_filled", "email_opened"]) == {
        "event_attended": 1.0,
        "form_filled": pytest.approx(1 / 3),
        "email_opened": 0.0,
    }


def test_all_equal_weights_count_one_each() -> None:
    weights = {"event_attended": 60, "event_registered": 60}
    assert normalised_weights(weights, ["event_attended", "event_registered"]) == {
        "event_attended": 1.0,
        "event_registered": 1.0,
    }


# ------------------------------------------------------------------ person engagement


def test_hand_worked_person_scores() -> None:
    frame = activities(
        ("ann", "event_attended", days_ago(1)),
        ("ann", "form_filled", days_ago(2)),
        ("ann", "form_filled", days_ago(2)),
        ("bob", "form_filled", days_ago(3)),
        ("bob", "email_opened", days_ago(3)),
        ("cat", "email_opened", days_ago(4)),
    )
    # Types that occurred: event_attended 60, form_filled 40, email_opened 30.
    # Normalised: event 1, form (40-30)/(60-30) = 1/3, email 0.
    # ann raw = 1*1 + 2*(1/3) = 5/3; bob raw = 1/3 + 0 = 1/3; cat raw = 0.
    # Scores: ann 100; bob 100 * sqrt(1/3) / sqrt(5/3) = 100 * sqrt(1/5) = 44.72...; cat 0.
    scores = person_engagement(frame, AS_OF)
    assert scores["ann"] == 100.0
    assert scores["bob"] == pytest.approx(100 * math.sqrt(1 / 5))
    assert scores["cat"] == 0.0
    assert list(scores.index) == ["ann", "bob", "cat"]


def test_at_most_twenty_of_one_type_count_per_day() -> None:
    morning = AS_OF.replace(hour=8)
    frame = activities(
        *[("ann", "page_viewed", morning - timedelta(minutes=i)) for i in range(25)],
        *[("bob", "page_viewed", days_ago(1) - timedelta(minutes=i)) for i in range(10)],
        *[("bob", "page_viewed", days_ago(2) - timedelta(minutes=i)) for i in range(10)],
        ("bob", "page_viewed", days_ago(3)),
    )
    # One type occurred, so it counts 1. ann: 25 on one day -> capped at 20, raw 20.
    # bob: 10 + 10 + 1 on three days, raw 21 -> bob is the best.
    # ann = 100 * sqrt(20) / sqrt(21) = 97.59...
    scores = person_engagement(frame, AS_OF)
    assert scores["bob"] == 100.0
    assert scores["ann"] == pytest.approx(100 * math.sqrt(20 / 21))


def test_cap_is_per_type_and_per_utc_day() -> None:
    late = datetime(2025, 6, 28, 23, 30, tzinfo=UTC)
    frame = activities(
        *[("ann", "page_viewed", late) for _ in range(20)],
        *[("ann", "page_viewed", late + timedelta(hours=1)) for _ in range(20)],
        *[("ann", "link_clicked", late) for _ in range(20)],
        ("bob", "page_viewed", late),
    )
    # page_viewed and link_clicked both weigh 40: all equal, each counts 1.
    # ann: 20 page views on 28 June + 20 on 29 June (UTC) + 20 clicks = 60; bob 1.
    # bob = 100 * sqrt(1) / sqrt(60)
    scores = person_engagement(frame, AS_OF)
    assert scores["bob"] == pytest.approx(100 / math.sqrt(60))


def test_window_is_the_thirty_days_before_as_of() -> None:
    frame = activities(
        ("exactly_30_days", "event_attended", days_ago(30)),
        ("just_inside", "event_attended", days_ago(30) + timedelta(seconds=1)),
        ("at_as_of", "event_attended", AS_OF),
        ("after_as_of", "event_attended", AS_OF + timedelta(seconds=1)),
    )
    # Window: as_of - 30 days < occurred_at <= as_of.
    scores = person_engagement(frame, AS_OF)
    assert scores.to_dict() == {
        "exactly_30_days": 0.0,
        "just_inside": 100.0,
        "at_as_of": 100.0,
        "after_as_of": 0.0,
    }


def test_activity_outside_the_window_does_not_shape_the_weights() -> None:
    frame = activities(
        ("ann", "event_attended", days_ago(40)),
        ("ann", "email_opened", days_ago(1)),
        ("bob", "email_opened", days_ago(1)),
        ("bob", "email_opened", days_ago(2)),
    )
    # Only email_opened occurred in the window, so it counts 1 (not 0):
    # ann raw 1, bob raw 2 -> ann = 100 * sqrt(1/2).
    scores = person_engagement(frame, AS_OF)
    assert scores["ann"] == pytest.approx(100 * math.sqrt(0.5))


def test_naive_timestamps_are_utc_and_zones_are_converted() -> None:
    paris = timezone(timedelta(hours=2))
    frame = activities(
        ("ann", "page_viewed", datetime(2025, 6, 30, 13, 0, tzinfo=paris)),  # 11:00 UTC
        ("bob", "page_viewed", datetime(2025, 6, 30, 14, 30, tzinfo=paris)),  # 12:30 UTC
    )
    scores = person_engagement(frame, AS_OF.replace(tzinfo=None))
    assert scores.to_dict() == {"ann": 100.0, "bob": 0.0}


def test_custom_weights_and_unknown_types() -> None:
    frame = activities(
        ("ann", "webinar", days_ago(1)),
        ("bob", "email_opened", days_ago(1)),
        ("cat", "tweeted", days_ago(1)),
    )
    # webinar 90, email_opened 10: normalised 1 and 0; "tweeted" has no weight: ignored.
    scores = person_engagement(frame, AS_OF, weights={"webinar": 90, "email_opened": 10})
    assert scores.to_dict() == {"ann": 100.0, "bob": 0.0, "cat": 0.0}


def test_nobody_active_scores_zero_for_everyone() -> None:
    old = activities(("ann", "event_attended", days_ago(60)), ("bob", "form_filled", days_ago(90)))
    assert person_engagement(old, AS_OF).to_dict() == {"ann": 0.0, "bob": 0.0}
    assert person_engagement(activities(), AS_OF).empty


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match="occurred_at"):
        person_engagement(pd.DataFrame({"person_id": [], "type": []}), AS_OF)


# ------------------------------------------------------------------ group engagement


def members(*rows: tuple[str, str, str, int]) -> pd.DataFrame:
    """A member frame from (group_id, person_id, role, weighting) rows."""
    return pd.DataFrame(rows, columns=["group_id", "person_id", "role", "weighting"])


def test_hand_worked_group_scores() -> None:
    frame = members(
        ("g1", "ann", "Decision Maker", 100),
        ("g1", "bob", "Influencer", 60),
        ("g1", "cat", "Influencer", 60),
        ("g2", "dan", "Practitioner", 40),
    )
    scores = pd.Series({"ann": 80.0, "bob": 50.0, "cat": 10.0, "dan": 90.0})
    # g1 roles present: Decision Maker 100 + Influencer 60 (counted once) = 160.
    # raw g1 = 80 * 100/160 + 50 * 60/160 + 10 * 60/160 = 50 + 18.75 + 3.75 = 72.5
    # g2: only Practitioner, share 40/40 = 1: raw = 90.
    # g2 = 100; g1 = 100 * sqrt(72.5) / sqrt(90) = 89.75...
    result = group_engagement(frame, scores)
    assert result["g2"] == 100.0
    assert result["g1"] == pytest.approx(100 * math.sqrt(72.5 / 90))


def test_members_without_a_person_score_count_zero() -> None:
    frame = members(("g1", "ann", "Champion", 20), ("g2", "zoe", "Champion", 20))
    result = group_engagement(frame, pd.Series({"ann": 25.0}))
    assert result.to_dict() == {"g1": 100.0, "g2": 0.0}


def test_no_engaged_group_scores_zero_for_all() -> None:
    frame = members(("g1", "ann", "Champion", 20), ("g2", "bob", "Other", 20))
    assert group_engagement(frame, pd.Series({"ann": 0.0})).to_dict() == {"g1": 0.0, "g2": 0.0}


def test_inconsistent_weightings_are_refused() -> None:
    frame = members(("g1", "ann", "Champion", 20), ("g1", "bob", "Champion", 40))
    with pytest.raises(ValueError, match="different weightings"):
        group_engagement(frame, pd.Series(dtype=float))


def test_iso_strings_are_parsed_and_missing_timestamps_ignored() -> None:
    frame = activities(
        ("ann", "page_viewed", "2025-06-30T11:00:00Z"),  # type: ignore[arg-type]
        ("bob", "page_viewed", "2025-06-30T13:00:00+02:00"),  # type: ignore[arg-type]
        ("cat", "page_viewed", None),  # type: ignore[arg-type]
    )
    assert person_engagement(frame, AS_OF).to_dict() == {"ann": 100.0, "bob": 100.0, "cat": 0.0}
