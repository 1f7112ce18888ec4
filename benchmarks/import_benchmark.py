"""Import throughput: persons per second from CSV into a fresh SQLite (or DATABASE_URL) database.

Run: `make bench-import` (100k persons) or `python benchmarks/import_benchmark.py --short`.
Target (issue 2): >= 20,000 rows/s into SQLite for 100k persons.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd

from buying_groups.demo.crm import generate_demo_crm
from buying_groups.imports.loader import import_accounts, import_persons
from buying_groups.storage.database import make_engine, upgrade


def persons_frame(n_persons: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Demo accounts and ``n_persons`` demo persons (copies get fresh external ids)."""
    crm = generate_demo_crm("medium", seed=11)
    copies = []
    for copy in range(-(-n_persons // len(crm.persons))):
        frame = crm.persons.copy()
        frame["external_id"] = frame["external_id"] + f"-{copy}"
        copies.append(frame)
    return crm.accounts, pd.concat(copies, ignore_index=True).head(n_persons)


def main() -> None:
    """Print rows/s for a CSV import and a re-import (all updates)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--short", action="store_true", help="20k persons, for CI")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    n = 20_000 if args.short else args.persons
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade(engine)
        accounts, persons = persons_frame(n)
        import_accounts(engine, accounts)
        csv = Path(folder) / "persons.csv"
        persons.to_csv(csv, index=False)
        for label in ("insert", "update"):
            started = time.perf_counter()
            report = import_persons(engine, csv)
            seconds = time.perf_counter() - started
            print(
                f"import persons ({label}): {report.accepted:,} rows in {seconds:.2f} s = "
                f"{report.accepted / seconds:,.0f} rows/s; rejected {len(report.rejected)}"
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS: {peak:,.0f} MiB ({engine.dialect.name})")


if __name__ == "__main__":
    main()
