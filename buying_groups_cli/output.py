"""How commands print: rich tables for people, JSON for machines, errors on stderr."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()
errors = Console(stderr=True)


def print_json(data: Any) -> None:
    """Machine-readable output on stdout."""
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table for people."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    console.print(table)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error on stderr and return the exit to raise.

    Brackets in names are not markup and long lines are not wrapped: field paths such as
    ``cards[0].role`` and file names must survive intact for people to search for them.
    """
    errors.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def progress_bar(
    description: str, total: int | None, quiet: bool = False
) -> Iterator[Callable[[int], None]]:
    """A progress bar (hidden with ``quiet``); yields a function that advances it."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=errors, disable=quiet, transient=False) as progress:
        task = progress.add_task(description, total=total)
        try:
            yield lambda n: progress.advance(task, n)
        except BaseException:
            # The error's one line replaces the bar: erased in a terminal, and in a log
            # neither the bar's last state nor Progress.stop's empty line is printed.
            progress.live.transient = True
            progress.live.stop()
            progress.disable = True
            raise


@contextmanager
def progress_bars(quiet: bool = False) -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """Several progress bars in one display; yields a factory (description, total) -> advance."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=errors, disable=quiet) as progress:

        def add(description: str, total: int) -> Callable[[int], None]:
            task = progress.add_task(description, total=total)
            return lambda n: progress.advance(task, n)

        yield add
