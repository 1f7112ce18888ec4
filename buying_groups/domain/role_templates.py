"""Role templates: ordered role cards whose conditions assign people automatically."""

from __future__ import annotations

from enum import IntEnum, StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from buying_groups.domain.conditions import Condition
from buying_groups.domain.errors import ConflictError, InvariantError, TemplateFrozenError


class Weighting(IntEnum):
    """How much a role counts towards group engagement."""

    TRIVIAL = 20
    MINOR = 40
    NORMAL = 60
    IMPORTANT = 80
    VITAL = 100


class TemplateStatus(StrEnum):
    """A draft can be edited; a live template is frozen."""

    DRAFT = "draft"
    LIVE = "live"


class RoleCard(BaseModel):
    """One role in a template, with the conditions that assign people to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str = Field(min_length=1, max_length=80)
    weighting: Weighting = Weighting.NORMAL
    conditions: Condition | None = None
    members_required: int = Field(default=1, ge=1, le=100)
    required_for_completeness: bool = True

    @field_validator("weighting", mode="before")
    @classmethod
    def _weighting_by_name(cls, value: object) -> object:
        """Accept "Vital" as well as 100."""
        if isinstance(value, str) and not value.isdigit():
            try:
                return Weighting[value.strip().upper()]
            except KeyError:
                names = ", ".join(w.name.title() for w in Weighting)
                raise ValueError(f"unknown weighting {value!r}; use one of {names}") from None
        return value


class RoleTemplate(BaseModel):
    """A named, versioned set of role cards; card order is priority."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    status: TemplateStatus = TemplateStatus.DRAFT
    cards: tuple[RoleCard, ...] = ()

    @field_validator("cards")
    @classmethod
    def _one_card_per_role(cls, cards: tuple[RoleCard, ...]) -> tuple[RoleCard, ...]:
        """A role appears on at most one card, so completeness per role is well defined."""
        seen: set[str] = set()
        for card in cards:
            key = card.role.casefold()
            if key in seen:
                raise ValueError(f"role {card.role!r} appears on more than one card")
            seen.add(key)
        return cards

    def ensure_editable(self) -> None:
        """Raise if the template is live (frozen)."""
        if self.status is TemplateStatus.LIVE:
            raise TemplateFrozenError(f"template {self.name!r} is live; copy it to edit")

    def edit(self, **changes: object) -> RoleTemplate:
        """Return an edited draft; a live template refuses."""
        self.ensure_editable()
        if "status" in changes:
            raise InvariantError("status changes only through publish", field="status")
        data = self.model_dump() | changes
        return RoleTemplate.model_validate(data)

    def publish(self) -> RoleTemplate:
        """Make the draft live; it needs at least one card."""
        self.ensure_editable()
        if not self.cards:
            raise ConflictError(f"template {self.name!r} needs at least one role card to go live")
        return self.model_copy(update={"status": TemplateStatus.LIVE})

    def copy_as_draft(self, name: str) -> RoleTemplate:
        """Return an editable copy under a new name."""
        return self.model_copy(update={"name": name, "status": TemplateStatus.DRAFT})

    def ensure_deletable(self) -> None:
        """Only drafts can be deleted."""
        if self.status is TemplateStatus.LIVE:
            raise ConflictError(f"template {self.name!r} is live and cannot be deleted")

    def card_for(self, role: str) -> RoleCard | None:
        """The card of ``role``, if the template has one."""
        return next((c for c in self.cards if c.role.casefold() == role.casefold()), None)
