"""How buying groups are filtered and sorted when looking for what is missing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from buying_groups.domain.errors import InvariantError


class GroupFilter(BaseModel):
    """Conditions on buying groups; every condition given must hold.

    ``missing_roles`` is conjunctive: a group matches when it misses *every* listed role.
    A group misses a role when its template has a card for the role and fewer people are
    assigned to it than the card requires (or nothing was recorded for the role yet).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    solution_interest: str | None = None
    account_external_id: str | None = None
    #: Accounts whose name or external id contains this text (case-insensitive).
    account_search: str | None = Field(default=None, min_length=1, max_length=100)
    missing_roles: tuple[str, ...] = ()
    completeness_lt: float | None = Field(default=None, ge=0, le=100)
    completeness_gte: float | None = Field(default=None, ge=0, le=100)
    engagement_lt: float | None = Field(default=None, ge=0, le=100)
    engagement_gte: float | None = Field(default=None, ge=0, le=100)
    stage: str | None = None
    status: str | None = None
    include_deleted: bool = False

    @field_validator("missing_roles")
    @classmethod
    def _unique_roles(cls, roles: tuple[str, ...]) -> tuple[str, ...]:
        """Drop repeated roles (case-insensitive), keeping the first spelling."""
        seen: dict[str, str] = {}
        for role in roles:
            seen.setdefault(role.casefold(), role)
        return tuple(seen.values())

    @model_validator(mode="after")
    def _ranges_not_empty(self) -> GroupFilter:
        for name in ("completeness", "engagement"):
            low, high = getattr(self, f"{name}_gte"), getattr(self, f"{name}_lt")
            if low is not None and high is not None and low >= high:
                raise ValueError(f"{name}_gte ({low}) must be below {name}_lt ({high})")
        return self


class GroupSortKey(StrEnum):
    """What a listing of groups can be ordered by."""

    COMPLETENESS = "completeness"
    ENGAGEMENT = "engagement"
    UPDATED_AT = "updated_at"
    ACCOUNT = "account"


@dataclass(frozen=True)
class GroupSort:
    """A sort key and direction; ties are always broken by the group's id, ascending."""

    key: GroupSortKey = GroupSortKey.ACCOUNT
    descending: bool = False

    @classmethod
    def parse(cls, text: str) -> GroupSort:
        """Read ``"completeness"`` (ascending) or ``"-completeness"`` (descending)."""
        descending = text.startswith("-")
        name = text.removeprefix("-").removeprefix("+").strip()
        try:
            return cls(GroupSortKey(name), descending)
        except ValueError:
            keys = ", ".join(k.value for k in GroupSortKey)
            raise InvariantError(
                f"cannot sort groups by {name!r}; use one of {keys} (prefix - for descending)",
                field="sort",
            ) from None

    def __str__(self) -> str:
        return f"{'-' if self.descending else ''}{self.key.value}"
