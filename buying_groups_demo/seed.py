"""Load the synthetic demo CRM and the demo configuration into a database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, insert, select

from buying_groups.generation import GenerationReport, run_generation
from buying_groups.imports.loader import (
    ImportReport,
    import_accounts,
    import_activities,
    import_persons,
)
from buying_groups.storage.configuration_document import apply_document, read_document
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups.storage.tables import DemoPersonTruthRow, PersonRow, table_of
from buying_groups.storage.unit_of_work import SqlUnitOfWork
from buying_groups_demo.crm import DEMO_REFERENCE_DATE, DemoCRM, generate_demo_crm

DEMO_CONFIGURATION = Path(__file__).resolve().parent / "configuration.yaml"
#: (solution interest, audience) pairs whose groups the demo builds, so a new user sees groups.
DEMO_GENERATIONS = (
    ("Secure Edge", "All accounts"),
    ("Data Cloud", "All accounts"),
)
ProgressFactory = Callable[[str, int], Callable[[int], None]]


@dataclass
class SeedReport:
    """What seeding loaded."""

    reports: list[ImportReport] = field(default_factory=list)
    truths: int = 0
    configuration: dict[str, int] = field(default_factory=dict)
    generations: list[GenerationReport] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready summary."""
        counts = {
            r.entity: {"accepted": r.accepted, "rejected": len(r.rejected)} for r in self.reports
        }
        groups = {
            g.solution_interest: g.groups_created + g.groups_updated for g in self.generations
        }
        return {
            "imported": counts,
            "truths": self.truths,
            "configuration": self.configuration,
            "groups": groups,
        }


def shift_to_today(crm: DemoCRM, today: datetime) -> DemoCRM:
    """Move the activities so that their 30-day window ends today (engagement stays live)."""
    days = (today.astimezone(UTC).date() - DEMO_REFERENCE_DATE.date()).days
    activities = crm.activities.assign(
        occurred_at=crm.activities["occurred_at"] + pd.Timedelta(days=days)
    )
    return DemoCRM(crm.accounts, crm.persons, activities, crm.truth)


def seed_demo(
    engine: Engine,
    size: str = "small",
    seed: int = 7,
    *,
    progress: ProgressFactory | None = None,
    today: datetime | None = None,
    generate: bool = True,
) -> SeedReport:
    """Generate the demo CRM, import it, keep the truths, apply the demo configuration, and
    build the demo buying groups by the templates' rules (unless ``generate`` is False)."""
    crm = shift_to_today(generate_demo_crm(size, seed), today or datetime.now(UTC))
    report = SeedReport()
    steps = (
        ("accounts", import_accounts, crm.accounts),
        ("persons", import_persons, crm.persons),
        ("activities", import_activities, crm.activities),
    )
    for name, importer, frame in steps:
        advance = progress(f"loading {name}", len(frame)) if progress else None
        report.reports.append(importer(engine, frame, progress=advance))
    report.truths = store_truths(engine, crm.truth)
    report.configuration = apply_demo_configuration(engine)
    if generate:
        report.generations = [
            run_generation(SqlUnitOfWork(engine), solution_interest=interest, audience=audience)
            for interest, audience in DEMO_GENERATIONS
        ]
    return report


def store_truths(engine: Engine, truth: pd.DataFrame) -> int:
    """Keep each generated person's true function and seniority, apart from the CRM."""
    with engine.begin() as conn:
        found = conn.execute(select(PersonRow.external_id, PersonRow.id))
        ids = {ext: pk for ext, pk in found}
        rows = [
            {"person_id": ids[ext], "function": fn, "seniority": sen, "language": lang}
            for ext, fn, sen, lang in truth[
                ["person_external_id", "function", "seniority", "language"]
            ].itertuples(index=False, name=None)
            if ext in ids
        ]
        conn.execute(table_of(DemoPersonTruthRow).delete())
        if rows:
            conn.execute(insert(DemoPersonTruthRow), rows)
    return len(rows)


def apply_demo_configuration(engine: Engine) -> dict[str, int]:
    """Create the demo templates, interests and audiences unless some configuration exists."""
    with unit_of_work(make_session_factory(engine)) as session:
        if ConfigurationRepository(session).list_solution_interests():
            return {}
        return apply_document(session, read_document(DEMO_CONFIGURATION))
