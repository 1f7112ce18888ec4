"""Upsert many rows by external id: ``COPY`` into a temporary table on PostgreSQL,
``executemany`` of ``INSERT ... ON CONFLICT`` on SQLite; either way one statement per chunk.

Measured on 100k persons (benchmarks/import_benchmark.py): PostgreSQL's ``executemany``
sends a statement per row, ``COPY`` streams them and one ``INSERT ... SELECT`` upserts them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, Table, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from buying_groups.storage.bulk import execute_many

if TYPE_CHECKING:
    import psycopg


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """Insert or update ``rows`` (dicts with the same keys, unique ``external_id``s).

    Returns:
        How many rows were new (the others updated a stored row).
    """
    if conn.dialect.name == "postgresql":
        return _copy_upsert(conn, table, rows)
    existing = existing_ids(conn, table, [r["external_id"] for r in rows])
    _executemany_upsert(conn, table, rows)
    return len(rows) - len(existing)


def existing_ids(conn: Connection, table: Table, external_ids: Sequence[str]) -> dict[str, int]:
    """The stored ids of those external ids that are stored."""
    found = conn.execute(
        select(table.c.external_id, table.c.id).where(table.c.external_id.in_(external_ids))
    )
    return {ext: pk for ext, pk in found.tuples()}


def _executemany_upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT (external_id) DO UPDATE, compiled once, the driver's executemany.

    SQLAlchemy's per-row parameter handling cost more than the database itself (8k -> 20k+
    rows/s into SQLite), hence ``execute_many``.
    """
    columns = list(rows[0])
    insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    values: dict[str, Any] = {c: bindparam(c) for c in columns}
    stamped = "updated_at" in table.c
    if stamped:
        values |= {"created_at": func.now(), "updated_at": func.now()}
    statement = insert(table).values(values)
    updates: dict[str, Any] = {c: statement.excluded[c] for c in columns if c != "external_id"}
    if stamped:
        updates["updated_at"] = func.now()
    statement = statement.on_conflict_do_update(index_elements=[table.c.external_id], set_=updates)
    execute_many(conn, statement, rows)


def _copy_upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """COPY the rows into a temporary copy of the table, then upsert them in one statement."""
    columns = list(rows[0])
    staging = f"bg_import_{table.name}"
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    stamped = "updated_at" in table.c
    updates = [f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns if c != "external_id"]
    inserted_names, selected = names, names
    if stamped:
        inserted_names += ", created_at, updated_at"
        selected += ", now(), now()"
        updates.append("updated_at = now()")
    raw = cast("psycopg.Connection[Any]", conn.connection.dbapi_connection)
    with raw.cursor() as cursor:
        # Only the columns, typed like the table's (no constraints, defaults or sequence).
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "
            f"SELECT {names} FROM {quote(table.name)} WITH NO DATA"
        )
        convert = _converters(conn, table, columns)
        with cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([f(row[c]) if f else row[c] for c, f in convert])
        # xmax is 0 only in a row version this statement inserted (not one it updated).
        cursor.execute(
            f"INSERT INTO {quote(table.name)} ({inserted_names}) "
            f"SELECT {selected} FROM {staging} "
            f"ON CONFLICT (external_id) DO UPDATE SET {', '.join(updates)} "
            "RETURNING (xmax = 0)"
        )
        inserted = sum(1 for (new,) in cursor.fetchall() if new)
    return inserted


Converter = Callable[[Any], Any]


def _converters(
    conn: Connection, table: Table, columns: Sequence[str]
) -> list[tuple[str, Converter | None]]:
    """Each column's bind processor (JSON to text...), as SQLAlchemy would apply it."""
    dialect = conn.dialect
    return [(c, table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) for c in columns]
