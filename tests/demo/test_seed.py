"""Seeding the demo CRM into a database."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_session_factory
from buying_groups.storage.tables import ActivityRow, DemoPersonTruthRow, PersonRow
from buying_groups_demo.seed import seed_demo


def test_seed_loads_crm_truths_and_configuration(engine: Engine) -> None:
    today = datetime(2026, 11, 27, 12, tzinfo=UTC)
    report = seed_demo(engine, "small", today=today)

    assert all(not r.rejected for r in report.reports)
    with make_session_factory(engine)() as session:
        persons = session.scalar(select(func.count()).select_from(PersonRow))
        truths = session.scalar(select(func.count()).select_from(DemoPersonTruthRow))
        latest = session.scalar(select(func.max(ActivityRow.occurred_at)))
        interests = ConfigurationRepository(session).list_solution_interests()
    assert persons == truths == report.truths > 1000
    assert latest is not None and (today - latest.replace(tzinfo=UTC)).days <= 1
    assert {i.name for i in interests} == {"Secure Edge", "Data Cloud"}


def test_seeding_twice_keeps_one_copy(engine: Engine) -> None:
    seed_demo(engine, "small")
    second = seed_demo(engine, "small")
    assert second.configuration == {}
    assert second.reports[1].inserted == 0
