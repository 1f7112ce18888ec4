"""Turn the card matches of one group's persons into member changes, respecting precedence.

Pure functions over plain values: the job loads what is stored, asks here what to change,
and writes only that, so a rerun over unchanged data writes nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from buying_groups.assignment.rules import RULE_CONFIDENCE
from buying_groups.domain.groups import MemberSource, may_override
from buying_groups.scores.completeness import CardRequirement, group_completeness


@dataclass(frozen=True, slots=True)
class StoredMember:
    """A member row as the job needs it."""

    id: int
    person_id: int
    role_id: int
    source: str
    evidence: Mapping[str, Any] | None
    is_removed: bool


class Assignment(Protocol):
    """What assigns a person now: a rule's card match or a confident role model."""

    @property
    def role(self) -> str: ...

    @property
    def evidence(self) -> Mapping[str, Any]: ...

    @property
    def evidence_json(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def confidence(self) -> float: ...


@dataclass(frozen=True, slots=True)
class MemberWrite:
    """A job's member to insert (``member_id`` None) or to set active with a role."""

    member_id: int | None
    person_id: int
    role_id: int
    evidence_json: str
    source: str = MemberSource.RULE.value
    confidence: float = RULE_CONFIDENCE


@dataclass
class MemberPlan:
    """What a job changes in one group, the counts it reports, and the active roles after."""

    writes: list[MemberWrite] = field(default_factory=list)
    removals: list[int] = field(default_factory=list)
    added: int = 0
    changed: int = 0
    assigned_by_role: Counter[int] = field(default_factory=Counter)

    @property
    def removed(self) -> int:
        """Members the job marks removed."""
        return len(self.removals)

    @property
    def touches_members(self) -> bool:
        """Whether anything is written for this group's members."""
        return bool(self.writes or self.removals)


def reconcile_members(
    matches: Mapping[int, Assignment],
    stored: Iterable[StoredMember],
    role_ids: Mapping[str, int],
    owned: Collection[str] = (MemberSource.RULE.value,),
) -> MemberPlan:
    """Plan the member changes of one group.

    Args:
        matches: person id -> the card or model answer that assigns the person now
            (persons without one are absent).
        stored: the group's member rows, removed ones included.
        role_ids: role name -> role id.
        owned: the sources the job speaks for ("rule", "model" or both); members set by a
            higher source are never touched, and only members of an owned source are
            removed when nothing assigns them any more.

    Returns:
        The writes and removals, the counts, and the active members per role id afterwards.
    """
    plan = MemberPlan()
    seen: set[int] = set()
    for member in stored:
        seen.add(member.person_id)
        _plan_stored(plan, member, matches.get(member.person_id), role_ids, owned)
    for person_id, match in matches.items():
        if person_id not in seen:
            role_id = role_ids[match.role]
            plan.writes.append(_write(None, person_id, role_id, match))
            plan.added += 1
            plan.assigned_by_role[role_id] += 1
    return plan


def _write(member_id: int | None, person_id: int, role_id: int, match: Assignment) -> MemberWrite:
    return MemberWrite(
        member_id, person_id, role_id, match.evidence_json, match.source, match.confidence
    )


def _plan_stored(
    plan: MemberPlan,
    member: StoredMember,
    match: Assignment | None,
    role_ids: Mapping[str, int],
    owned: Collection[str],
) -> None:
    """Keep, change, re-add or remove one stored member."""
    # Rule and model share the lowest precedence: a job may change what either decided.
    if not may_override(MemberSource(member.source), MemberSource.RULE):
        if not member.is_removed:
            plan.assigned_by_role[member.role_id] += 1
        return
    if match is None:
        if member.source in owned and not member.is_removed:
            plan.removals.append(member.id)
        elif not member.is_removed:
            # Same precedence but a source the job does not own (a model member in a
            # rules job): kept.
            plan.assigned_by_role[member.role_id] += 1
        return
    role_id = role_ids[match.role]
    plan.assigned_by_role[role_id] += 1
    if _unchanged(member, role_id, match):
        return
    plan.writes.append(_write(member.id, member.person_id, role_id, match))
    if member.is_removed:
        plan.added += 1
    else:
        plan.changed += 1


def _unchanged(member: StoredMember, role_id: int, match: Assignment) -> bool:
    """Whether the stored member already says what the match says."""
    return (
        not member.is_removed
        and member.source == match.source
        and member.role_id == role_id
        and member.evidence == match.evidence
    )


@dataclass(frozen=True, slots=True)
class CardScore:
    """A template card as the scores and the group_roles rows need it."""

    role_id: int
    role: str
    weighting: int
    members_required: int
    required_for_completeness: bool


class GroupRoleValues(NamedTuple):
    """One group_roles row of a group (its card's completeness)."""

    role_id: int
    assigned: int
    required: int
    completeness: float
    required_for_completeness: bool


@dataclass(frozen=True, slots=True)
class GroupScores:
    """Completeness of one group, overall and per card (a group_roles row each).

    ``role_completeness_json`` is ``role_completeness`` as JSON text: GroupScorer shares one
    GroupScores per pattern of members, so it is serialised once per pattern, not per group.
    """

    completeness: float
    role_completeness: dict[str, float]
    roles: tuple[GroupRoleValues, ...]
    role_completeness_json: str = ""


def score_group(cards: Sequence[CardScore], assigned_by_role: Mapping[int, int]) -> GroupScores:
    """Completeness from the active members per role id.

    ``roles`` holds a GroupRoleValues per card, in card order.
    """
    requirements = [
        CardRequirement(c.role, c.members_required, c.required_for_completeness, c.weighting)
        for c in cards
    ]
    by_name = {c.role: assigned_by_role.get(c.role_id, 0) for c in cards}
    result = group_completeness(requirements, by_name)
    roles = tuple(
        GroupRoleValues(
            c.role_id,
            by_name[c.role],
            c.members_required,
            result.per_role[c.role],
            c.required_for_completeness,
        )
        for c in cards
    )
    per_role = dict(result.per_role)
    return GroupScores(result.overall, per_role, roles, json.dumps(per_role))


class GroupScorer:
    """score_group with a cache: groups with the same members per card score the same."""

    def __init__(self, cards: Sequence[CardScore]) -> None:
        self._cards = tuple(cards)
        self._cache: dict[tuple[int, ...], GroupScores] = {}

    def __call__(self, assigned_by_role: Mapping[int, int]) -> GroupScores:
        """The (shared, read-only) scores of a group with these active members per role id."""
        counts = tuple(assigned_by_role.get(c.role_id, 0) for c in self._cards)
        found = self._cache.get(counts)
        if found is None:
            found = self._cache[counts] = score_group(self._cards, assigned_by_role)
        return found
