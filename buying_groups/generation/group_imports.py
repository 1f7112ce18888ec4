"""Import buying-group members decided elsewhere (a third party's file), row by row.

Each row puts a person into an account's group of a solution interest, in a role, with
source ``import``, through ``MembershipService.assign`` (so precedence, events and scores
are the membership service's), then moves the group's stage and sets its status when the
row gives them and they differ. A row is one transaction: a row refused anywhere leaves
nothing behind, and the others still load. A member already in the row's role with source
``import`` is left alone (assign would store it again and emit a second event), so the same
file twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from buying_groups.domain.errors import DomainError, InvariantError
from buying_groups.domain.groups import Member, MemberSource
from buying_groups.generation.membership import MembershipService
from buying_groups.generation.ports import UnitOfWork
from buying_groups.imports.reports import FieldError, ImportReport, RejectedRow
from buying_groups.imports.sources import RawRow, Source, iter_rows
from buying_groups.input_files import shorten

#: Columns every file must have; ``stage`` and ``status`` are optional.
GROUP_IMPORT_COLUMNS = ("solution_interest", "account_external_id", "person_external_id", "role")

Progress = Callable[[int], None]


class GroupImportRow(BaseModel):
    """One imported member: who, in which account's group of which interest, in which role."""

    model_config = ConfigDict(frozen=True)

    solution_interest: str = Field(min_length=1, max_length=120)
    account_external_id: str = Field(min_length=1, max_length=100)
    person_external_id: str = Field(min_length=1, max_length=100)
    role: str = Field(min_length=1, max_length=80)
    stage: str | None = Field(default=None, max_length=120)
    status: str | None = None  # its length is the domain's rule (StatusTooLongError)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        # No database column holds a NUL; refused here, it is this row's error, not the batch's.
        if value is not None and "\x00" in value:
            raise ValueError("text must not hold NUL characters")
        return value


class GroupStages(Protocol):
    """Stage and status changes of a group (``storage.group_repository.GroupRepository``)."""

    def move_stage(self, account_external_id: str, solution_interest: str, target: str) -> object:
        """StageTransitionError or ConflictError when the move is refused."""
        ...

    def set_status(
        self, account_external_id: str, solution_interest: str, status: str | None
    ) -> object:
        """StatusTooLongError or ConflictError when refused."""
        ...


@dataclass
class GroupImportReport(ImportReport):
    """An import report that also counts rows that were already true."""

    unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (``unchanged`` added to the other imports' fields)."""
        return super().as_dict() | {"unchanged": self.unchanged}


class Outcome(Enum):
    """What one row did."""

    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class RowRefusedError(Exception):
    """A row was refused; ``field`` names the column to blame."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class GroupImportService:
    """Load imported members row by row, each row in its own transaction."""

    def __init__(self, uow: UnitOfWork, stages: Callable[[], GroupStages]) -> None:
        """Args:
        uow: a unit of work that owns its transactions (one per row).
        stages: the stage/status changer on the unit of work's open transaction.
        """
        self.uow = uow
        self.stages = stages

    def run(
        self, source: Source, *, encoding: str | None = None, progress: Progress | None = None
    ) -> GroupImportReport:
        """Import every row of ``source``; InputFileError if it cannot be read at all."""
        report = GroupImportReport("groups")
        for raw in iter_rows(source, GROUP_IMPORT_COLUMNS, encoding):
            self._import_row(raw, report)
            if progress:
                progress(1)
        return report

    def _import_row(self, raw: RawRow, report: GroupImportReport) -> None:
        shown = raw.values.get("person_external_id")
        if raw.error:
            report.reject(raw.line, shown, "", raw.error)
            return
        try:
            row = GroupImportRow.model_validate(raw.values)
            outcome = self.uow.retrying(lambda: self._apply(row))()
        except PydanticValidationError as exc:
            errors = [FieldError(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
            report.rejected.append(RejectedRow.of(raw.line, shown, errors))
            return
        except RowRefusedError as exc:
            report.reject(raw.line, shown, exc.field, exc.reason)
            return
        if outcome is Outcome.INSERTED:
            report.inserted += 1
        elif outcome is Outcome.UPDATED:
            report.updated += 1
        else:
            report.unchanged += 1

    def _apply(self, row: GroupImportRow) -> Outcome:
        with self.uow:
            member_outcome = self._member(row)
            group_changed = self._stage_and_status(row)
        if member_outcome is Outcome.UNCHANGED and group_changed:
            return Outcome.UPDATED
        return member_outcome

    def _member(self, row: GroupImportRow) -> Outcome:
        """Assign the row's member unless it already is one, in that role, by import."""
        current = self._current_member(row)
        if current is not None and _is_imported_in(current, row.role):
            return Outcome.UNCHANGED
        with _refused_as("person_external_id"):
            MembershipService(self.uow).assign(
                row.account_external_id,
                row.solution_interest,
                row.person_external_id,
                row.role,
                MemberSource.IMPORT,
                evidence={"by": MemberSource.IMPORT.value},
            )
        return Outcome.INSERTED if current is None else Outcome.UPDATED

    def _current_member(self, row: GroupImportRow) -> Member | None:
        """The person's member in the group as stored; each unknown value names its field."""
        configuration, memberships = self.uow.configuration, self.uow.memberships
        with _refused_as("solution_interest"):
            interest = configuration.interest_ref(row.solution_interest)
        with _refused_as("account_external_id"):
            account_id = memberships.account_id(row.account_external_id)
        if configuration.role(row.role) is None:
            raise RowRefusedError("role", f"role {shorten(row.role)!r} does not exist")
        if memberships.person(row.person_external_id) is None:
            reason = f"person {shorten(row.person_external_id)!r} does not exist"
            raise RowRefusedError("person_external_id", reason)
        group = memberships.group(account_id, interest)
        return None if group is None else group.entity.member(row.person_external_id)

    def _stage_and_status(self, row: GroupImportRow) -> bool:
        """Move the stage and set the status where the row differs from the group."""
        if row.stage is None and row.status is None:
            return False
        interest = self.uow.configuration.interest_ref(row.solution_interest)
        account_id = self.uow.memberships.account_id(row.account_external_id)
        group = self.uow.memberships.group(account_id, interest)
        assert group is not None  # the member's assignment created it
        changed = False
        if row.stage is not None and row.stage != group.entity.stage:
            with _refused_as("stage"):
                self.stages().move_stage(row.account_external_id, interest.name, row.stage)
            changed = True
        if row.status is not None and row.status != group.entity.status:
            with _refused_as("status"):
                self.stages().set_status(row.account_external_id, interest.name, row.status)
            changed = True
        return changed


def _is_imported_in(member: Member, role: str) -> bool:
    return (
        not member.is_removed
        and member.source is MemberSource.IMPORT
        and member.role.lower() == role.lower()
    )


@contextmanager
def _refused_as(field: str) -> Iterator[None]:
    """A domain error inside becomes a refused row blaming ``field`` (or the error's own)."""
    try:
        yield
    except DomainError as exc:
        named = exc.field if isinstance(exc, InvariantError) and exc.field else field
        raise RowRefusedError(named, str(exc)) from exc
