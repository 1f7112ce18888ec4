"""Which role card assigns a person: the first card, in priority order, whose conditions match.

Conditions see every attribute of the person (:func:`~buying_groups.assignment.facts.person_facts`):
the CRM's, the engagement score and what the models infer from the title, when the matcher
is handed :class:`~buying_groups.assignment.insights.TitleInsights`.

Titles repeat heavily (a million persons share tens of thousands of titles), so a match is
computed once per *class* of persons and cached. A class is the tuple of the attributes the
template's conditions actually read, with the engagement score reduced to its position
among the thresholds the conditions compare it with: every comparison has the same outcome
for every score in one position, so the cached result is exact, not an approximation.
"""

from __future__ import annotations

import copy
import json
from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from buying_groups.assignment.facts import (
    CRM_TEXT_ATTRIBUTES,
    INFERRED_ATTRIBUTES,
    NO_INSIGHT,
    TitleInsight,
    email_domain,
    person_facts,
)
from buying_groups.assignment.insights import TitleInsights
from buying_groups.domain.conditions import (
    AttributeCondition,
    CompiledCondition,
    Condition,
    FiredLeaf,
    PersonFacts,
    compile_condition,
)
from buying_groups.domain.role_templates import RoleCard

RULE_CONFIDENCE: Final = 1.0


#: A person as the driver returns it: (person_id, account_id, job_title, department,
#: country, email). Kept a plain tuple: a million are read per job, and only the few
#: persons whose class is new are turned into PersonFacts.
PersonFields = tuple[int, int, str | None, str | None, str | None, str | None]
_FIELD_OF: Final = MappingProxyType(
    {"job_title": 2, "department": 3, "country": 4, "email_domain": 5}
)


@dataclass(frozen=True, slots=True)
class CardMatch:
    """A card assigned a person: the card's position and role, and the evidence as JSON text.

    ``evidence_json`` is serialised once per class of persons and written as is; ``source``
    and ``confidence`` are those of every rule member (a model match has its own).
    """

    position: int
    role: str
    evidence: dict[str, Any]
    evidence_json: str
    source: str = "rule"
    confidence: float = RULE_CONFIDENCE


@dataclass(frozen=True, slots=True)
class _CompiledCard:
    position: int
    role: str
    condition: CompiledCondition
    reads_engagement: bool
    # Fired leaves -> the match: a card has only a few distinct explanations, and building
    # and serialising the evidence per class of persons cost about 1 s per 40k classes.
    matches: dict[tuple[FiredLeaf, ...], CardMatch] = field(default_factory=dict, compare=False)

    def evaluate(self, facts: PersonFacts) -> CardMatch | None:
        """The match with its evidence, if the card's condition holds."""
        result = self.condition.evaluate(facts)
        if result is None:
            return None
        found = self.matches.get(result.fired)
        if found is None:
            evidence = {
                "card": self.position,
                "role": self.role,
                "fired": [{"path": f.path, "description": f.description} for f in result.fired],
                "condition": result.summary,
            }
            found = CardMatch(self.position, self.role, evidence, json.dumps(evidence))
            self.matches[result.fired] = found
        return found


# Per class of CRM text: the text-only card that matched (evaluation stops there) and the
# engagement-reading cards before it, which are evaluated again per engagement bucket.
_TextPlan = tuple["CardMatch | _CompiledCard", ...]


