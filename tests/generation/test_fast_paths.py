"""The job's fast paths give exactly what the plain definitions give.

Packed engagement codes read from SQL == ``person_engagement`` on the same activities; merged
word tests of ``any`` nodes == the leaves one by one; ``match_many`` == ``match`` per person;
``select_audience`` == ``AccountAudience.select``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from buying_groups.assignment.rules import PersonFields, RuleMatcher
from buying_groups.domain.accounts import Account
from buying_groups.domain.conditions import (
    AnyCondition,
    PersonFacts,
    compile_condition,
    parse_condition,
)
from buying_groups.domain.role_templates import RoleCard
from buying_groups.domain.solution_interests import AccountAudience, AccountFilter, AudienceKind
from buying_groups.imports.loader import import_accounts, import_activities, import_persons
from buying_groups.scores.engagement import person_engagement, raw_engagement_of_codes
from buying_groups.storage import generation_store as store
from buying_groups.storage.audience_preview import select_audience
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups.storage.tables import ActivityRow, PersonRow

AS_OF = datetime(2025, 6, 30, 12, tzinfo=UTC)
TYPES = ["email_opened", "page_viewed", "event_attended", "form_filled", "webinar_watched"]

# ------------------------------------------------------------------ engagement


def _random_activities(rng: np.random.Generator, persons: int, rows: int) -> pd.DataFrame:
    """Activities around the window's edges, with bursts beyond the daily cap of 20."""
    offsets = rng.integers(-2 * 86_400, 33 * 86_400, size=rows)
    # Some exactly on the window's two boundaries.
    offsets[: rows // 20] = rng.choice([0, 30 * 86_400], size=rows // 20)
    burst = rng.integers(0, persons, size=rows // 4)
    person = np.concatenate([rng.integers(0, persons, size=rows - len(burst)), burst])
    offsets[-len(burst) :] = 86_400 + 3_600
    return pd.DataFrame(
        {
            "person_external_id": [f"P{p}" for p in person],
            "type": rng.choice(TYPES, size=rows),
            "occurred_at": [AS_OF - timedelta(seconds=int(s)) for s in offsets],
        }
    )


def test_packed_engagement_equals_person_engagement(engine: Engine) -> None:
    rng = np.random.default_rng(7)
    import_accounts(engine, pd.DataFrame([{"external_id": "A1", "name": "Account 1"}]))
    people = pd.DataFrame(
        [{"external_id": f"P{i}", "account_external_id": "A1", "job_title": "X"} for i in range(40)]
    )
    import_persons(engine, people)
    import_activities(engine, _random_activities(rng, 40, 3_000))

    with engine.connect() as conn:
        fast = store.person_engagement_by_id(conn, AS_OF)
        rows = conn.execute(
            select(ActivityRow.person_id, ActivityRow.type, ActivityRow.occurred_at)
        ).all()
        max_id = conn.execute(select(PersonRow.id).order_by(PersonRow.id.desc())).scalars().first()
    frame = pd.DataFrame(rows, columns=["person_id", "type", "occurred_at"])
    reference = person_engagement(frame, AS_OF)
    expected = np.zeros((max_id or 0) + 1)
    expected[reference.index.to_numpy(dtype=np.int64)] = reference.to_numpy()
    assert (expected > 0).sum() > 10  # the data exercises the formula
    assert np.array_equal(fast, expected)  # bit for bit, not approximately


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 6), st.sampled_from(TYPES[:4]), st.integers(0, 5), st.integers(1, 25)
        ),
        min_size=1,
        max_size=40,
    )
)
def test_raw_engagement_of_codes_equals_person_engagement(
    counts: list[tuple[int, str, int, int]],
) -> None:
    """Any shuffled rows: the coded path sums in the same canonical order, bit for bit."""
    base = datetime(2025, 6, 20, tzinfo=UTC)
    rows = [
        (person, kind, base + timedelta(days=day, minutes=k))
        for person, kind, day, n in counts
        for k in range(n)
    ]
    frame = pd.DataFrame(rows, columns=["person_id", "type", "occurred_at"]).sample(frac=1.0)
    reference = person_engagement(frame, AS_OF)
    names = sorted(set(frame["type"]))
    codes = frame["type"].map({n: i for i, n in enumerate(names)}).to_numpy(dtype=np.int64)
    stamps = frame["occurred_at"].dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
    days = stamps.view(np.int64) // (86_400 * 10**9)
    raw = raw_engagement_of_codes(
        frame["person_id"].to_numpy(dtype=np.int64), codes, days, names, 7
    )
    roots = np.sqrt(raw)
    scaled = roots / roots.max() * 100.0 if roots.max() > 0 else np.zeros(7)
    assert np.array_equal(scaled[reference.index.to_numpy(dtype=np.int64)], reference.to_numpy())


