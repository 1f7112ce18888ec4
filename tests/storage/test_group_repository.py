"""Group listings, filters, sorting, detail, dashboards, stage moves and status, on both backends.

The groups of Secure Edge (template cards: Decision Maker 1, Influencer 1, Practitioner 2,
Champion 1 not required for completeness):

| account | DM | Infl | Pract | Champ | completeness | engagement | stage      | status |
|---------|----|------|-------|-------|--------------|------------|------------|--------|
| A1      | 1  | 1    | 2     | 0     | 100          | 80         | Engaged    | hot    |
| A2      | 0  | 1    | 1     | 1     | 50           | 20         | Identified |        |
| A3      | no role rows at all       | 0            | 0          |            |        |
| A4      | 1  | 0    | 2     | 0     | 66.67        | 50         |            | hot    |
| A5      | deleted                   | 0            | 90         |            |        |

A1 also has a Data Cloud group (template: Decision Maker 1, Practitioner 3) missing both.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from group_factories import (
    DATA,
    SECURITY,
    add_account,
    add_configuration,
    add_group,
    add_member,
    at,
)
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from buying_groups.domain.errors import (
    ConflictError,
    InvariantError,
    NotFoundError,
    StageTransitionError,
    StatusTooLongError,
)
from buying_groups.domain.group_filters import GroupFilter, GroupSort, GroupSortKey
from buying_groups.domain.group_views import histogram_bucket
from buying_groups.domain.groups import MemberSource
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups.storage.group_repository import GroupRepository


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on a database holding the groups of the table above."""
    factory = make_session_factory(engine)
    with unit_of_work(factory) as setup:
        _build_groups(setup)
    with factory() as session:
        yield session


def _build_groups(session: Session) -> None:
    add_configuration(session)
    for account in ("A1", "A2", "A3", "A4", "A5"):
        add_account(session, account, name=f"Company {account}")
    full = {"Decision Maker": 1, "Influencer": 1, "Practitioner": 2}
    a1 = add_group(session, "A1", SECURITY, full, engagement=80, stage="Engaged", status="hot")
    a2 = add_group(
        session,
        "A2",
        SECURITY,
        {"Influencer": 1, "Practitioner": 1, "Champion": 1},
        engagement=20,
        stage="Identified",
        updated_at=at(3),
    )
    add_group(session, "A3", SECURITY, None, updated_at=at(1))
    add_group(session, "A4", SECURITY, full | {"Influencer": 0}, engagement=50, status="hot")
    add_group(session, "A5", SECURITY, {}, engagement=90, is_deleted=True)
    add_group(session, "A1", DATA, {}, engagement=10)
    add_member(session, a1, "P1", "Decision Maker", confidence=0.9, evidence={"rule": "ciso"})
    add_member(session, a1, "P2", "Practitioner", source="manual")
    add_member(session, a1, "P3", "Influencer", source="model", is_removed=True)
    add_member(session, a2, "P4", "Influencer")


def _accounts(session: Session, sort: str = "account", **filters: object) -> list[str]:
    page = GroupRepository(session).list_groups(GroupFilter.model_validate(filters), sort)
    return [g.account_external_id for g in page.items]


def test_without_filters_lists_every_live_group(session: Session) -> None:
    page = GroupRepository(session).list_groups()
    assert page.total == 5
    assert [(g.account_external_id, g.solution_interest) for g in page.items] == [
        ("A1", SECURITY),  # same account: the older group (lower id) first
        ("A1", DATA),
        ("A2", SECURITY),
        ("A3", SECURITY),
        ("A4", SECURITY),
    ]


def test_solution_interest_and_account_filters(session: Session) -> None:
    assert _accounts(session, solution_interest=SECURITY) == ["A1", "A2", "A3", "A4"]
    page = GroupRepository(session).list_groups(GroupFilter(account_external_id="A1"))
    assert sorted(g.solution_interest for g in page.items) == [DATA, SECURITY]


