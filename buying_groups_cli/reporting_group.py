"""The root group of ``buying-groups``: every command runs inside ``reported_errors``.

Input a person can fix (a file in another encoding, a missing column, an unknown model, a
database before ``db upgrade``) is answered by one line on stderr and exit code 2 from this
one place, instead of a try/except in each command.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup

from buying_groups_cli.sessions import reported_errors


class ReportingGroup(TyperGroup):
    """A Typer group whose subcommands' fixable errors become one line and exit code 2."""

    # ``Any``: the click Context type that Typer now vendors is private (typer._click).
    def invoke(self, ctx: Any) -> Any:
        """Run the chosen subcommand; report what ``reported_errors`` knows."""
        with reported_errors():
            return super().invoke(ctx)