class RuleMatcher:
    """First-matching-card assignment for one template, cached per class of persons.

    Args:
        cards: the template's cards in priority order (cards without conditions never fire).
        insights: what the models infer per title; cards testing function, seniority,
            persona or a role probability see it (without it those attributes are absent,
            and such cards do not fire).
    """

    def __init__(self, cards: Sequence[RoleCard], insights: TitleInsights | None = None) -> None:
        self._cards = tuple(
            _CompiledCard(
                position,
                card.role,
                compile_condition(card.conditions),
                any(leaf.attribute == "engagement_score" for leaf in _leaves(card.conditions)),
            )
            for position, card in enumerate(cards)
            if card.conditions is not None
        )
        leaves = [leaf for c in self._cards for leaf in _leaves(c.condition.condition)]
        used = {leaf.attribute for leaf in leaves}
        #: Whether a card tests what the models infer from the title (then the title is
        #: part of every class of persons, and insights are predicted per batch).
        self.reads_inferred = bool(used & set(INFERRED_ATTRIBUTES))
        if self.reads_inferred:
            used.add("job_title")
        self._insights = insights if self.reads_inferred else None
        self.uses_patterns = any(leaf.operator == "matches" for leaf in leaves)
        self._plans: dict[Hashable, _TextPlan] = {}
        self._thresholds = _engagement_thresholds(leaves)
        self._uses_engagement = "engagement_score" in used
        self.attributes: tuple[str, ...] = tuple(a for a in CRM_TEXT_ATTRIBUTES if a in used)
        self._key_of = _key_function(self.attributes)
        self._cache: dict[Hashable, CardMatch | None] = {}
        self._class_of: Callable[[PersonFields, float | None], Hashable] = (
            self._class_with_engagement
        )
        if not self._uses_engagement:
            # Engagement is not read: the text alone is the class (no tuple, no bisect).
            key_of = self._key_of
            self._class_of = lambda person, _engagement: key_of(person)

    def bound_to(self, insights: TitleInsights | None) -> RuleMatcher:
        """The same compiled cards with other insights (and empty caches): a service that
        keeps one matcher per live template binds it to the models of each request."""
        bound = copy.copy(self)
        bound._insights = insights if self.reads_inferred else None
        bound._cache, bound._plans = {}, {}
        return bound

    @property
    def reads_engagement(self) -> bool:
        """Whether a card tests the engagement score (callers then compute it)."""
        return self._uses_engagement

    @property
    def cached_classes(self) -> int:
        """How many distinct classes of persons have been evaluated."""
        return len(self._cache)

    def match(self, person: PersonFields, engagement: float | None) -> CardMatch | None:
        """The first card whose conditions hold for ``person`` at ``engagement`` (None: not
        known), or None."""
        key = self._class_of(person, engagement)
        try:
            return self._cache[key]
        except KeyError:
            found = self._cache[key] = self._evaluate(person, engagement)
            return found

    def match_many(
        self, persons: Sequence[PersonFields], engagement: npt.NDArray[np.float64]
    ) -> list[CardMatch | None]:
        """``match`` for each person, with engagement looked up by person id (0 if absent).

        The same result as calling ``match`` per person, built for a million persons: the
        classes are computed with C-level map/zip and numpy, and only the persons of a new
        class go through Python (per-person calls cost about 3 s of a 1M-person job).
        """
        keys: list[Hashable] = list(map(self._key_of, persons))
        values: npt.NDArray[np.float64] | None = None
        if self._uses_engagement:
            values = _engagement_of(persons, engagement)
            keys = list(zip(keys, self._buckets(values), strict=True))
        found: list[Any] = list(map(self._cache.get, keys, repeat(_MISSING)))
        missing = [i for i, f in enumerate(found) if f is _MISSING]
        if self._insights is not None and missing:
            self._insights.predict(persons[i][2] for i in missing)
        for index in missing:
            score = float(values[index]) if values is not None else 0.0
            found[index] = self.match(persons[index], score)
        return found

    def _buckets(self, values: npt.NDArray[np.float64]) -> list[int]:
        """The positions of ``values`` among the thresholds, as _class_with_engagement."""
        thresholds = np.asarray(self._thresholds, dtype=np.float64)
        index = np.searchsorted(thresholds, values, side="left")  # bisect_left
        padded = np.append(thresholds, np.inf)
        exact = (index < len(thresholds)) & (padded[index] == values)
        buckets: list[int] = (2 * index + exact).tolist()
        return buckets

    def _class_with_engagement(self, person: PersonFields, engagement: float | None) -> Hashable:
        """The text the conditions read and the engagement's position among the thresholds.

        Positions: below t0, at t0, between t0 and t1, at t1, ... (__init__ picks a cheaper
        function when no condition reads engagement).
        """
        if engagement is None:  # not known (a title alone): numeric tests fail
            return (self._key_of(person), -1)
        index = bisect_left(self._thresholds, engagement)
        exact = index < len(self._thresholds) and self._thresholds[index] == engagement
        return (self._key_of(person), 2 * index + exact)

    def _evaluate(self, person: PersonFields, engagement: float | None) -> CardMatch | None:
        """Evaluate the cards in priority order; called once per class of persons.

        Text-only cards are evaluated once per class of text (their plan is cached), so a
        title seen in several engagement buckets only re-runs the engagement cards.
        """
        facts = person_facts(person, engagement, self._insight(person[2]))
        text_key = self._key_of(person)
        plan = self._plans.get(text_key)
        if plan is None:
            plan = self._plans[text_key] = self._text_plan(facts)
        for step in plan:
            if isinstance(step, CardMatch):
                return step
            found = step.evaluate(facts)
            if found is not None:
                return found
        return None

    def _insight(self, title: str | None) -> TitleInsight:
        return NO_INSIGHT if self._insights is None else self._insights.insight(title)

    def _text_plan(self, facts: PersonFacts) -> _TextPlan:
        """The cards to try in order for one class of text (see _TextPlan)."""
        plan: list[CardMatch | _CompiledCard] = []
        for card in self._cards:
            if card.reads_engagement:
                plan.append(card)
            elif (found := card.evaluate(facts)) is not None:
                plan.append(found)
                break
        return tuple(plan)


_MISSING: Final = object()


def _engagement_of(
    persons: Sequence[PersonFields], engagement: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The engagement of each person by id; ids beyond the array score 0."""
    ids = np.fromiter((p[0] for p in persons), dtype=np.int64, count=len(persons))
    known = ids < len(engagement)
    values = np.zeros(len(persons), dtype=np.float64)
    values[known] = engagement[ids[known]]
    return values


def _leaves(condition: Condition) -> Iterator[AttributeCondition]:
    """Every leaf of a condition tree."""
    if isinstance(condition, AttributeCondition):
        yield condition
        return
    for child in condition.children():
        yield from _leaves(child)


def _engagement_thresholds(leaves: Sequence[AttributeCondition]) -> list[float]:
    """The sorted distinct numbers that engagement_score is compared with."""
    values: set[float] = set()
    for leaf in leaves:
        if leaf.attribute != "engagement_score" or leaf.value is None:
            continue
        raw = leaf.value if isinstance(leaf.value, list) else [leaf.value]
        values.update(float(v) for v in raw)
    return sorted(values)


def _key_function(attributes: Sequence[str]) -> Callable[[PersonFields], Hashable]:
    """A function returning the attributes the conditions read (email as its domain)."""
    if "email_domain" in attributes:
        fields = [_FIELD_OF[a] for a in attributes]
        email = _FIELD_OF["email_domain"]
        return lambda person: tuple(
            email_domain(person[5]) if i == email else person[i] for i in fields
        )
    if not attributes:
        return lambda person: ()
    # itemgetter runs in C: the key is built for every person.
    return itemgetter(*(_FIELD_OF[a] for a in attributes))
