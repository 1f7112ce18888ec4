"""Import throughput: rows/s of `buying-groups import` next to a raw baseline of the same file.

For accounts, persons and activities (100k rows each; `--short`: 20k) the script writes a CSV
from the demo CRM, then measures in the same run:
- raw: csv.reader -> the driver's executemany of a plain INSERT into a table of the same
  columns (sqlite3; psycopg on PostgreSQL), one transaction: what any import must cost;
- insert / update: the CLI's import path (validation, rejection report, upsert) into a fresh
  schema, then again over the stored rows (every row an update);
and prints rows/s and the ratio to raw (issue 16: at least 0.2x). SQLite always;
PostgreSQL too with `--postgres URL` (or BG_TEST_DATABASE_URL), in a database of its own
(`<name>_import_bench`, created and dropped) so that no one else's data is touched.

Run: `make bench-import` or `python benchmarks/import_benchmark.py --short`.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, make_url

from buying_groups.imports.loader import (
    ImportReport,
    import_accounts,
    import_activities,
    import_persons,
)
from buying_groups.storage.database import make_engine, upgrade
from buying_groups_demo.crm import generate_demo_crm

ENTITIES = ("accounts", "persons", "activities")
IMPORTERS: dict[str, Callable[..., ImportReport]] = {
    "accounts": import_accounts,
    "persons": import_persons,
    "activities": import_activities,
}


def _copies(frame: pd.DataFrame, n: int, columns: tuple[str, ...]) -> pd.DataFrame:
    """``n`` rows of ``frame``, repeated; copy k suffixes its ids (and the ids they name)."""
    parts = []
    for copy in range(-(-n // len(frame))):
        part = frame.copy()
        for column in columns:
            part[column] = part[column].where(part[column].isna(), part[column] + f"-{copy}")
        parts.append(part)
    return pd.concat(parts, ignore_index=True).head(n)


def write_files(folder: Path, n: int) -> dict[str, Path]:
    """accounts.csv, persons.csv, activities.csv of ``n`` rows each; every reference resolves."""
    crm = generate_demo_crm("medium", seed=11)
    accounts = _copies(crm.accounts, n, ("external_id", "parent_external_id"))
    accounts["products_owned"] = accounts["products_owned"].map(";".join)
    account_copies = -(-n // len(crm.accounts))
    persons = _copies(crm.persons, n, ("external_id",))
    # Copy k of the persons works at copy k (modulo their number) of the accounts.
    copy_of = (persons.index // len(crm.persons)) % account_copies
    persons["account_external_id"] += "-" + copy_of.astype(str)
    # Activities of the first copy of the persons, copied with fresh ids.
    activities = _copies(crm.activities, n, ("external_id",))
    activities["person_external_id"] += "-0"
    files = {}
    for name, frame in (("accounts", accounts), ("persons", persons), ("activities", activities)):
        files[name] = folder / f"{name}.csv"
        frame.to_csv(files[name], index=False)
    return files


def raw_sqlite(path: Path, folder: Path) -> int:
    """csv.reader -> sqlite3 executemany INSERT, one transaction; the rows written."""
    connection = sqlite3.connect(folder / f"raw-{path.stem}.db")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        columns = ", ".join(header)
        connection.execute(f"CREATE TABLE raw ({columns}, UNIQUE (external_id))")
        marks = ", ".join("?" * len(header))
        cursor = connection.executemany(f"INSERT INTO raw ({columns}) VALUES ({marks})", reader)
    connection.commit()
    written = cursor.rowcount
    connection.close()
    return written


def raw_postgresql(path: Path, url: str) -> int:
    """csv.reader -> psycopg executemany INSERT, one transaction; the rows written."""
    import psycopg

    with psycopg.connect(url) as connection, path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        columns = ", ".join(header)
        types = ", ".join(f"{c} text" for c in header)
        connection.execute(f"DROP TABLE IF EXISTS raw_{path.stem}")
        connection.execute(f"CREATE TABLE raw_{path.stem} ({types}, UNIQUE (external_id))")
        marks = ", ".join(["%s"] * len(header))
        rows = [[v or None for v in row] for row in reader]
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO raw_{path.stem} ({columns}) VALUES ({marks})", rows)
        return len(rows)


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def bench_database(url: str) -> Iterator[str]:
    """A fresh database beside the one ``url`` names, dropped afterwards; its URL."""
    import psycopg

    given = make_url(url)
    name = f"{given.database}_import_bench"
    admin = _libpq_url(url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield given.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_backend(
    label: str, engine: Engine, files: dict[str, Path], raw: Callable[[Path], int]
) -> None:
    """Raw baseline, import, re-import for each entity; one line each with the ratio."""
    upgrade(engine)
    for entity in ENTITIES:
        path, importer = files[entity], IMPORTERS[entity]
        started = time.perf_counter()
        written = raw(path)
        raw_rate = written / (time.perf_counter() - started)
        print(f"{label} {entity} raw executemany: {written:,} rows = {raw_rate:,.0f} rows/s")
        for run in ("insert", "update"):
            started = time.perf_counter()
            report = importer(engine, path)
            rate = report.accepted / (time.perf_counter() - started)
            print(
                f"{label} {entity} import ({run}): {report.accepted:,} rows = {rate:,.0f} rows/s; "
                f"rejected {len(report.rejected)}; {rate / raw_rate:.2f}x raw"
            )
    engine.dispose()


def main() -> None:
    """Print raw, insert and update rows/s and their ratios, SQLite and PostgreSQL."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="rows per entity")
    parser.add_argument("--short", action="store_true", help="20k rows, for CI")
    # Benchmarks are scripts, not the product: the test database's variable is read here.
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BG_TEST_DATABASE_URL"),
        help="a PostgreSQL URL (default: BG_TEST_DATABASE_URL)",
    )
    args = parser.parse_args()
    n = 20_000 if args.short else args.rows
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        files = write_files(folder, n)
        engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
        run_backend("sqlite", engine, files, lambda path: raw_sqlite(path, folder))
        if args.postgres:
            with bench_database(args.postgres) as url:
                engine = make_engine(url)
                run_backend(
                    "postgresql", engine, files, lambda path: raw_postgresql(path, _libpq_url(url))
                )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
