"""Rule-based generation throughput: persons per second end to end, storage included.

Run: `python benchmarks/generation_benchmark.py` (the `large` demo CRM: 50k accounts, 1M
persons) or `--short` (the `medium` one: 2k accounts, 50k persons; for CI).
Target (issue 3): >= 50,000 persons/s and <= 1 GiB peak RSS on 2 cores.

Seeding is not timed: the demo CRM is seeded once into a SQLite file under /tmp (in a
child process, so its memory does not count) and reused by later runs. Seeding `large`
through the importer takes minutes; the time is printed when it happens.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, delete, select

from buying_groups.domain.solution_interests import AccountAudience, AccountFilter, AudienceKind
from buying_groups.generation import GenerationReport, run_generation
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_engine, make_session_factory, unit_of_work, upgrade
from buying_groups.storage.tables import (
    BuyingGroupRow,
    EventRow,
    GenerationJobRow,
    PersonRow,
    SolutionInterestRow,
)
from buying_groups.storage.unit_of_work import SqlUnitOfWork
from buying_groups_demo.crm import DEMO_REFERENCE_DATE
from buying_groups_demo.seed import seed_demo

AUDIENCE = "Every account"
INTEREST = "Secure Edge"


def database_path(size: str) -> Path:
    """Where the seeded demo CRM of ``size`` is kept between runs."""
    return Path(tempfile.gettempdir()) / f"bg-generation-bench-{size}.db"


def seed(size: str) -> None:
    """Seed the demo CRM into a fresh file; renamed into place only once complete."""
    final = database_path(size)
    partial = final.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{partial}")
    upgrade(engine)
    started = time.perf_counter()
    # Activities keep their generated dates, so a fixed as_of sees a stable window.
    seed_demo(engine, size, today=DEMO_REFERENCE_DATE)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    partial.rename(final)
    print(f"seeded {size} in {time.perf_counter() - started:,.0f} s (not timed below)")


def prepare(engine: Engine) -> int:
    """An audience of every account; no groups of the interest yet. Returns the persons."""
    with unit_of_work(make_session_factory(engine)) as session:
        repository = ConfigurationRepository(session)
        if AUDIENCE not in {a.name for a in repository.list_audiences()}:
            audience = AccountAudience(
                name=AUDIENCE, kind=AudienceKind.FILTER, filter=AccountFilter()
            )
            repository.create_audience(audience)
        interest = session.scalar(
            select(SolutionInterestRow.id).where(SolutionInterestRow.name == INTEREST)
        )
        # Events first: events.group_id has no index, so deleting a group would scan the
        # outbox for rows to null out (a million events per previous run).
        session.execute(delete(EventRow).where(EventRow.solution_interest == INTEREST))
        session.execute(
            delete(BuyingGroupRow).where(BuyingGroupRow.solution_interest_id == interest)
        )
        session.execute(delete(GenerationJobRow))
        return len(session.scalars(select(PersonRow.id)).all())


def timed_run(engine: Engine) -> tuple[float, float, GenerationReport]:
    """Wall and CPU seconds of one job, and its report."""
    cpu = time.process_time()
    started = time.perf_counter()
    report = run_generation(
        SqlUnitOfWork(engine),
        solution_interest=INTEREST,
        audience=AUDIENCE,
        as_of=DEMO_REFERENCE_DATE,
    )
    return time.perf_counter() - started, time.process_time() - cpu, report


def main() -> None:
    """Seed if needed, then time a creation run and a maintenance rerun."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--short", action="store_true", help="the medium CRM, for CI")
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = "medium" if args.short else args.size
    if args.seed_only:
        seed(size)
        return
    if not database_path(size).exists():
        command = [sys.executable, __file__, "--size", size, "--seed-only"]
        subprocess.run(command, check=True)
    engine = make_engine(f"sqlite:///{database_path(size)}")
    # A file seeded by an older version lacks newer tables (the event outbox).
    upgrade(engine)
    persons = prepare(engine)
    for label in ("create", "rerun"):
        wall, cpu, report = timed_run(engine)
        print(
            f"generation {label} ({size}): {persons:,} persons in {wall:.2f} s = "
            f"{persons / wall:,.0f} persons/s; CPU {cpu:.2f} s = {persons / cpu:,.0f} "
            f"persons/CPU-s; groups +{report.groups_created} "
            f"~{report.groups_updated}; members +{report.members_added} "
            f"-{report.members_removed} ~{report.members_changed}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:,.0f} MiB ({engine.dialect.name})")


if __name__ == "__main__":
    main()
