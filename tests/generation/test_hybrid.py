"""Model and hybrid generation with a tiny role model; review items and their decisions."""

from __future__ import annotations

from typing import Any

import pytest
from role_model_factory import AUDIENCE, INTEREST, seed_review_crm, train_role_model
from sqlalchemy import Engine, func, select, update

from buying_groups.domain.errors import ConflictError, InvariantError
from buying_groups.domain.reviews import ReviewDecision, ReviewReason
from buying_groups.generation import TitleModelRequiredError, run_generation
from buying_groups.generation.reviews import ReviewFilter, ReviewService, ReviewState
from buying_groups.ml.role_predictions import NO_ROLE
from buying_groups.ml.title_classifier import TitleClassifier
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups.storage.tables import EventRow, MemberRow, PersonRow, ReviewRow, RoleRow
from buying_groups.storage.unit_of_work import SqlUnitOfWork
from training.role_data import CONFIRMED, role_training_data

DISAGREEMENT = ReviewReason.DISAGREEMENT


@pytest.fixture(scope="module")
def role_model() -> TitleClassifier:
    """A role model over hand-made titles."""
    return train_role_model()


@pytest.fixture
def crm(engine: Engine) -> Engine:
    """Two accounts, eight persons, the template, the interest, and P7 set by hand."""
    return seed_review_crm(engine)


def _run(engine: Engine, mode: str, model: TitleClassifier | None) -> Any:
    return run_generation(
        SqlUnitOfWork(engine),
        solution_interest=INTEREST,
        audience=AUDIENCE,
        mode=mode,
        role_model=model,
        model_version="3",
    )


def _members(engine: Engine) -> dict[str, tuple[str, str, bool]]:
    """person -> (role, source, is_removed)."""
    query = (
        select(PersonRow.external_id, RoleRow.name, MemberRow.source, MemberRow.is_removed)
        .join(PersonRow, PersonRow.id == MemberRow.person_id)
        .join(RoleRow, RoleRow.id == MemberRow.role_id)
    )
    with engine.connect() as conn:
        return {p: (r, s, bool(x)) for p, r, s, x in conn.execute(query).tuples()}


def _reviews(engine: Engine) -> dict[str, tuple[str, str | None, str | None, str | None]]:
    """person -> (reason, rule role, model role, decision) of every review."""
    with unit_of_work(make_session_factory(engine)) as session:
        page = ReviewService(SqlUnitOfWork.joining(session)).list(
            ReviewFilter(solution_interest=INTEREST)
        )
    return {
        r.person_external_id: (r.reason.value, r.rule_role, r.model_role, r.decision)
        for r in page.items
    }


def _snapshot(engine: Engine) -> tuple[Any, ...]:
    with engine.connect() as conn:
        rows = conn.execute(select(ReviewRow).order_by(ReviewRow.id)).all()
        events = conn.execute(select(func.count()).select_from(EventRow)).scalar_one()
        evidence = conn.execute(select(MemberRow.evidence).order_by(MemberRow.id)).all()
    return _members(engine), [tuple(r) for r in rows], events, evidence


def test_hybrid_rule_wins_model_fills_and_disagreements_become_reviews(
    crm: Engine, role_model: TitleClassifier
) -> None:
    report = _run(crm, "hybrid", role_model)

    assert report.state == "succeeded" and report.reviews_created == 2
    assert _members(crm) == {
        "P1": ("Decision Maker", "rule", False),
        "P2": ("Practitioner", "rule", False),
        "P3": ("Influencer", "model", False),
        "P4": ("Decision Maker", "rule", False),  # the rule wins; a reviewer looks
        "P7": ("Champion", "manual", False),  # the model's Influencer never touches it
        "P8": ("Influencer", "model", False),
    }
    assert _reviews(crm) == {
        "P4": ("disagreement", "Decision Maker", NO_ROLE, None),
        "P6": ("low_confidence", None, "Practitioner", None),
    }
    with unit_of_work(make_session_factory(crm)) as session:
        (p4,) = (
            ReviewService(SqlUnitOfWork.joining(session))
            .list(ReviewFilter(reason=DISAGREEMENT))
            .items
        )
    assert p4.rule_evidence is not None and p4.rule_evidence["role"] == "Decision Maker"
    assert p4.model_evidence is not None and p4.model_evidence["model_version"] == "3"
    assert p4.model_confidence is not None and p4.model_confidence >= 0.6
    assert p4.job_title == "Chief Happiness Officer" and p4.account_external_id == "A1"