def test_deleted_groups_only_on_request(session: Session) -> None:
    assert "A5" not in _accounts(session, solution_interest=SECURITY)
    assert "A5" in _accounts(session, solution_interest=SECURITY, include_deleted=True)


def test_missing_role_counts_short_rows_and_cards_without_rows(session: Session) -> None:
    # A2 has 0 of 1, A3 has no rows at all but its template has the card.
    assert _accounts(session, solution_interest=SECURITY, missing_roles=["Decision Maker"]) == [
        "A2",
        "A3",
    ]
    # 1 of 2 practitioners is still missing.
    assert _accounts(session, solution_interest=SECURITY, missing_roles=["practitioner"]) == [
        "A2",
        "A3",
    ]
    # Cards not required for completeness can still be missing.
    assert _accounts(session, solution_interest=SECURITY, missing_roles=["Champion"]) == [
        "A1",
        "A3",
        "A4",
    ]


def test_missing_roles_are_all_required(session: Session) -> None:
    both = ["Influencer", "Champion"]
    assert _accounts(session, solution_interest=SECURITY, missing_roles=both) == ["A3", "A4"]


def test_a_role_not_on_the_template_is_never_missing(session: Session) -> None:
    assert _accounts(session, missing_roles=["Other"]) == []
    # The Data Cloud template has no Influencer card: only Secure Edge groups miss one.
    assert _accounts(session, solution_interest=DATA, missing_roles=["Influencer"]) == []


def test_decision_maker_missing_and_completeness_below_50(session: Session) -> None:
    # A2 sits exactly on 50, which is not below 50.
    found = _accounts(
        session, solution_interest=SECURITY, missing_roles=["Decision Maker"], completeness_lt=50
    )
    assert found == ["A3"]


def test_score_bounds(session: Session) -> None:
    interest = {"solution_interest": SECURITY}
    assert _accounts(session, completeness_gte=50, **interest) == ["A1", "A2", "A4"]
    assert _accounts(session, completeness_gte=50, completeness_lt=100, **interest) == ["A2", "A4"]
    assert _accounts(session, engagement_lt=50, **interest) == ["A2", "A3"]
    assert _accounts(session, engagement_gte=50, **interest) == ["A1", "A4"]


def test_stage_and_status_filters(session: Session) -> None:
    assert _accounts(session, stage="Engaged") == ["A1"]
    assert _accounts(session, status="hot") == ["A1", "A4"]
    assert _accounts(session, status="cold") == []


def test_unknown_names_in_a_filter_are_named(session: Session) -> None:
    repository = GroupRepository(session)
    for filters, name in (
        (GroupFilter(missing_roles=("Wizard",)), "Wizard"),
        (GroupFilter(solution_interest="Nothing"), "Nothing"),
        (GroupFilter(account_external_id="ZZ"), "ZZ"),
    ):
        with pytest.raises(NotFoundError, match=name):
            repository.list_groups(filters)


def test_empty_score_range_is_refused() -> None:
    with pytest.raises(ValueError, match="completeness_gte"):
        GroupFilter(completeness_gte=60, completeness_lt=50)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-completeness", ["A1", "A4", "A2", "A3"]),
        ("completeness", ["A3", "A2", "A4", "A1"]),
        ("engagement", ["A3", "A2", "A4", "A1"]),
        ("-account", ["A4", "A3", "A2", "A1"]),
    ],
)
def test_sorting(session: Session, sort: str, expected: list[str]) -> None:
    assert _accounts(session, sort, solution_interest=SECURITY) == expected


def test_sorting_by_updated_at(session: Session) -> None:
    found = _accounts(session, "updated_at", solution_interest=SECURITY)
    assert found[:2] == ["A3", "A2"]  # day 1, day 3; the others were written now


