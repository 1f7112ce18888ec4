"""Fill the gaps: who could take each missing role of a buying group, ranked, with reasons.

For a group (account x solution interest) the missing roles are the live template's cards
marked ``required_for_completeness`` that have fewer members than ``members_required``
(or one role asked for by name). Candidates are the persons of the account and of the rest
of its company (the account tree under its root, whom a group may take as members) who are
not members of the group and were not removed from it by hand. A candidate's relevance
for a role is 1 when the assignment core's rules give them that role (the first card that
fires, as a generation job decides: every attribute, engagement and what the title model
infers included), else the interest's role model's probability for that role (when a model
is loaded); a person of another account of the
company counts ``HIERARCHY_FACTOR`` as much; recent activity breaks ties. Where nobody is
relevant enough, the answer names titles to acquire: the labelled titles the role model
learned the role from.

This is a first, rule-and-model recommender: it learns nothing of its own (the role model
learns from confirmed members). ``benchmarks/recommendation_benchmark.py`` evaluates it
leave-one-member-out against the rules alone and a random draw (DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from buying_groups.assignment import CardMatch, PersonRecord, RuleMatcher, TitleInsights
from buying_groups.domain.errors import ConflictError, InvariantError, NotFoundError
from buying_groups.domain.role_templates import RoleCard
from buying_groups.generation.ports import UnitOfWork
from buying_groups.ml.title_classifier import TitleClassifier

#: A candidate below this relevance is not recommended.
MIN_RELEVANCE: Final = 0.2
#: Relevance factor of a person in another account of the hierarchy.
HIERARCHY_FACTOR: Final = 0.8
#: Activities in this many days before ``as_of`` break ties (the engagement look-back).
ACTIVITY_DAYS: Final = 30
TITLES_TO_ACQUIRE: Final = 5


@dataclass(frozen=True)
class Candidate:
    """A person who could take a role, with the score and the reasons behind it."""

    person_external_id: str
    name: str
    job_title: str | None
    account_external_id: str
    same_account: bool
    score: float
    rule: str | None
    model_probability: float | None
    recent_activities: int
    reasons: list[str]


@dataclass(frozen=True)
class RoleRecommendation:
    """One role of the group: how many it needs and has, and who could fill it."""

    role: str
    members_required: int
    assigned: int
    candidates: list[Candidate] = field(default_factory=list)
    titles_to_acquire: list[str] = field(default_factory=list)

    @property
    def missing(self) -> int:
        """Members still needed (0 for a role asked for by name that is already full)."""
        return max(self.members_required - self.assigned, 0)


@dataclass(frozen=True)
class GroupRecommendations:
    """Recommendations for every missing role of one group (or the one role asked for)."""

    solution_interest: str
    account_external_id: str
    group_exists: bool
    model_version: str | None
    roles: list[RoleRecommendation]


@dataclass(frozen=True)
class _Person:
    id: int
    external_id: str
    name: str
    job_title: str | None
    account_external_id: str
    same_account: bool
    record: PersonRecord


class RecommendationService:
    """Ranks the persons of an account's hierarchy for the missing roles of its group."""

    def __init__(
        self,
        uow: UnitOfWork,
        role_model: TitleClassifier | None = None,
        model_version: str | None = None,
        title_model: TitleClassifier | None = None,
    ) -> None:
        self.uow = uow
        self.role_model = role_model
        self.model_version = model_version
        self.title_model = title_model

    def recommend(
        self,
        solution_interest: str,
        account_external_id: str,
        *,
        role: str | None = None,
        limit: int = 5,
        hierarchy: bool = True,
        as_of: datetime | None = None,
    ) -> GroupRecommendations:
        """Candidates per missing role (or for ``role``), best first.

        Raises:
            NotFoundError: unknown solution interest or account.
            InvariantError: ``role`` is not a role of the interest's template.
            ConflictError: the group was deleted (nobody can be added to it).
        """
        with self.uow:
            return self._recommend(
                solution_interest, account_external_id, role, limit, hierarchy, as_of
            )

    def _recommend(
        self,
        solution_interest: str,
        account_external_id: str,
        role: str | None,
        limit: int,
        hierarchy: bool,
        as_of: datetime | None,
    ) -> GroupRecommendations:
        configuration = self.uow.configuration
        interest = configuration.get_solution_interest(solution_interest)
        cards = configuration.get_template(interest.role_template).cards
        account_id = self._account_id(account_external_id)
        members, excluded, group_exists = self._members(interest.name, account_id)
        assigned: dict[str, int] = {}
        for member_role in members.values():
            assigned[member_role] = assigned.get(member_role, 0) + 1
        wanted = [
            c
            for c in cards
            if c.required_for_completeness and assigned.get(c.role, 0) < c.members_required
        ]
        if role is not None:
            wanted = [c for c in cards if c.role.casefold() == role.strip().casefold()]
            if not wanted:
                names = ", ".join(c.role for c in cards)
                raise InvariantError(
                    f"{role!r} is not a role of {interest.role_template!r} ({names})",
                    field="role",
                )
        persons = self._eligible(account_id, set(members) | excluded, hierarchy)
        insights = TitleInsights(self.title_model, self.role_model)
        insights.predict(p.job_title for p in persons)
        rules = self._rules(RuleMatcher(cards, insights), persons, as_of)
        results = []
        for card in wanted:
            ranked = self._rank(card, persons, rules, insights)
            top = ranked[: max(limit * 4, limit + 20)]  # activity only reorders near-ties
            activity = self._recent_activity([p.id for p, *_ in top], as_of)
            candidates = [
                _candidate(person, relevance, rule, probability, activity.get(person.id, 0))
                for person, relevance, rule, probability in top
            ]
            candidates.sort(key=lambda c: (-c.score, -c.recent_activities, c.person_external_id))
            titles = [] if candidates else self._titles_to_acquire(card.role)
            results.append(
                RoleRecommendation(
                    card.role,
                    card.members_required,
                    assigned.get(card.role, 0),
                    candidates[:limit],
                    titles,
                )
            )
        return GroupRecommendations(
            interest.name, account_external_id, group_exists, self.model_version, results
        )

    def _rules(
        self, matcher: RuleMatcher, persons: list[_Person], as_of: datetime | None
    ) -> dict[int, CardMatch | None]:
        """Person id -> the card the core's rules give them (None: no card fires)."""
        engagement = None
        if matcher.reads_engagement:
            moment = as_of or datetime.now(UTC)
            engagement = self.uow.generation.person_engagement(moment)
        found = {}
        for person in persons:
            score = None
            if engagement is not None:
                known = person.id < len(engagement)
                score = float(engagement[person.id]) if known else 0.0
            found[person.id] = matcher.match(person.record, score)
        return found

    @staticmethod
    def _rank(
        card: RoleCard,
        persons: list[_Person],
        rules: dict[int, CardMatch | None],
        insights: TitleInsights,
    ) -> list[tuple[_Person, float, str | None, float | None]]:
        """(person, relevance, rule that gave the role, model probability), best first,
        above the minimum relevance."""
        ranked = []
        for person in persons:
            match = rules[person.id]
            rule = (
                match.evidence["condition"]
                if match is not None and match.role == card.role
                else None
            )
            probability = None
            if insights.role_model is not None:
                probability = insights.insight(person.job_title).role_probabilities.get(card.role)
            relevance = 1.0 if rule is not None else (probability or 0.0)
            if not person.same_account:
                relevance *= HIERARCHY_FACTOR
            if relevance >= MIN_RELEVANCE:
                ranked.append((person, relevance, rule, probability))
        # Rules tie at 1: the model's probability, then the id, order them.
        ranked.sort(key=lambda r: (-r[1], -(r[3] or 0.0), r[0].external_id))
        return ranked

    def eligible_persons(
        self, solution_interest: str, account_external_id: str, *, hierarchy: bool = True
    ) -> list[str]:
        """External ids of everyone the group could take now: the pool candidates come from
        (what a random recommender would draw from).

        Raises:
            NotFoundError: unknown solution interest or account.
            ConflictError: the group was deleted.
        """
        with self.uow:
            interest = self.uow.configuration.get_solution_interest(solution_interest)
            account_id = self._account_id(account_external_id)
            members, excluded, _ = self._members(interest.name, account_id)
            eligible = self._eligible(account_id, set(members) | excluded, hierarchy)
            return [p.external_id for p in eligible]

    def _eligible(self, account_id: int, excluded: set[int], hierarchy: bool) -> list[_Person]:
        accounts = self.uow.crm.company_accounts(account_id) if hierarchy else [account_id]
        return [
            _Person(
                p.record.person_id,
                p.external_id,
                p.name or p.external_id,
                p.record.job_title,
                p.account_external_id,
                p.record.account_id == account_id,
                p.record,
            )
            for p in self.uow.crm.persons(accounts)
            if p.record.person_id not in excluded
        ]

    def _account_id(self, external_id: str) -> int:
        found = self.uow.crm.account_id(external_id)
        if found is None:
            raise NotFoundError(f"no account {external_id!r}")
        return found

    def _members(self, interest: str, account_id: int) -> tuple[dict[int, str], set[int], bool]:
        """Active members (person id -> role), persons a manual, journey or import removal
        keeps out (whom generation never adds back either), and whether a group exists."""
        group = self.uow.crm.group_members(interest, account_id)
        if group is None:
            return {}, set(), False
        if group.is_deleted:
            raise ConflictError("this buying group is deleted: nobody can be added to it")
        return group.active, group.excluded, True

    def _recent_activity(self, person_ids: list[int], as_of: datetime | None) -> dict[int, int]:
        """Activities in the engagement window (``ACTIVITY_DAYS`` up to ``as_of``)."""
        until = as_of or datetime.now(UTC)
        since = until - timedelta(days=ACTIVITY_DAYS)
        return self.uow.crm.recent_activity(person_ids, since, until)

    def _titles_to_acquire(self, role: str) -> list[str]:
        """Titles the role model learned ``role`` from (what to look for elsewhere)."""
        if self.role_model is None:
            return []
        labels = self.role_model.neighbour_labels_
        target = self.role_model.targets_[0]
        titles: list[Any] = labels.loc[labels[target] == role, "title"].tolist()
        first_spelling: dict[str, str] = {}
        for title in titles:
            first_spelling.setdefault(str(title).strip().casefold(), str(title).strip())
        return list(first_spelling.values())[:TITLES_TO_ACQUIRE]


def _candidate(
    person: _Person, relevance: float, rule: str | None, probability: float | None, activities: int
) -> Candidate:
    reasons = []
    if rule is not None:
        reasons.append(f"the role's card fires: {rule}")
    if probability is not None:
        reasons.append(f"role model: probability {probability:.2f}")
    if not person.same_account:
        reasons.append(f"in {person.account_external_id}, elsewhere in the account hierarchy")
    if activities:
        reasons.append(f"{activities} activities in the last {ACTIVITY_DAYS} days")
    return Candidate(
        person.external_id,
        person.name,
        person.job_title,
        person.account_external_id,
        person.same_account,
        round(relevance, 4),
        rule,
        None if probability is None else round(probability, 4),
        activities,
        reasons,
    )
