"""Database sessions for commands, and how their errors reach the user (stderr, exit 2).

``reported_errors`` is the one place that decides which failures a person can fix (bad
input, a domain rule, a missing store or schema) and says them in a line instead of a
traceback; the root command group (``reporting_group``) runs every command inside it.

Imported by every command, ``--help`` included: pydantic, SQLAlchemy and the storage layer
are imported only by the functions that use them (issue 16: CLI start).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeGuard

import typer

from buying_groups.domain.errors import DomainError
from buying_groups.input_files import InputFileError
from buying_groups_cli.entity_files import EntityFileError, describe_validation_error
from buying_groups_cli.output import fail

if TYPE_CHECKING:
    from pydantic import ValidationError
    from sqlalchemy.orm import Session


def describe(error: DomainError) -> str:
    """The error's message, with the field it concerns when the message does not say."""
    field = getattr(error, "field", None)
    message = str(error)
    return f"{field}: {message}" if field and field not in message else message


def fail_plainly(message: str, code: int = 2) -> typer.Exit:
    """``fail``: the message on stderr, unwrapped and without markup; the exit to raise."""
    return fail(message, code)


@contextmanager
def reported_errors(context: str = "") -> Iterator[None]:
    """Turn domain, validation, file and missing-schema errors into a message on stderr and
    exit code 2; anything else (a bug) keeps its traceback."""
    prefix = f"{context}: " if context else ""
    try:
        yield
    except Exception as exc:
        message = _fixable(exc, prefix)
        if message is None:
            raise
        raise fail_plainly(message) from exc


def _fixable(error: Exception, prefix: str) -> str | None:
    """What to tell a person about an error they can fix; None for a bug."""
    if isinstance(error, DomainError):
        return prefix + describe(error)
    if _is_validation_error(error):
        return prefix + describe_validation_error(error)
    if isinstance(error, EntityFileError):
        return prefix + str(error)
    if isinstance(error, InputFileError):  # names its file already
        return str(error)
    if isinstance(error, OSError):
        return None if error.filename is None else f"{error.filename}: {error.strerror or error}"
    table = _missing_table(error)
    if table is None:
        return None
    return (
        f"the database is not migrated (it has no table {table!r}): "
        "run `buying-groups db upgrade` first"
    )


# A library that was never imported cannot have raised its errors: checking sys.modules
# spares `--help` and every command that never touches it the import.
def _is_validation_error(error: Exception) -> TypeGuard[ValidationError]:
    if "pydantic_core" not in sys.modules:
        return False
    from pydantic import ValidationError

    return isinstance(error, ValidationError)


def _missing_table(error: Exception) -> str | None:
    if "sqlalchemy" not in sys.modules:
        return None
    from sqlalchemy.exc import DBAPIError

    from buying_groups.storage.database import missing_table

    return missing_table(error) if isinstance(error, DBAPIError) else None


@contextmanager
def reading() -> Iterator[Session]:
    """A session for a command that only reads; errors are reported."""
    from buying_groups.settings import get_settings
    from buying_groups.storage.database import make_engine, make_session_factory

    factory = make_session_factory(make_engine(get_settings().database_url))
    with reported_errors(), factory() as session:
        yield session


@contextmanager
def writing(context: str = "") -> Iterator[Session]:
    """One transaction for a command that writes: all of it is stored, or nothing.

    Args:
        context: what the command writes (e.g. "role template 'X'"), to prefix errors with.
    """
    from buying_groups.settings import get_settings
    from buying_groups.storage.database import make_engine, make_session_factory, unit_of_work

    factory = make_session_factory(make_engine(get_settings().database_url))
    with reported_errors(context), unit_of_work(factory) as session:
        yield session
