"""Buying groups and their members, with the precedence rules between sources."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from buying_groups.domain.errors import MemberPrecedenceError, StatusTooLongError
from buying_groups.domain.stage_models import StageModel

MAX_STATUS_LENGTH = 50


class MemberSource(StrEnum):
    """Who put a member into a group (or took it out)."""

    RULE = "rule"
    MODEL = "model"
    IMPORT = "import"
    JOURNEY = "journey"
    MANUAL = "manual"


#: manual > journey > import > model/rule: a job never undoes a higher source's decision.
PRECEDENCE: dict[MemberSource, int] = {
    MemberSource.RULE: 1,
    MemberSource.MODEL: 1,
    MemberSource.IMPORT: 2,
    MemberSource.JOURNEY: 3,
    MemberSource.MANUAL: 4,
}


def may_override(existing: MemberSource, incoming: MemberSource) -> bool:
    """True when ``incoming`` may change what ``existing`` decided."""
    return PRECEDENCE[incoming] >= PRECEDENCE[existing]


class Member(BaseModel):
    """A person in a group, in a role, with how and why they got there."""

    model_config = ConfigDict(frozen=True)

    person_external_id: str = Field(min_length=1, max_length=100)
    role: str = Field(min_length=1, max_length=80)
    source: MemberSource
    confidence: float | None = Field(default=None, ge=0, le=1)
    evidence: dict[str, Any] = Field(default_factory=dict)
    is_removed: bool = False
    updated_at: datetime | None = None


class BuyingGroup(BaseModel):
    """One group per account x solution interest."""

    model_config = ConfigDict(frozen=True)

    account_external_id: str
    solution_interest: str
    template_name: str
    members: tuple[Member, ...] = ()
    stage: str | None = None
    status: str | None = None
    completeness: float = 0.0
    role_completeness: dict[str, float] = Field(default_factory=dict)
    engagement: float = 0.0
    is_deleted: bool = False

    @field_validator("status")
    @classmethod
    def _status_length(cls, status: str | None) -> str | None:
        check_status(status)
        return status

    def member(self, person_external_id: str) -> Member | None:
        """The member record of a person, removed or not."""
        return next((m for m in self.members if m.person_external_id == person_external_id), None)

    def active_members(self) -> list[Member]:
        """Members that are not removed."""
        return [m for m in self.members if not m.is_removed]

    def assign(self, incoming: Member) -> BuyingGroup:
        """Add or change a member, unless a higher source decided otherwise."""
        self._check_precedence(incoming, "change")
        others = tuple(
            m for m in self.members if m.person_external_id != incoming.person_external_id
        )
        return self.model_copy(update={"members": (*others, incoming)})

    def remove(self, person_external_id: str, source: MemberSource) -> BuyingGroup:
        """Mark a member removed; the removal carries ``source`` so jobs respect it."""
        current = self.member(person_external_id)
        if current is None or current.is_removed:
            return self
        removed = current.model_copy(update={"is_removed": True, "source": source})
        self._check_precedence(removed, "remove")
        return self.assign(removed)

    def _check_precedence(self, incoming: Member, verb: str) -> None:
        """MemberPrecedenceError when a higher source decided about the person."""
        current = self.member(incoming.person_external_id)
        if current is not None and not may_override(current.source, incoming.source):
            raise MemberPrecedenceError(
                f"person {incoming.person_external_id!r} was set by {current.source.value}; "
                f"{incoming.source.value} cannot {verb} it"
            )

    def with_status(self, status: str | None) -> BuyingGroup:
        """Return the group with a new free-text status (at most 50 characters)."""
        check_status(status)
        return self.model_copy(update={"status": status})

    def move_to_stage(self, stage_model: StageModel, target: str) -> BuyingGroup:
        """Return the group in ``target``, if the stage model allows the move."""
        stage_model.check_transition(self.stage, target)
        return self.model_copy(update={"stage": target})


def check_status(status: str | None) -> None:
    """Refuse a status longer than 50 characters."""
    if status is not None and len(status) > MAX_STATUS_LENGTH:
        raise StatusTooLongError(
            f"status has {len(status)} characters; at most {MAX_STATUS_LENGTH} are allowed",
            field="status",
        )
