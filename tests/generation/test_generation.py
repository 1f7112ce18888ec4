"""Rule-based generation jobs: first matching card, scores, maintenance, precedence, resume."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, delete, func, insert, select, update

from buying_groups.domain.conditions import parse_condition
from buying_groups.domain.errors import ConflictError
from buying_groups.domain.role_templates import RoleCard, RoleTemplate, TemplateStatus
from buying_groups.domain.solution_interests import AccountAudience, SolutionInterest
from buying_groups.generation import (
    JobState,
    TitleModelRequiredError,
    get_job,
    run_generation,
    run_job,
)
from buying_groups.generation import jobs as jobs_module
from buying_groups.imports.loader import import_accounts, import_activities, import_persons
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups.storage.tables import (
    AccountRow,
    BuyingGroupRow,
    GenerationJobRow,
    GroupRoleRow,
    MemberRow,
    PersonRow,
    RoleRow,
)
from buying_groups.storage.unit_of_work import SqlUnitOfWork
from buying_groups_demo.crm import DEMO_REFERENCE_DATE
from buying_groups_demo.seed import seed_demo

AS_OF = datetime(2025, 6, 30, tzinfo=UTC)
INTEREST = "Secure Edge"
AUDIENCE = "Targets"


def _condition(data: dict[str, Any]) -> Any:
    return parse_condition(data)


TEMPLATE = RoleTemplate(
    name="Security",
    status=TemplateStatus.LIVE,
    cards=(
        RoleCard(
            role="Decision Maker",
            weighting=100,  # type: ignore[arg-type]
            conditions=_condition(
                {
                    "any": [
                        {"attribute": "job_title", "operator": "contains", "value": "chief"},
                        {"attribute": "job_title", "operator": "starts_with", "value": "head"},
                    ]
                }
            ),
        ),
        RoleCard(
            role="Practitioner",
            members_required=2,
            conditions=_condition(
                {"attribute": "job_title", "operator": "contains", "value": "engineer"}
            ),
        ),
        RoleCard(
            role="Champion",
            required_for_completeness=False,
            conditions=_condition(
                {
                    "all": [
                        {"attribute": "engagement_score", "operator": "gte", "value": 50},
                        {"attribute": "job_title", "operator": "contains", "value": "security"},
                    ]
                }
            ),
        ),
        RoleCard(role="Other", required_for_completeness=False),
    ),
)

PERSONS = [
    ("P1", "A1", "Chief Information Security Officer"),
    ("P2", "A1", "Security Engineer"),
    ("P3", "A1", "Sales Intern"),
    ("P4", "A1", "Head of Security Engineering"),
    ("P5", "A2", "Network Engineer"),
    ("P6", "A2", "Security Analyst"),
    ("P7", "A2", "Security Analyst"),
]


def _persons(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"external_id": p, "account_external_id": a, "job_title": t, "email": f"{p}@x.example"}
            for p, a, t in rows
        ]
    )


@pytest.fixture
def crm(engine: Engine) -> Engine:
    """Three accounts (A3 without persons), seven persons, P6 active; template and audience."""
    accounts = pd.DataFrame([{"external_id": f"A{i}", "name": f"Account {i}"} for i in (1, 2, 3)])
    assert import_accounts(engine, accounts).inserted == 3
    assert import_persons(engine, _persons(PERSONS)).inserted == len(PERSONS)
    clicks = [
        {
            "person_external_id": "P6",
            "type": "event_attended",
            "occurred_at": AS_OF - timedelta(days=d),
        }
        for d in range(1, 4)
    ]
    assert import_activities(engine, pd.DataFrame(clicks)).inserted == 3
    with unit_of_work(make_session_factory(engine)) as session:
        repository = ConfigurationRepository(session)
        repository.create_template(TEMPLATE)
        repository.create_solution_interest(
            SolutionInterest(name=INTEREST, role_template=TEMPLATE.name)
        )
        repository.create_audience(
            AccountAudience(name=AUDIENCE, account_external_ids=("A1", "A2", "A3"))
        )
    return engine


def _run(engine: Engine, **kwargs: Any) -> Any:
    return run_generation(
        SqlUnitOfWork(engine), solution_interest=INTEREST, audience=AUDIENCE, as_of=AS_OF, **kwargs
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


def _groups(engine: Engine) -> dict[str, tuple[float, dict[str, float], float]]:
    """account -> (completeness, role_completeness, engagement)."""
    query = select(
        AccountRow.external_id,
        BuyingGroupRow.completeness,
        BuyingGroupRow.role_completeness,
        BuyingGroupRow.engagement,
    ).join(AccountRow, AccountRow.id == BuyingGroupRow.account_id)
    with engine.connect() as conn:
        return {a: (c, r, e) for a, c, r, e in conn.execute(query).tuples()}


def _snapshot(engine: Engine) -> tuple[Any, ...]:
    with engine.connect() as conn:
        evidence = sorted(
            (p, str(e))
            for p, e in conn.execute(
                select(MemberRow.person_id, MemberRow.evidence).order_by(MemberRow.person_id)
            ).tuples()
        )
        roles = conn.execute(
            select(func.count(), func.sum(GroupRoleRow.assigned)).select_from(GroupRoleRow)
        ).one()
    return _members(engine), _groups(engine), evidence, tuple(roles)


def test_first_matching_card_assigns_with_evidence(crm: Engine) -> None:
    report = _run(crm)

    assert report.state == JobState.SUCCEEDED
    assert _members(crm) == {
        "P1": ("Decision Maker", "rule", False),
        "P2": ("Practitioner", "rule", False),
        # Matches Decision Maker and Practitioner: the first card wins.
        "P4": ("Decision Maker", "rule", False),
        "P5": ("Practitioner", "rule", False),
        # Engaged (the only active person scores 100); P7 has the same title, no activity.
        "P6": ("Champion", "rule", False),
    }
    with crm.connect() as conn:
        row = conn.execute(
            select(MemberRow.evidence, MemberRow.confidence)
            .join(PersonRow, PersonRow.id == MemberRow.person_id)
            .where(PersonRow.external_id == "P4")
        ).one()
    assert row.confidence == 1.0
    assert row.evidence == {
        "card": 0,
        "role": "Decision Maker",
        "fired": [{"path": "any[1]", "description": 'job_title starts_with "head"'}],
        "condition": 'job_title starts_with "head"',
    }
    assert (report.groups_created, report.members_added) == (3, 5)


def test_scores_are_stored_per_group_and_role(crm: Engine) -> None:
    _run(crm)

    groups = _groups(crm)
    # Decision Maker 2/1 -> 100, Practitioner 1/2 -> 50; Champion and Other do not count.
    assert groups["A1"][0] == 75.0
    assert groups["A1"][1] == {
        "Decision Maker": 100.0,
        "Practitioner": 50.0,
        "Champion": 0.0,
        "Other": 0.0,
    }
    assert groups["A2"][0] == 25.0  # no Decision Maker, one of two practitioners
    assert groups["A3"][0] == 0.0
    # P6 is the only engaged person, in A2: the best group scores 100, the others 0.
    assert (groups["A1"][2], groups["A2"][2], groups["A3"][2]) == (0.0, 100.0, 0.0)
    with crm.connect() as conn:
        rows = conn.execute(
            select(RoleRow.name, GroupRoleRow.assigned, GroupRoleRow.required)
            .join(RoleRow, RoleRow.id == GroupRoleRow.role_id)
            .join(BuyingGroupRow, BuyingGroupRow.id == GroupRoleRow.group_id)
            .join(AccountRow, AccountRow.id == BuyingGroupRow.account_id)
            .where(AccountRow.external_id == "A1")
        ).all()
    assert sorted(tuple(r) for r in rows) == [
        ("Champion", 0, 1),
        ("Decision Maker", 2, 1),
        ("Other", 0, 1),
        ("Practitioner", 1, 2),
    ]


def test_rerun_without_changes_writes_nothing(crm: Engine) -> None:
    _run(crm)
    with crm.connect() as conn:
        before = conn.execute(select(MemberRow.id, MemberRow.updated_at)).all()
        groups_before = conn.execute(select(BuyingGroupRow.id, BuyingGroupRow.updated_at)).all()

    report = _run(crm)

    counts = (
        report.groups_created,
        report.groups_updated,
        report.members_added,
        report.members_removed,
        report.members_changed,
        report.engagement_updated,
    )
    assert counts == (0, 0, 0, 0, 0, 0)
    with crm.connect() as conn:
        assert conn.execute(select(MemberRow.id, MemberRow.updated_at)).all() == before
        after = conn.execute(select(BuyingGroupRow.id, BuyingGroupRow.updated_at)).all()
        assert after == groups_before


def test_maintenance_removes_and_changes_members_whose_titles_changed(crm: Engine) -> None:
    _run(crm)
    changed = [("P2", "A1", "Account Executive"), ("P1", "A1", "Security Engineer")]
    import_persons(crm, _persons(changed))

    report = _run(crm)

    members = _members(crm)
    assert members["P2"] == ("Practitioner", "rule", True)
    assert members["P1"] == ("Practitioner", "rule", False)
    assert (report.members_removed, report.members_changed, report.groups_updated) == (1, 1, 1)
    assert _groups(crm)["A1"][0] == 75.0  # P4 still decides, P1 now practises


def test_manual_removal_stays_removed(crm: Engine) -> None:
    _run(crm)
    with crm.begin() as conn:
        p2 = conn.execute(select(PersonRow.id).where(PersonRow.external_id == "P2")).scalar_one()
        conn.execute(
            update(MemberRow)
            .where(MemberRow.person_id == p2)
            .values(is_removed=True, source="manual")
        )

    report = _run(crm)

    assert _members(crm)["P2"] == ("Practitioner", "manual", True)
    assert report.members_added == 0


def test_import_and_journey_members_are_not_overridden(crm: Engine) -> None:
    _run(crm)
    with crm.begin() as conn:
        ids = dict(conn.execute(select(PersonRow.external_id, PersonRow.id)).tuples().all())
        influencer = conn.execute(
            select(RoleRow.id).where(RoleRow.name == "Influencer")
        ).scalar_one()
        group = conn.execute(select(MemberRow.group_id).where(MemberRow.person_id == ids["P1"]))
        group_id = group.scalar_one()
        conn.execute(
            update(MemberRow)
            .where(MemberRow.person_id == ids["P1"])
            .values(role_id=influencer, source="journey")
        )
        conn.execute(
            insert(MemberRow).values(
                group_id=group_id, person_id=ids["P3"], role_id=influencer, source="import"
            )
        )

    report = _run(crm)

    members = _members(crm)
    assert members["P1"] == ("Influencer", "journey", False)
    assert members["P3"] == ("Influencer", "import", False)
    assert report.members_changed == 0
    # P1 no longer counts as Decision Maker: P4 alone still fills the role.
    assert _groups(crm)["A1"][1]["Decision Maker"] == 100.0


def test_resume_after_crash_gives_the_uninterrupted_result(crm: Engine) -> None:
    calls = {"n": 0}

    def crash_on_second(accounts: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        _run(crm, batch_size=1, progress=crash_on_second)
    failed = get_job(SqlUnitOfWork(crm), _job_ids(crm)[0])
    assert failed.state == JobState.FAILED and failed.processed_accounts == 2

    resumed = run_job(SqlUnitOfWork(crm), failed.job_id, as_of=AS_OF, batch_size=1)
    interrupted = _snapshot(crm)

    assert resumed.state == JobState.SUCCEEDED
    assert (resumed.processed_accounts, resumed.groups_created, resumed.members_added) == (3, 3, 5)
    _reset(crm)
    _run(crm, batch_size=1)
    assert _snapshot(crm) == interrupted


def test_crash_inside_a_batch_leaves_nothing_of_it(
    crm: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = jobs_module._advance
    calls = {"n": 0}

    def fail_second(*args: Any) -> None:
        calls["n"] += 1
        original(*args)
        if calls["n"] == 2:
            raise RuntimeError("power cut before commit")

    monkeypatch.setattr(jobs_module, "_advance", fail_second)
    with pytest.raises(RuntimeError):
        _run(crm, batch_size=1)
    assert set(_groups(crm)) == {"A1"}
    job = get_job(SqlUnitOfWork(crm), _job_ids(crm)[0])
    assert (job.state, job.processed_accounts, job.cursor_account_id > 0) == ("failed", 1, True)

    monkeypatch.setattr(jobs_module, "_advance", original)
    run_job(SqlUnitOfWork(crm), job.job_id, as_of=AS_OF)
    resumed = _snapshot(crm)
    _reset(crm)
    _run(crm)
    assert _snapshot(crm) == resumed


def test_same_idempotency_key_returns_the_same_job(crm: Engine) -> None:
    first = _run(crm, idempotency_key="k-1")
    again = _run(crm, idempotency_key="k-1")

    assert again.job_id == first.job_id and _job_ids(crm) == [first.job_id]
    with unit_of_work(make_session_factory(crm)) as session:
        ConfigurationRepository(session).create_audience(
            AccountAudience(name="Other", account_external_ids=("A1",))
        )
    with pytest.raises(ConflictError, match="idempotency key"):
        run_generation(
            SqlUnitOfWork(crm), solution_interest=INTEREST, audience="Other", idempotency_key="k-1"
        )


def test_model_modes_need_a_title_model(crm: Engine) -> None:
    for mode in ("model", "hybrid"):
        with pytest.raises(TitleModelRequiredError, match="needs a title model"):
            _run(crm, mode=mode)
    assert _job_ids(crm) == []


def test_demo_configuration_yields_groups_with_several_roles(engine: Engine) -> None:
    seed_demo(engine, "small", today=DEMO_REFERENCE_DATE, generate=False)

    report = run_generation(
        SqlUnitOfWork(engine),
        solution_interest="Secure Edge",
        audience="Large accounts without Secure Edge",
        as_of=DEMO_REFERENCE_DATE,
    )

    assert report.state == JobState.SUCCEEDED and report.groups_created > 0
    with engine.connect() as conn:
        roles = conn.execute(
            select(RoleRow.name, func.count())
            .join(MemberRow, MemberRow.role_id == RoleRow.id)
            .group_by(RoleRow.name)
        ).all()
    assert len(roles) >= 3, roles


def _job_ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(select(GenerationJobRow.id).order_by(GenerationJobRow.id)).scalars()
        )


def _reset(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(BuyingGroupRow))
        conn.execute(delete(GenerationJobRow))


def _events(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    from buying_groups.storage.tables import EventRow

    with engine.connect() as conn:
        rows = conn.execute(select(EventRow.type, EventRow.payload).order_by(EventRow.id))
        return [(kind, payload) for kind, payload in rows]


def test_jobs_record_outbox_events_once(crm: Engine) -> None:
    report = _run(crm)
    events = _events(crm)
    kinds = [kind for kind, _ in events]
    assert kinds.count("group.created") == report.groups_created
    assert kinds.count("member.assigned") == report.members_added
    assigned = [p for kind, p in events if kind == "member.assigned"]
    assert all(p["person_external_id"] and p["role"] and p["source"] == "rule" for p in assigned)
    _run(crm)
    assert len(_events(crm)) == len(events)  # a rerun that changes nothing says nothing


def test_maintenance_records_removals_and_role_changes(crm: Engine) -> None:
    _run(crm)
    before = len(_events(crm))
    changed = [("P2", "A1", "Account Executive"), ("P1", "A1", "Security Engineer")]
    import_persons(crm, _persons(changed))
    _run(crm)
    new = _events(crm)[before:]
    assert sorted((k, p["person_external_id"]) for k, p in new) == [
        ("member.assigned", "P1"),
        ("member.removed", "P2"),
    ]
