"""Upsert accounts, persons and activities by external id, reporting every rejected row.

A bad row never stops the good ones: rows are validated a chunk at a time (one pydantic
call; the rows it refuses are reported one by one), then written in chunks, each chunk in
one transaction and one bulk upsert (``upserts``). If the database refuses a chunk, it is
retried row by row so that only the offending rows are rejected and nothing is half-written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from itertools import islice
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import Engine, Table, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from buying_groups.domain.accounts import Account, find_cycle
from buying_groups.domain.persons import Activity, Person
from buying_groups.imports.reports import FieldError, ImportReport, RejectedRow
from buying_groups.imports.sources import RawRow, Source, iter_rows
from buying_groups.imports.upserts import existing_ids, upsert
from buying_groups.input_files import shorten
from buying_groups.storage.tables import AccountRow, ActivityRow, PersonRow, table_of

M = TypeVar("M", bound=BaseModel)

Progress = Callable[[int], None]


@dataclass(frozen=True)
class _Valid:
    line: int
    external_id: str
    values: dict[str, Any]


def _validate_chunk(
    raws: Sequence[RawRow], model: type[M], report: ImportReport
) -> list[tuple[int, M]]:
    """The valid rows of a chunk as models, with their lines; each refused row is reported.

    One pydantic call validates the whole chunk (a call per row cost a third more); if it
    refuses rows, their errors (located by list index) are reported and the others are
    validated again, at once.
    """
    refused: dict[int, list[FieldError]] = {
        i: [FieldError("", raw.error)] for i, raw in enumerate(raws) if raw.error
    }
    readable = [i for i in range(len(raws)) if i not in refused]
    try:
        models = _list_of(model).validate_python([raws[i].values for i in readable])
    except PydanticValidationError as exc:
        refused |= {readable[n]: errors for n, errors in _row_errors(exc).items()}
        readable = [i for i in readable if i not in refused]
        models = _list_of(model).validate_python([raws[i].values for i in readable])
    for index in sorted(refused):  # reported in the file's order
        raw = raws[index]
        report.rejected.append(
            RejectedRow.of(raw.line, raw.values.get("external_id"), refused[index])
        )
    return [(raws[i].line, m) for i, m in zip(readable, models, strict=True)]


@cache
def _list_of(model: type[M]) -> TypeAdapter[list[M]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _row_errors(error: PydanticValidationError) -> dict[int, list[FieldError]]:
    """A list's validation errors by row index; each error's field path within its row."""
    by_row: dict[int, list[FieldError]] = {}
    for problem in error.errors():
        index, *path = problem["loc"]
        field_path = ".".join(str(p) for p in path)
        by_row.setdefault(int(index), []).append(FieldError(field_path, problem["msg"]))
    return by_row


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _last_per_key(rows: list[_Valid], report: ImportReport) -> list[_Valid]:
    """Within one chunk the last row for an external id wins (like a sequence of upserts)."""
    latest: dict[str, _Valid] = {}
    for row in rows:
        latest[row.external_id] = row
    report.updated += len(rows) - len(latest)
    return list(latest.values())


def _write_chunk(engine: Engine, table: Table, rows: list[_Valid], report: ImportReport) -> None:
    """Write a chunk in one transaction; fall back to one transaction per row if refused."""
    try:
        with engine.begin() as conn:
            inserted = upsert(conn, table, [r.values for r in rows])
    except (IntegrityError, DBAPIError):
        for row in rows:
            _write_one(engine, table, row, report)
        return
    report.inserted += inserted
    report.updated += len(rows) - inserted


def _write_one(engine: Engine, table: Table, row: _Valid, report: ImportReport) -> None:
    try:
        with engine.begin() as conn:
            inserted = upsert(conn, table, [row.values])
    except (IntegrityError, DBAPIError) as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        report.reject(row.line, row.external_id, "", f"refused by the database: {reason}")
        return
    report.inserted += inserted
    report.updated += 1 - inserted


# --- accounts -------------------------------------------------------------------------------

ACCOUNT_COLUMNS = ("external_id", "name")


def import_accounts(
    engine: Engine,
    source: Source,
    *,
    chunk_size: int = 5000,
    progress: Progress | None = None,
    encoding: str | None = None,
) -> ImportReport:
    """Upsert accounts; parents may be in the file or already stored; cycles are refused."""
    report = ImportReport("accounts")
    rows: dict[str, tuple[int, Account]] = {}
    for chunk in _chunks(iter_rows(source, ACCOUNT_COLUMNS, encoding), chunk_size):
        for line, account in _validate_chunk(chunk, Account, report):
            if account.external_id in rows:
                report.updated += 1
            rows[account.external_id] = (line, account)
    _drop_bad_parents(engine, rows, report)
    for level in _levels(rows):
        for chunk in _chunks(level, chunk_size):
            _write_accounts(engine, chunk, report)
            if progress:
                progress(len(chunk))
    return report


def _stored_parents(engine: Engine) -> dict[str, str | None]:
    child, parent = table_of(AccountRow).alias("child"), table_of(AccountRow).alias("parent")
    query = select(child.c.external_id, parent.c.external_id).outerjoin(
        parent, child.c.parent_id == parent.c.id
    )
    with engine.connect() as conn:
        return {c: p for c, p in conn.execute(query).tuples()}


def _drop_bad_parents(
    engine: Engine, rows: dict[str, tuple[int, Account]], report: ImportReport
) -> None:
    """Reject rows whose parent is unknown or that would close a cycle."""
    parents = _stored_parents(engine)
    for ext, (line, account) in list(rows.items()):
        parent = account.parent_external_id
        if parent is not None and parent not in rows and parent not in parents:
            reason = f"unknown parent account {shorten(parent)!r}"
            report.reject(line, ext, "parent_external_id", reason)
            del rows[ext]
    parents.update({ext: acc.parent_external_id for ext, (_, acc) in rows.items()})
    while cycle := find_cycle(parents):
        chain = shorten(" -> ".join([*cycle, cycle[0]]), 200)
        for ext in (e for e in cycle if e in rows):
            line, _ = rows.pop(ext)
            report.reject(line, ext, "parent_external_id", f"would create a cycle: {chain}")
            parents.pop(ext, None)
        if not any(e in rows for e in cycle):
            parents.update(dict.fromkeys(cycle))


def _levels(rows: dict[str, tuple[int, Account]]) -> list[list[_Valid]]:
    """Group rows so that every parent in the file is written before its children."""
    depth: dict[str, int] = {}

    def depth_of(ext: str) -> int:
        if ext not in depth:
            parent = rows[ext][1].parent_external_id
            depth[ext] = depth_of(parent) + 1 if parent in rows else 0
        return depth[ext]

    levels: dict[int, list[_Valid]] = {}
    for ext, (line, account) in rows.items():
        values = dict(vars(account))  # plain values (model_dump costs more)
        values["products_owned"] = list(account.products_owned)
        levels.setdefault(depth_of(ext), []).append(_Valid(line, ext, values))
    return [levels[d] for d in sorted(levels)]


def _write_accounts(engine: Engine, chunk: list[_Valid], report: ImportReport) -> None:
    table = table_of(AccountRow)
    parent_ids = {p for r in chunk if (p := r.values.get("parent_external_id"))}
    with engine.connect() as conn:
        found = existing_ids(conn, table, sorted(parent_ids)) if parent_ids else {}
    ready = []
    for row in chunk:
        values = dict(row.values)
        parent = values.pop("parent_external_id")
        if parent is not None and parent not in found:
            report.reject(row.line, row.external_id, "parent_external_id", "parent was rejected")
            continue
        values["parent_id"] = found.get(parent) if parent else None
        ready.append(_Valid(row.line, row.external_id, values))
    if ready:
        _write_chunk(engine, table, ready, report)


# --- persons ---------------------------------------------------------------------------------

PERSON_COLUMNS = ("external_id", "account_external_id")


def import_persons(
    engine: Engine,
    source: Source,
    *,
    chunk_size: int = 5000,
    progress: Progress | None = None,
    encoding: str | None = None,
) -> ImportReport:
    """Upsert persons; each must belong to a stored account."""
    report = ImportReport("persons")
    table = table_of(AccountRow)
    for chunk in _chunks(iter_rows(source, PERSON_COLUMNS, encoding), chunk_size):
        people = _validate_chunk(chunk, Person, report)
        with engine.connect() as conn:
            accounts = existing_ids(conn, table, sorted({p.account_external_id for _, p in people}))
        valid = []
        for line, person in people:
            account_id = accounts.get(person.account_external_id)
            if account_id is None:
                reason = f"unknown account {shorten(person.account_external_id)!r}"
                report.reject(line, person.external_id, "account_external_id", reason)
                continue
            # The fields as validated: Person's are all plain values (model_dump costs more).
            values = dict(vars(person))
            del values["account_external_id"]
            values["account_id"] = account_id
            valid.append(_Valid(line, person.external_id, values))
        if valid:
            _write_chunk(engine, table_of(PersonRow), _last_per_key(valid, report), report)
        if progress:
            progress(len(chunk))
    return report


# --- activities ------------------------------------------------------------------------------

ACTIVITY_COLUMNS = ("person_external_id", "type", "occurred_at")


def activity_key(activity: Activity) -> str:
    """The activity's external id, or a stable one derived from what it says."""
    if activity.external_id:
        return activity.external_id
    moment = _utc(activity.occurred_at).isoformat()
    text = f"{activity.person_external_id}|{activity.type.value}|{moment}"
    return "sha1:" + hashlib.sha1(text.encode()).hexdigest()


