"""Typed domain errors: the edge (API, CLI) maps them to status codes and exit codes."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    title = "Domain rule violated"


class NotFoundError(DomainError):
    """Something looked up by id or name does not exist."""

    title = "Not found"


class ConflictError(DomainError):
    """The request is valid on its own but conflicts with the current state."""

    title = "Conflict"


class InvariantError(DomainError):
    """A value breaks a rule of the domain (a bad field, a forbidden change)."""

    title = "Invalid value"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AccountHierarchyError(InvariantError):
    """An account's parent chain would form a cycle or point at itself."""


class RoleCatalogueError(InvariantError):
    """A change to the role catalogue is not allowed (built-in role, too many roles)."""


class TemplateFrozenError(ConflictError):
    """A live role template cannot be edited; copy it instead."""


class StatusTooLongError(InvariantError):
    """A buying group's status is longer than the allowed 50 characters."""


class StageTransitionError(ConflictError):
    """A buying group may not move from one stage to another."""


class MemberPrecedenceError(ConflictError):
    """A lower-precedence source tried to undo what a higher one decided."""
