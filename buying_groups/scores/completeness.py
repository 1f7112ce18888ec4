"""Completeness of a buying group: how many of the people each role needs are assigned.

Role completeness = ``min(assigned / members_required, 1) * 100``; group completeness = the
unrounded mean of role completeness over the cards marked ``required_for_completeness``.
A group whose template marks no card as required is complete (100): nothing is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Protocol

FULL: Final = 100.0


class CardRequirementLike(Protocol):
    """What completeness needs of a role card; the lead's RoleCard can be adapted to it."""

    @property
    def role(self) -> str:
        """The role's name, as used in ``assigned_by_role``."""
        ...

    @property
    def members_required(self) -> int:
        """How many people the role needs (>= 1)."""
        ...

    @property
    def required_for_completeness(self) -> bool:
        """Whether the role counts towards the group's completeness."""
        ...


@dataclass(frozen=True, slots=True)
class CardRequirement:
    """A role card reduced to what the scores read."""

    role: str
    members_required: int = 1
    required_for_completeness: bool = True
    weighting: int = 60


@dataclass(frozen=True, slots=True)
class GroupCompleteness:
    """Completeness of a group: overall (0-100, unrounded) and per role of every card."""

    overall: float
    per_role: Mapping[str, float]


def role_completeness(assigned: int, members_required: int) -> float:
    """``min(assigned / members_required, 1) * 100``.

    Raises:
        ValueError: ``members_required`` < 1 or ``assigned`` < 0.
    """
    if members_required < 1:
        raise ValueError(f"members_required must be at least 1, got {members_required}")
    if assigned < 0:
        raise ValueError(f"assigned must not be negative, got {assigned}")
    return min(assigned / members_required, 1.0) * FULL


def group_completeness(
    cards: Iterable[CardRequirementLike], assigned_by_role: Mapping[str, int]
) -> GroupCompleteness:
    """Completeness of one group from its template's cards and the members per role.

    Args:
        cards: the template's role cards (one per role).
        assigned_by_role: role name -> number of active members; absent roles count 0.

    Returns:
        The mean over required cards (100 when no card is required) and a score per card.
    """
    per_role: dict[str, float] = {}
    required: list[float] = []
    for card in cards:
        if card.role in per_role:
            raise ValueError(f"role {card.role!r} appears on more than one card")
        score = role_completeness(assigned_by_role.get(card.role, 0), card.members_required)
        per_role[card.role] = score
        if card.required_for_completeness:
            required.append(score)
    overall = sum(required) / len(required) if required else FULL
    return GroupCompleteness(overall=overall, per_role=MappingProxyType(per_role))