def test_model_members_carry_evidence_and_events(crm: Engine, role_model: TitleClassifier) -> None:
    _run(crm, "hybrid", role_model)

    with crm.connect() as conn:
        member = conn.execute(
            select(MemberRow.confidence, MemberRow.evidence)
            .join(PersonRow, PersonRow.id == MemberRow.person_id)
            .where(PersonRow.external_id == "P3")
        ).one()
        sources = conn.execute(select(EventRow.payload)).scalars().all()
    assert 0.6 <= member.confidence <= 1
    assert member.evidence["role"] == "Influencer" and member.evidence["model_version"] == "3"
    assert member.evidence["nearest_titles"][0]["title"] == "Security Architect"
    assert sorted(p.get("source") for p in sources if p.get("role") == "Influencer") == [
        "model",
        "model",
    ]


def test_rerun_changes_nothing_and_adds_no_reviews(
    crm: Engine, role_model: TitleClassifier
) -> None:
    _run(crm, "hybrid", role_model)
    before = _snapshot(crm)

    report = _run(crm, "hybrid", role_model)

    assert report.reviews_created == 0 and report.members_added == 0
    assert report.members_changed == 0 and report.members_removed == 0
    assert _snapshot(crm) == before


def test_open_reviews_a_run_no_longer_proposes_are_withdrawn_decided_ones_stay(
    crm: Engine, role_model: TitleClassifier
) -> None:
    _run(crm, "hybrid", role_model)
    with unit_of_work(make_session_factory(crm)) as session:
        (p4,) = (
            ReviewService(SqlUnitOfWork.joining(session))
            .list(ReviewFilter(reason=DISAGREEMENT))
            .items
        )
        ReviewService(SqlUnitOfWork.joining(session)).decide(
            p4.id, ReviewDecision.ACCEPT_RULE, "ana", None
        )
    with crm.begin() as conn:  # P6's title changes: a rule fires and the model agrees
        conn.execute(
            update(PersonRow)
            .where(PersonRow.external_id == "P6")
            .values(job_title="Security Engineer")
        )
    _run(crm, "rules", None)  # a rules-only run does not judge the model's questions
    assert set(_reviews(crm)) == {"P4", "P6"}

    report = _run(crm, "hybrid", role_model)

    assert report.reviews_created == 0
    assert _reviews(crm) == {"P4": ("disagreement", "Decision Maker", NO_ROLE, "accept_rule")}
    assert _members(crm)["P6"] == ("Practitioner", "rule", False)


def test_model_mode_assigns_by_model_only_and_removes_what_it_no_longer_supports(
    crm: Engine, role_model: TitleClassifier
) -> None:
    _run(crm, "model", role_model)
    assert _members(crm) == {
        "P1": ("Decision Maker", "model", False),
        "P2": ("Practitioner", "model", False),
        "P3": ("Influencer", "model", False),
        "P7": ("Champion", "manual", False),
        "P8": ("Influencer", "model", False),
    }
    assert _reviews(crm) == {"P6": ("low_confidence", None, "Practitioner", None)}

    with crm.begin() as conn:
        conn.execute(
            update(PersonRow).where(PersonRow.external_id == "P3").values(job_title="Receptionist")
        )
    report = _run(crm, "model", role_model)

    assert report.members_removed == 1
    assert _members(crm)["P3"] == ("Influencer", "model", True)


def test_model_modes_without_a_role_model_say_how_to_train_one(crm: Engine) -> None:
    for mode in ("model", "hybrid"):
        with pytest.raises(TitleModelRequiredError, match="train roles --solution-interest"):
            _run(crm, mode, None)


