"""The services on in-memory fakes of their ports: behaviour without a database."""

from __future__ import annotations

from typing import Any

import pytest
from fakes import FakeDatabase, FakeUnitOfWork

from buying_groups.domain.conditions import parse_condition
from buying_groups.domain.errors import ConflictError, InvariantError, MemberPrecedenceError
from buying_groups.domain.groups import MemberSource
from buying_groups.domain.reviews import ReviewDecision
from buying_groups.domain.role_templates import RoleCard, RoleTemplate, TemplateStatus
from buying_groups.domain.solution_interests import AccountAudience, SolutionInterest
from buying_groups.generation import get_job, run_generation
from buying_groups.generation.membership import MembershipService
from buying_groups.generation.recommendations import HIERARCHY_FACTOR, RecommendationService
from buying_groups.generation.reviews import ReviewFilter, ReviewService

INTEREST = "Secure Edge"


def _title(contains: str) -> Any:
    return parse_condition({"attribute": "job_title", "operator": "contains", "value": contains})


TEMPLATE = RoleTemplate(
    name="Security",
    status=TemplateStatus.LIVE,
    cards=(
        RoleCard(role="Decision Maker", conditions=_title("chief")),
        RoleCard(role="Practitioner", conditions=_title("engineer"), members_required=2),
        RoleCard(role="Champion", required_for_completeness=False),
    ),
)


@pytest.fixture
def db() -> FakeDatabase:
    db = FakeDatabase()
    db.add_interest(SolutionInterest(name=INTEREST, role_template="Security"), TEMPLATE)
    db.audiences[1] = AccountAudience(name="Targets", account_external_ids=("A1", "A2"))
    db.add_account("A1")
    db.add_account("A2")
    db.add_account("A1-EMEA", parent="A1")
    db.add_account("OTHER")
    db.add_person("P1", "A1", "Chief Security Officer")
    db.add_person("P2", "A1", "Security Engineer")
    db.add_person("P3", "A1", "Office Manager")
    db.add_person("P4", "A1-EMEA", "Chief Information Officer")
    db.add_person("P5", "A2", "Network Engineer")
    db.add_person("X1", "OTHER", "Chief Executive")
    return db


# --------------------------------------------------------------------------- memberships


def test_assign_creates_the_group_scores_it_and_records_events(db: FakeDatabase) -> None:
    uow = FakeUnitOfWork(db)
    MembershipService(uow).assign("A1", INTEREST, "P3", "Champion", MemberSource.JOURNEY)

    assert db.members_of("A1", INTEREST) == {"P3": ("Champion", "journey", False)}
    assert [e["type"] for e in db.events] == ["group.created", "member.assigned"]
    assert db.events[1]["payload"]["role"] == "Champion"
    assert uow.commits == 1 and uow.locks == [1]
    group_id = db.group_id("A1", INTEREST)
    assert group_id is not None and db.groups[group_id].completeness == 0.0


def test_a_lower_source_cannot_change_or_remove_a_higher_ones_member(db: FakeDatabase) -> None:
    service = MembershipService(FakeUnitOfWork(db))
    service.assign("A1", INTEREST, "P1", "Decision Maker", MemberSource.MANUAL)

    with pytest.raises(MemberPrecedenceError, match="cannot change"):
        service.assign("A1", INTEREST, "P1", "Champion", MemberSource.JOURNEY)
    with pytest.raises(MemberPrecedenceError, match="cannot remove"):
        service.remove("A1", INTEREST, "P1", MemberSource.IMPORT)
    assert db.members_of("A1", INTEREST) == {"P1": ("Decision Maker", "manual", False)}


def test_remove_keeps_the_removal_with_its_source_and_rescores(db: FakeDatabase) -> None:
    service = MembershipService(FakeUnitOfWork(db))
    service.assign("A1", INTEREST, "P1", "Decision Maker", MemberSource.JOURNEY)
    group_id = db.group_id("A1", INTEREST)
    assert group_id is not None and db.groups[group_id].completeness == 50.0

    service.remove("A1", INTEREST, "P1", MemberSource.MANUAL)

    assert db.members_of("A1", INTEREST) == {"P1": ("Decision Maker", "manual", True)}
    assert db.groups[group_id].completeness == 0.0
    assert db.events[-1]["type"] == "member.removed"
    with pytest.raises(ConflictError, match="not a member"):
        service.remove("A1", INTEREST, "P1")


def test_a_person_of_the_company_may_join_one_of_another_may_not(db: FakeDatabase) -> None:
    service = MembershipService(FakeUnitOfWork(db))
    service.assign("A1", INTEREST, "P4", "Decision Maker")  # A1-EMEA is under A1

    with pytest.raises(InvariantError, match="another company"):
        service.assign("A1", INTEREST, "X1", "Decision Maker")
    with pytest.raises(InvariantError, match="source"):
        service.assign("A1", INTEREST, "P2", "Practitioner", MemberSource.RULE)
    assert set(db.members_of("A1", INTEREST)) == {"P4"}


def test_a_failed_change_leaves_nothing(db: FakeDatabase) -> None:
    with pytest.raises(InvariantError, match="does not exist"):
        MembershipService(FakeUnitOfWork(db)).assign("A1", INTEREST, "NOBODY", "Champion")
    assert db.groups == {} and db.events == []