def test_ties_are_broken_by_id_in_both_directions(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        add_configuration(session)
        for account in ("C", "B", "A"):
            add_account(session, account)
            add_group(session, account, SECURITY, {})
    with factory() as session:
        assert _accounts(session, "completeness") == ["C", "B", "A"]
        assert _accounts(session, "-completeness") == ["C", "B", "A"]


def test_unknown_sort_key_is_refused(session: Session) -> None:
    with pytest.raises(InvariantError, match="cannot sort groups by 'size'"):
        GroupRepository(session).list_groups(sort="-size")


def test_sort_parsing() -> None:
    assert GroupSort.parse("-engagement") == GroupSort(GroupSortKey.ENGAGEMENT, descending=True)
    assert str(GroupSort.parse("updated_at")) == "updated_at"


def test_pagination_keeps_the_total(session: Session) -> None:
    repository = GroupRepository(session)
    page = repository.list_groups(GroupFilter(solution_interest=SECURITY), limit=2, offset=1)
    assert (page.total, page.limit, page.offset) == (4, 2, 1)
    assert [g.account_external_id for g in page.items] == ["A2", "A3"]
    beyond = repository.list_groups(GroupFilter(solution_interest=SECURITY), offset=10)
    assert (beyond.total, list(beyond.items)) == (4, [])


def test_summaries_carry_member_count_and_missing_roles_in_card_order(session: Session) -> None:
    page = GroupRepository(session).list_groups(GroupFilter(solution_interest=SECURITY))
    by_account = {g.account_external_id: g for g in page.items}
    assert by_account["A1"].members == 2  # P3 was removed
    assert by_account["A1"].missing_roles == ("Champion",)
    assert by_account["A3"].missing_roles == (
        "Decision Maker",
        "Influencer",
        "Practitioner",
        "Champion",
    )
    assert by_account["A4"].completeness == pytest.approx(200 / 3)
    assert by_account["A4"].missing_roles == ("Influencer", "Champion")


def test_get_group_shows_roles_and_every_member(session: Session) -> None:
    group = GroupRepository(session).get_group("A1", SECURITY)
    assert (group.template_name, group.stage, group.status) == ("Security", "Engaged", "hot")
    assert [(r.role, r.assigned, r.required) for r in group.roles] == [
        ("Decision Maker", 1, 1),
        ("Influencer", 1, 1),
        ("Practitioner", 2, 2),
        ("Champion", 0, 1),
    ]
    members = {m.person_external_id: m for m in group.member_list}
    assert members["P1"].evidence == {"rule": "ciso"}
    assert members["P1"].confidence == pytest.approx(0.9)
    assert members["P2"].source is MemberSource.MANUAL
    assert members["P3"].is_removed
    assert group.member_list[-1].person_external_id == "P3"  # removed members come last


def test_get_group_without_role_rows_reads_the_cards(session: Session) -> None:
    group = GroupRepository(session).get_group("A3", SECURITY)
    assert [(r.role, r.assigned, r.required, r.completeness) for r in group.roles] == [
        ("Decision Maker", 0, 1, 0.0),
        ("Influencer", 0, 1, 0.0),
        ("Practitioner", 0, 2, 0.0),
        ("Champion", 0, 1, 0.0),
    ]
    assert group.member_list == ()


def test_get_group_names_what_is_missing(session: Session) -> None:
    repository = GroupRepository(session)
    with pytest.raises(NotFoundError, match="'A2' has no buying group for solution interest"):
        repository.get_group("A2", DATA)
    with pytest.raises(NotFoundError, match="Nothing"):
        repository.get_group("A2", "Nothing")


def test_completeness_summary_numbers(session: Session) -> None:
    summary = GroupRepository(session).completeness_summary(SECURITY)
    assert summary.groups == 4  # A5 is deleted
    assert summary.mean_completeness == pytest.approx((100 + 50 + 0 + 200 / 3) / 4)
    assert summary.mean_engagement == pytest.approx((80 + 20 + 0 + 50) / 4)
    assert [(b.label, b.groups) for b in summary.histogram] == [
        ("0-25", 1),
        ("25-50", 0),
        ("50-75", 2),
        ("75-100", 1),
    ]
    roles = {r.role: r for r in summary.roles}
    assert list(roles) == ["Decision Maker", "Influencer", "Practitioner", "Champion"]
    expected = {
        "Decision Maker": (2, (100 + 0 + 0 + 100) / 4, (20 + 0) / 2),
        "Influencer": (2, (100 + 100 + 0 + 0) / 4, (0 + 50) / 2),
        "Practitioner": (2, (100 + 50 + 0 + 100) / 4, (20 + 0) / 2),
        "Champion": (3, (0 + 100 + 0 + 0) / 4, (80 + 0 + 50) / 3),
    }
    for role, (missing, completeness, engagement) in expected.items():
        assert roles[role].groups_missing == missing, role
        assert roles[role].mean_completeness == pytest.approx(completeness), role
        assert roles[role].mean_engagement_of_missing == pytest.approx(engagement), role


def test_summary_of_an_interest_without_groups(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        add_configuration(session)
    with factory() as session:
        summary = GroupRepository(session).completeness_summary(DATA)
    assert (summary.groups, summary.mean_completeness, summary.mean_engagement) == (0, None, None)
    assert [b.groups for b in summary.histogram] == [0, 0, 0, 0]
    assert [(r.role, r.groups_missing) for r in summary.roles] == [
        ("Decision Maker", 0),
        ("Practitioner", 0),
    ]


def test_summary_of_an_unknown_interest(session: Session) -> None:
    with pytest.raises(NotFoundError, match="Nothing"):
        GroupRepository(session).completeness_summary("Nothing")


def test_histogram_bucket_edges() -> None:
    assert [histogram_bucket(v) for v in (0, 24.99, 25, 50, 74.9, 75, 100)] == [
        0,
        0,
        1,
        2,
        2,
        3,
        3,
    ]


def test_legal_stage_moves_are_stored(engine: Engine, session: Session) -> None:
    with unit_of_work(make_session_factory(engine)) as writing:
        repository = GroupRepository(writing)
        assert repository.move_stage("A2", SECURITY, "Engaged").stage == "Engaged"
        assert repository.move_stage("A3", SECURITY, "Identified").stage == "Identified"
    session.expire_all()
    assert GroupRepository(session).get_group("A2", SECURITY).stage == "Engaged"
    assert GroupRepository(session).get_group("A3", SECURITY).stage == "Identified"


def test_illegal_stage_move_names_both_stages(session: Session) -> None:
    repository = GroupRepository(session)
    with pytest.raises(StageTransitionError, match="'Engaged' to stage 'Won'"):
        repository.move_stage("A1", SECURITY, "Won")
    with pytest.raises(StageTransitionError, match="entry stage"):
        repository.move_stage("A3", SECURITY, "Engaged")
    with pytest.raises(StageTransitionError, match="'Paused' is not in stage model"):
        repository.move_stage("A1", SECURITY, "Paused")
    assert repository.get_group("A1", SECURITY).stage == "Engaged"


def test_stage_needs_a_stage_model_and_a_live_group(session: Session) -> None:
    repository = GroupRepository(session)
    with pytest.raises(ConflictError, match="no stage model"):
        repository.move_stage("A1", DATA, "Identified")
    with pytest.raises(ConflictError, match="deleted"):
        repository.move_stage("A5", SECURITY, "Identified")


def test_status_up_to_50_characters(engine: Engine, session: Session) -> None:
    with unit_of_work(make_session_factory(engine)) as writing:
        repository = GroupRepository(writing)
        assert repository.set_status("A2", SECURITY, "x" * 50).status == "x" * 50
        with pytest.raises(StatusTooLongError, match="51 characters"):
            repository.set_status("A2", SECURITY, "x" * 51)
        assert repository.set_status("A1", SECURITY, None).status is None
    session.expire_all()
    assert GroupRepository(session).get_group("A2", SECURITY).status == "x" * 50
    assert _accounts(session, status="hot") == ["A4"]