def _utc(moment: datetime) -> datetime:
    """Naive times are taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def import_activities(
    engine: Engine,
    source: Source,
    *,
    chunk_size: int = 5000,
    progress: Progress | None = None,
    encoding: str | None = None,
) -> ImportReport:
    """Upsert activities; each must belong to a stored person."""
    report = ImportReport("activities")
    for chunk in _chunks(iter_rows(source, ACTIVITY_COLUMNS, encoding), chunk_size):
        acts = _validate_chunk(chunk, Activity, report)
        with engine.connect() as conn:
            wanted = sorted({a.person_external_id for _, a in acts})
            persons = existing_ids(conn, table_of(PersonRow), wanted)
        valid = []
        for line, act in acts:
            person_id = persons.get(act.person_external_id)
            key = activity_key(act)
            if person_id is None:
                reason = f"unknown person {shorten(act.person_external_id)!r}"
                report.reject(line, key, "person_external_id", reason)
                continue
            values = {
                "external_id": key,
                "person_id": person_id,
                "type": act.type.value,
                "occurred_at": _utc(act.occurred_at),
            }
            valid.append(_Valid(line, key, values))
        if valid:
            _write_chunk(engine, table_of(ActivityRow), _last_per_key(valid, report), report)
        if progress:
            progress(len(chunk))
    return report