# --------------------------------------------------------------------------- generation jobs


def test_a_rules_job_builds_groups_and_a_rerun_changes_nothing(db: FakeDatabase) -> None:
    uow = FakeUnitOfWork(db)
    report = run_generation(uow, solution_interest=INTEREST, audience="Targets", batch_size=1)

    assert (report.state, report.groups_created, report.members_added) == ("succeeded", 2, 3)
    assert db.members_of("A1", INTEREST) == {
        "P1": ("Decision Maker", "rule", False),
        "P2": ("Practitioner", "rule", False),
    }
    assert db.members_of("A2", INTEREST) == {"P5": ("Practitioner", "rule", False)}
    assert uow.locks.count(1) == 3  # two batches and the engagement refresh
    rerun = run_generation(uow, solution_interest=INTEREST, audience="Targets")
    assert (rerun.groups_created, rerun.groups_updated, rerun.members_added) == (0, 0, 0)


def test_a_job_respects_what_people_decided(db: FakeDatabase) -> None:
    uow = FakeUnitOfWork(db)
    MembershipService(uow).exclude("A1", INTEREST, "P1", "Decision Maker")
    MembershipService(uow).assign("A1", INTEREST, "P3", "Practitioner")

    report = run_generation(uow, solution_interest=INTEREST, audience="Targets")

    assert db.members_of("A1", INTEREST) == {
        "P1": ("Decision Maker", "manual", True),
        "P2": ("Practitioner", "rule", False),
        "P3": ("Practitioner", "manual", False),
    }
    assert (report.groups_created, report.groups_updated) == (1, 1)
    assert get_job(uow, report.job_id).processed_accounts == 2


# --------------------------------------------------------------------------- reviews


def _review(db: FakeDatabase, person_id: int) -> int:
    review_id = len(db.reviews) + 1
    db.reviews[review_id] = {
        "person_id": person_id,
        "interest_id": 1,
        "reason": "disagreement",
        "rule_role_id": db.roles["Practitioner"],
        "model_role_id": db.roles["Decision Maker"],
        "model_confidence": 0.7,
        "evidence": {},
        "decision": None,
        "decided_role_id": None,
        "decided_by": None,
        "decided_at": None,
    }
    return review_id


def test_accepting_the_model_makes_a_manual_member(db: FakeDatabase) -> None:
    review_id = _review(db, 2)
    service = ReviewService(FakeUnitOfWork(db))

    item = service.decide(review_id, ReviewDecision.ACCEPT_MODEL, "ana")

    assert (item.decision, item.decided_role, item.decided_by) == (
        ReviewDecision.ACCEPT_MODEL,
        "Decision Maker",
        "ana",
    )
    assert db.members_of("A1", INTEREST) == {"P2": ("Decision Maker", "manual", False)}
    with pytest.raises(ConflictError, match="already decided"):
        service.decide(review_id, ReviewDecision.ACCEPT_RULE, "bob")
    assert service.list(ReviewFilter(solution_interest=INTEREST)).total == 1


def test_not_a_member_keeps_the_person_out_of_the_next_job(db: FakeDatabase) -> None:
    uow = FakeUnitOfWork(db)
    ReviewService(uow).decide(_review(db, 2), ReviewDecision.NOT_A_MEMBER, "ana")
    run_generation(uow, solution_interest=INTEREST, audience="Targets")

    assert db.members_of("A1", INTEREST)["P2"] == ("Practitioner", "manual", True)


def test_a_decision_with_an_unknown_role_changes_nothing(db: FakeDatabase) -> None:
    review_id = _review(db, 2)
    with pytest.raises(InvariantError):
        ReviewService(FakeUnitOfWork(db)).decide(
            review_id, ReviewDecision.OTHER_ROLE, "ana", role="Astronaut"
        )
    assert db.reviews[review_id]["decision"] is None and db.members == {}


# --------------------------------------------------------------------------- recommendations


def test_recommendations_rank_rule_matches_and_discount_the_rest_of_the_company(
    db: FakeDatabase,
) -> None:
    uow = FakeUnitOfWork(db)
    MembershipService(uow).assign("A1", INTEREST, "P2", "Practitioner")

    answer = RecommendationService(uow).recommend(INTEREST, "A1")

    by_role = {r.role: r for r in answer.roles}
    assert set(by_role) == {"Decision Maker", "Practitioner"}  # Champion does not count
    makers = by_role["Decision Maker"].candidates
    assert [(c.person_external_id, c.score) for c in makers] == [
        ("P1", 1.0),
        ("P4", HIERARCHY_FACTOR),
    ]
    assert by_role["Practitioner"].assigned == 1 and by_role["Practitioner"].candidates == []
    assert answer.group_exists


def test_a_person_removed_by_hand_is_not_recommended(db: FakeDatabase) -> None:
    uow = FakeUnitOfWork(db)
    MembershipService(uow).exclude("A1", INTEREST, "P1", "Decision Maker")

    service = RecommendationService(uow)
    answer = service.recommend(INTEREST, "A1", role="Decision Maker", hierarchy=False)

    assert answer.roles[0].candidates == []
    assert "P1" not in service.eligible_persons(INTEREST, "A1")
