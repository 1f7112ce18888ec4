"""Recommendations for missing roles: who, ranked, with reasons; never a member or a removed one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from role_model_factory import COMPANY_INTEREST as INTEREST
from role_model_factory import NOW, seed_company_crm, train_role_model
from sqlalchemy import Engine, update

from buying_groups.domain.errors import ConflictError, InvariantError, NotFoundError
from buying_groups.domain.groups import MemberSource
from buying_groups.generation.membership import MembershipService
from buying_groups.generation.recommendations import (
    HIERARCHY_FACTOR,
    GroupRecommendations,
    RecommendationService,
)
from buying_groups.ml.title_classifier import TitleClassifier
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups.storage.tables import BuyingGroupRow
from buying_groups.storage.unit_of_work import SqlUnitOfWork


@pytest.fixture(scope="module")
def role_model() -> TitleClassifier:
    return train_role_model()


@pytest.fixture
def crm(engine: Engine) -> Engine:
    return seed_company_crm(engine)


def _recommend(
    engine: Engine, account: str, model: TitleClassifier | None = None, **options: object
) -> GroupRecommendations:
    with unit_of_work(make_session_factory(engine)) as session:
        service = RecommendationService(
            SqlUnitOfWork.joining(session), model, "3" if model else None
        )
        return service.recommend(INTEREST, account, as_of=NOW, **options)  # type: ignore[arg-type]


def _by_role(answer: GroupRecommendations) -> dict[str, list[str]]:
    return {r.role: [c.person_external_id for c in r.candidates] for r in answer.roles}


def test_without_a_group_every_required_role_is_missing_and_rules_rank(crm: Engine) -> None:
    answer = _recommend(crm, "HQ")
    assert not answer.group_exists and answer.model_version is None
    assert [(r.role, r.missing) for r in answer.roles] == [
        ("Decision Maker", 1),
        ("Practitioner", 1),
        ("Influencer", 1),
        ("Champion", 1),
    ]
    ranked = _by_role(answer)
    # Both chiefs fire the card; recent activity puts P3 first. P7 works elsewhere.
    assert ranked["Decision Maker"] == ["P3", "P1"]
    assert ranked["Practitioner"] == ["P4", "P6"]  # divisions of the same company
    assert ranked["Influencer"] == [] and ranked["Champion"] == []
    p3 = answer.roles[0].candidates[0]
    assert p3.score == 1.0 and p3.recent_activities == 2 and p3.same_account
    assert p3.rule == 'job_title contains "chief"'
    assert any("2 activities in the last 30 days" in r for r in p3.reasons)
    p4 = answer.roles[1].candidates[0]
    assert p4.score == HIERARCHY_FACTOR and not p4.same_account
    assert any("elsewhere in the account hierarchy" in r for r in p4.reasons)


def test_the_role_model_fills_what_no_rule_covers(crm: Engine, role_model: TitleClassifier) -> None:
    answer = _recommend(crm, "HQ", role_model, role="Influencer")
    assert answer.model_version == "3"
    (influencer,) = answer.roles
    assert influencer.candidates[0].person_external_id == "P5"
    best = influencer.candidates[0]
    assert best.rule is None and best.model_probability is not None
    assert best.score == pytest.approx(best.model_probability * HIERARCHY_FACTOR, abs=1e-4)
    # Nobody at the other company looks like an Influencer: say which titles to acquire.
    (nobody,) = _recommend(crm, "OTHER", role_model, role="Influencer").roles
    assert nobody.candidates == []
    assert nobody.titles_to_acquire[:2] == ["Security Architect", "Enterprise Architect"]


def test_members_and_persons_removed_by_hand_are_never_recommended(crm: Engine) -> None:
    with unit_of_work(make_session_factory(crm)) as session:
        membership = MembershipService(SqlUnitOfWork.joining(session))
        membership.assign("HQ", INTEREST, "P1", "Decision Maker")
        membership.exclude("HQ", INTEREST, "P4", "Practitioner")
    answer = _recommend(crm, "HQ")
    assert answer.group_exists
    assert [r.role for r in answer.roles] == ["Practitioner", "Influencer", "Champion"]
    assert _by_role(answer)["Practitioner"] == ["P6"]
    # Asked for by name, a full role still gets candidates, never its own member.
    (decision_maker,) = _recommend(crm, "HQ", role="Decision Maker").roles
    assert decision_maker.missing == 0 and decision_maker.assigned == 1
    assert [c.person_external_id for c in decision_maker.candidates] == ["P3"]


def test_the_eligible_pool_is_the_company_minus_members_and_removed(crm: Engine) -> None:
    with unit_of_work(make_session_factory(crm)) as session:
        membership = MembershipService(SqlUnitOfWork.joining(session))
        membership.assign("HQ", INTEREST, "P1", "Decision Maker")
        membership.exclude("HQ", INTEREST, "P2", "Practitioner")
        service = RecommendationService(SqlUnitOfWork.joining(session))
        assert service.eligible_persons(INTEREST, "HQ") == ["P3", "P4", "P5", "P6"]
        assert service.eligible_persons(INTEREST, "HQ", hierarchy=False) == ["P3"]


def test_hierarchy_can_be_left_out_and_limit_caps_each_role(crm: Engine) -> None:
    assert _by_role(_recommend(crm, "HQ", hierarchy=False))["Practitioner"] == []
    assert _by_role(_recommend(crm, "HQ", limit=1))["Decision Maker"] == ["P3"]
    # From a division, the parent's people count too (at the hierarchy factor).
    from_division = _recommend(crm, "DE", role="Decision Maker").roles[0].candidates
    assert [c.person_external_id for c in from_division] == ["P3", "P1"]
    assert {c.score for c in from_division} == {HIERARCHY_FACTOR}


def test_unknown_account_role_or_interest_are_clear_errors(crm: Engine) -> None:
    with pytest.raises(NotFoundError, match="NOPE"):
        _recommend(crm, "NOPE")
    with pytest.raises(InvariantError, match="Decision Maker"):
        _recommend(crm, "HQ", role="Astronaut")
    with unit_of_work(make_session_factory(crm)) as session, pytest.raises(NotFoundError):
        RecommendationService(SqlUnitOfWork.joining(session)).recommend("Nope", "HQ")


def test_an_import_saying_not_a_member_keeps_the_person_out(crm: Engine) -> None:
    with unit_of_work(make_session_factory(crm)) as session:
        MembershipService(SqlUnitOfWork.joining(session)).exclude(
            "HQ", INTEREST, "P3", "Decision Maker", source=MemberSource.IMPORT
        )
    assert _by_role(_recommend(crm, "HQ"))["Decision Maker"] == ["P1"]


def test_a_deleted_group_takes_nobody(crm: Engine) -> None:
    with unit_of_work(make_session_factory(crm)) as session:
        MembershipService(SqlUnitOfWork.joining(session)).assign(
            "HQ", INTEREST, "P1", "Decision Maker"
        )
    with crm.begin() as conn:
        conn.execute(update(BuyingGroupRow).values(is_deleted=True))
    with pytest.raises(ConflictError, match="deleted"):
        _recommend(crm, "HQ")


def test_role_names_ignore_case_and_activity_counts_only_up_to_as_of(crm: Engine) -> None:
    (role,) = _recommend(crm, "HQ", role=" decision maker").roles
    assert role.role == "Decision Maker"
    with unit_of_work(make_session_factory(crm)) as session:
        earlier = RecommendationService(SqlUnitOfWork.joining(session)).recommend(
            INTEREST, "HQ", role="Decision Maker", as_of=NOW - timedelta(days=3)
        )
    # Three days ago, the two recent activities had not happened yet (the third is too old
    # then too: 37 days): no activity, so the id orders the tie.
    assert [c.recent_activities for c in earlier.roles[0].candidates] == [0, 0]
