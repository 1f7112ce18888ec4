"""What an import did: rows written, and every rejected row with its line, field and reason.

Kept apart from the loader (which writes with SQLAlchemy) so that services importing rows
through a unit of work (``generation.group_imports``) report in the same shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from buying_groups.input_files import shorten

#: Longest reason in a report; the values a reason quotes are cut shorter (``shorten``).
MAX_REASON = 300


@dataclass(frozen=True)
class FieldError:
    """One reason a row was refused."""

    field: str
    reason: str


@dataclass(frozen=True)
class RejectedRow:
    """A row that was not loaded, with where it was and why."""

    line: int
    external_id: str | None
    errors: tuple[FieldError, ...]

    @classmethod
    def of(cls, line: int, external_id: Any, errors: Iterable[FieldError]) -> RejectedRow:
        """The rejection as reported: the id as text, the id and reasons cut to a readable size.

        A rejected value is echoed back; a 1 MB id must not make a 1 MB report.
        """
        shown = None if external_id is None else shorten(external_id)
        cut = tuple(FieldError(shorten(e.field), shorten(e.reason, MAX_REASON)) for e in errors)
        return cls(line, shown, cut)


@dataclass
class ImportReport:
    """What an import did."""

    entity: str
    inserted: int = 0
    updated: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        """Rows written (inserted or updated)."""
        return self.inserted + self.updated

    def reject(self, line: int, external_id: str | None, field_name: str, reason: str) -> None:
        """Record one refused row."""
        self.rejected.append(RejectedRow.of(line, external_id, [FieldError(field_name, reason)]))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "entity": self.entity,
            "accepted": self.accepted,
            "inserted": self.inserted,
            "updated": self.updated,
            "rejected": [
                {
                    "line": r.line,
                    "external_id": r.external_id,
                    "errors": [{"field": e.field, "reason": e.reason} for e in r.errors],
                }
                for r in self.rejected
            ],
        }
