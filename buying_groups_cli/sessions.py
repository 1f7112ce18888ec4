"""Database sessions for commands, and how their errors reach the user (stderr, exit 2).

``reported_errors`` is the one place that decides which failures a person can fix (bad
input, a domain rule, a missing store or schema) and says them in a line instead of a
traceback; the root command group (``reporting_group``) runs every command inside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from buying_groups.domain.errors import DomainError
from buying_groups.input_files import InputFileError
from buying_groups.settings import get_settings
from buying_groups.storage.database import (
    make_engine,
    make_session_factory,
    missing_table,
    unit_of_work,
)
from buying_groups_cli.entity_files import EntityFileError, describe_validation_error
from buying_groups_cli.output import fail


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
    except DomainError as exc:
        raise fail_plainly(prefix + describe(exc)) from exc
    except ValidationError as exc:
        raise fail_plainly(prefix + describe_validation_error(exc)) from exc
    except EntityFileError as exc:
        raise fail_plainly(prefix + str(exc)) from exc
    except InputFileError as exc:  # names its file already
        raise fail_plainly(str(exc)) from exc
    except OSError as exc:
        if exc.filename is None:
            raise
        raise fail_plainly(f"{exc.filename}: {exc.strerror or exc}") from exc
    except DBAPIError as exc:
        table = missing_table(exc)
        if table is None:
            raise
        raise fail_plainly(
            f"the database is not migrated (it has no table {table!r}): "
            "run `buying-groups db upgrade` first"
        ) from exc


@contextmanager
def reading() -> Iterator[Session]:
    """A session for a command that only reads; errors are reported."""
    factory = make_session_factory(make_engine(get_settings().database_url))
    with reported_errors(), factory() as session:
        yield session


@contextmanager
def writing(context: str = "") -> Iterator[Session]:
    """One transaction for a command that writes: all of it is stored, or nothing.

    Args:
        context: what the command writes (e.g. "role template 'X'"), to prefix errors with.
    """
    factory = make_session_factory(make_engine(get_settings().database_url))
    with reported_errors(context), unit_of_work(factory) as session:
        yield session