# ------------------------------------------------------------------ merged word tests

WORDS = ["it", "security", "chief", "officer", "head", "intern", "internal", "ciso", "vp"]
phrase = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)
leaf = st.one_of(
    st.builds(
        lambda op, v: {"attribute": "job_title", "operator": op, "value": v},
        st.sampled_from(["contains", "equals", "starts_with", "not_contains"]),
        phrase,
    ),
    st.builds(
        lambda v: {"attribute": "job_title", "operator": "in_list", "value": v},
        st.lists(phrase, min_size=1, max_size=3),
    ),
    st.builds(lambda v: {"attribute": "department", "operator": "contains", "value": v}, phrase),
    st.just({"attribute": "job_title", "operator": "matches", "value": "(head|vp) .*security"}),
)
title = st.one_of(
    st.none(),
    st.lists(st.sampled_from([*WORDS, "Sécurité", "IT-Leiter", "  ", "of"]), max_size=5).map(
        " ".join
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(leaf, min_size=1, max_size=8), title, title)
def test_merged_any_matches_its_leaves_one_by_one(
    leaves: list[dict[str, Any]], job_title: str | None, department: str | None
) -> None:
    condition = parse_condition({"any": leaves})
    assert isinstance(condition, AnyCondition)
    facts = PersonFacts(job_title=job_title, department=department)
    one_by_one = [compile_condition(c).evaluate(facts) for c in condition.conditions]
    merged = compile_condition(condition).evaluate(facts)
    fired = [i for i, r in enumerate(one_by_one) if r is not None]
    if not fired:
        assert merged is None
        return
    # Same outcome and same evidence: the first leaf that fired, at its path in the any.
    assert merged is not None
    first = one_by_one[fired[0]]
    assert first is not None
    assert [f.description for f in merged.fired] == [f.description for f in first.fired]
    assert [f.path for f in merged.fired] == [f"any[{fired[0]}]{f.path}" for f in first.fired]


# ------------------------------------------------------------------ match_many


def test_match_many_equals_match_per_person() -> None:
    cards = (
        RoleCard(
            role="Champion",
            conditions=parse_condition(
                {
                    "all": [
                        {"attribute": "engagement_score", "operator": "gte", "value": 50},
                        {"attribute": "job_title", "operator": "contains", "value": "security"},
                    ]
                }
            ),
        ),
        RoleCard(
            role="Practitioner",
            conditions=parse_condition(
                {"attribute": "job_title", "operator": "contains", "value": "engineer"}
            ),
        ),
    )
    titles = ["Security Engineer", "Network Engineer", "Security Analyst", None, "Intern"]
    persons: list[PersonFields] = [
        (i, 1, titles[i % len(titles)], None, None, None) for i in range(60)
    ]
    engagement = np.array([0.0, 49.9, 50.0, 50.1, 100.0] * 10)  # ids >= 50 score 0
    expected = [
        RuleMatcher(cards).match(p, float(engagement[p[0]]) if p[0] < 50 else 0.0) for p in persons
    ]
    assert RuleMatcher(cards).match_many(persons, engagement) == expected


# ------------------------------------------------------------------ audience


@pytest.mark.parametrize(
    "account_filter",
    [AccountFilter(), AccountFilter(revenue_gte=2e6), AccountFilter(employees_lte=100)],
)
def test_numeric_audience_in_sql_equals_select(
    engine: Engine, account_filter: AccountFilter
) -> None:
    rows = [
        {"external_id": "A1", "name": "One", "revenue": 1e6, "employees": 50},
        {"external_id": "A2", "name": "Two", "revenue": 5e6, "employees": 500},
        {"external_id": "A3", "name": "Three"},
    ]
    import_accounts(engine, pd.DataFrame(rows))
    audience = AccountAudience(name="N", kind=AudienceKind.FILTER, filter=account_filter)
    with unit_of_work(make_session_factory(engine)) as session:
        selected = select_audience(session, audience)
        accounts = ConfigurationRepository(session)._all_accounts()
    expected = audience.select(accounts)
    assert sorted(selected.values()) == sorted(expected)
    assert all(isinstance(a, Account) for a in accounts)