def test_decisions_are_manual_changes_that_the_next_job_respects(
    crm: Engine, role_model: TitleClassifier
) -> None:
    _run(crm, "hybrid", role_model)
    ids = {r.person_external_id: r.id for r in _open_reviews(crm)}

    with unit_of_work(make_session_factory(crm)) as session:
        service = ReviewService(SqlUnitOfWork.joining(session))
        # The model said "No role": accepting it records a manual "not a member".
        decided = service.decide(ids["P4"], ReviewDecision.ACCEPT_MODEL, "ana")
        service.decide(ids["P6"], ReviewDecision.OTHER_ROLE, "ana", role="Influencer")
    assert decided.decision is ReviewDecision.ACCEPT_MODEL and decided.decided_by == "ana"
    assert _members(crm)["P4"] == ("Decision Maker", "manual", True)
    assert _members(crm)["P6"] == ("Influencer", "manual", False)

    report = _run(crm, "hybrid", role_model)

    assert report.reviews_created == 0 and _open_reviews(crm) == []
    assert _members(crm)["P4"] == ("Decision Maker", "manual", True)
    assert _members(crm)["P6"] == ("Influencer", "manual", False)
    with (
        pytest.raises(ConflictError, match="already decided"),
        unit_of_work(make_session_factory(crm)) as session,
    ):
        ReviewService(SqlUnitOfWork.joining(session)).decide(
            ids["P4"], ReviewDecision.NOT_A_MEMBER, "bob"
        )


def test_not_a_member_for_a_non_member_stores_a_manual_removal(
    crm: Engine, role_model: TitleClassifier
) -> None:
    _run(crm, "hybrid", role_model)
    (p6,) = [r for r in _open_reviews(crm) if r.person_external_id == "P6"]

    with unit_of_work(make_session_factory(crm)) as session:
        ReviewService(SqlUnitOfWork.joining(session)).decide(
            p6.id, ReviewDecision.NOT_A_MEMBER, "ana"
        )

    assert _members(crm)["P6"] == ("Practitioner", "manual", True)
    _run(crm, "hybrid", role_model)
    assert _members(crm)["P6"] == ("Practitioner", "manual", True)


def test_decided_reviews_are_training_labels(crm: Engine, role_model: TitleClassifier) -> None:
    _run(crm, "hybrid", role_model)
    ids = {r.person_external_id: r.id for r in _open_reviews(crm)}
    with unit_of_work(make_session_factory(crm)) as session:
        service = ReviewService(SqlUnitOfWork.joining(session))
        service.decide(ids["P4"], ReviewDecision.ACCEPT_MODEL, "ana")
        service.decide(ids["P6"], ReviewDecision.ACCEPT_MODEL, "ana")

    data = role_training_data(crm, INTEREST)
    confirmed = data[data["label_source"] == CONFIRMED].set_index("person_external_id")
    assert confirmed.loc["P4", "role"] == NO_ROLE
    assert confirmed.loc["P6", "role"] == "Practitioner"
    with crm.connect() as conn:
        decided = conn.execute(
            select(ReviewRow.decision, RoleRow.name)
            .outerjoin(RoleRow, RoleRow.id == ReviewRow.decided_role_id)
            .order_by(ReviewRow.id)
        ).all()
    assert sorted(map(tuple, decided), key=str) == sorted(
        [("accept_model", None), ("accept_model", "Practitioner")], key=str
    )


def test_a_review_decision_needs_a_valid_role(crm: Engine, role_model: TitleClassifier) -> None:
    _run(crm, "hybrid", role_model)
    review = _open_reviews(crm)[0]
    with (
        pytest.raises(InvariantError, match="Astronaut"),
        unit_of_work(make_session_factory(crm)) as session,
    ):
        ReviewService(SqlUnitOfWork.joining(session)).decide(
            review.id, ReviewDecision.OTHER_ROLE, "ana", role="Astronaut"
        )
    assert len(_open_reviews(crm)) == 2  # nothing was decided
    with pytest.raises(InvariantError, match="needs the role"):
        _decide(crm, review.id, ReviewDecision.OTHER_ROLE)


def _decide(engine: Engine, review_id: int, decision: ReviewDecision) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        ReviewService(SqlUnitOfWork.joining(session)).decide(review_id, decision, "ana")


def _open_reviews(engine: Engine) -> list[Any]:
    with unit_of_work(make_session_factory(engine)) as session:
        return (
            ReviewService(SqlUnitOfWork.joining(session))
            .list(ReviewFilter(state=ReviewState.OPEN))
            .items
        )
