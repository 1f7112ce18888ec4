"""Database sessions for commands, and how their errors reach the user (stderr, exit 2)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from rich.markup import escape
from sqlalchemy.orm import Session

from buying_groups.domain.errors import DomainError
from buying_groups.settings import get_settings
from buying_groups.storage.database import make_engine, make_session_factory, unit_of_work
from buying_groups_cli.entity_files import EntityFileError, describe_validation_error
from buying_groups_cli.output import errors


def describe(error: DomainError) -> str:
    """The error's message, with the field it concerns when the message does not say."""
    field = getattr(error, "field", None)
    message = str(error)
    return f"{field}: {message}" if field and field not in message else message


def fail_plainly(message: str, code: int = 2) -> typer.Exit:
    """Like ``fail``, but brackets in names are not markup and long lines are not wrapped.

    Field paths such as ``cards[0].role`` must survive intact for people to search for them.
    """
    errors.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def reported_errors(context: str = "") -> Iterator[None]:
    """Turn domain, validation and file errors into a message on stderr and exit code 2."""
    prefix = f"{context}: " if context else ""
    try:
        yield
    except DomainError as exc:
        raise fail_plainly(prefix + describe(exc)) from exc
    except ValidationError as exc:
        raise fail_plainly(prefix + describe_validation_error(exc)) from exc
    except EntityFileError as exc:
        raise fail_plainly(prefix + str(exc)) from exc


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
