"""Rules versus model: who each would put in which role, where they agree and where not."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from buying_groups.assignment import (
    NO_ROLE,
    CardMatch,
    Mode,
    ModelAnswer,
    Outcome,
    RuleMatcher,
    Thresholds,
    TitleInsights,
    decide,
)
from buying_groups.domain.errors import ConflictError
from buying_groups.generation.ports import CandidatePerson, UnitOfWork
from buying_groups.ml.title_classifier import TitleClassifier


class RoleModelMissingError(ConflictError):
    """Comparing needs the solution interest's role model, and none is loaded."""

    title = "Role model required"


@dataclass(frozen=True)
class Disagreement:
    """One person the rules and the model place differently."""

    person_external_id: str
    account_external_id: str
    job_title: str | None
    rule_role: str
    rule_evidence: str | None
    model_role: str
    model_confidence: float


@dataclass
class Comparison:
    """Rules against the model over the persons of an interest's accounts.

    ``agreements`` and ``agreement_rate`` count only persons at least one side puts in a
    role: persons neither places (``no_role_both``, usually most of a CRM) would make any
    two assigners look alike. ``kappa`` is Cohen's kappa over every person, agreement
    beyond what the two sides' label frequencies give by chance.
    """

    solution_interest: str
    audience: str | None
    persons: int = 0
    agreements: int = 0
    no_role_both: int = 0
    kappa: float | None = None
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    disagreements: list[Disagreement] = field(default_factory=list)
    disagreements_total: int = 0

    @property
    def placed(self) -> int:
        """Persons at least one side puts in a role."""
        return self.persons - self.no_role_both

    @property
    def agreement_rate(self) -> float | None:
        """Share of the placed persons both sides put in the same role."""
        return self.agreements / self.placed if self.placed else None


def compare_assignments(
    uow: UnitOfWork,
    solution_interest: str,
    role_model: TitleClassifier | None,
    *,
    title_model: TitleClassifier | None = None,
    audience: str | None = None,
    limit: int = 100,
    as_of: datetime | None = None,
) -> Comparison:
    """The rules' role against the role model's, per person, both decided by the assignment
    core as a generation job would (rules mode against model mode): cards see every
    attribute, engagement at ``as_of`` (default now) and what ``title_model`` infers
    included; a model answer below the interest's accept threshold is no role.

    Persons are those of the audience's accounts, or of the accounts that have a group for
    the interest.
    """
    if role_model is None:
        raise RoleModelMissingError(
            f"no role model is loaded for {solution_interest!r}; "
            f"train one with: buying-groups train roles --solution-interest {solution_interest!r}"
        )
    with uow:
        interest = uow.configuration.get_solution_interest(solution_interest)
        cards = uow.configuration.get_template(interest.role_template).cards
        persons = _persons(uow, interest.name, audience)
        engagement = uow.generation.person_engagement(as_of or datetime.now(UTC))
    insights = TitleInsights(title_model, role_model)
    matcher = RuleMatcher(cards, insights)
    thresholds = Thresholds(interest.model_accept_threshold, interest.model_review_threshold)
    assignable = frozenset(card.role for card in cards)
    insights.predict(p.record.job_title for p in persons)
    result = Comparison(interest.name, audience)
    counts: Counter[tuple[str, str]] = Counter()
    for person in persons:
        record = person.record
        score = float(engagement[record.person_id]) if record.person_id < len(engagement) else 0.0
        rule = matcher.match(record, score)
        rule_role = _role(decide(Mode.RULES, rule, None, thresholds, assignable))
        answer = insights.answer(record.job_title)
        model_role = _role(decide(Mode.MODEL, None, answer, thresholds, assignable))
        counts[(rule_role, model_role)] += 1
        if rule_role != model_role:
            result.disagreements_total += 1
            if len(result.disagreements) < limit:
                result.disagreements.append(
                    _disagreement(person, rule, rule_role, model_role, answer)
                )
    _summarise(result, counts)
    return result


def _role(outcome: Outcome) -> str:
    """The role a side assigns, "No role" when it assigns nobody (a review is no role)."""
    return outcome.role if outcome.assign is not None and outcome.role else NO_ROLE


def _disagreement(
    person: CandidatePerson,
    rule: CardMatch | None,
    rule_role: str,
    model_role: str,
    answer: ModelAnswer | None,
) -> Disagreement:
    return Disagreement(
        person.external_id,
        person.account_external_id,
        person.record.job_title,
        rule_role,
        rule.evidence["condition"] if rule is not None else None,
        model_role,
        answer.confidence if answer is not None else 0.0,
    )


def _summarise(result: Comparison, counts: Counter[tuple[str, str]]) -> None:
    """Totals, agreement among placed persons, kappa and the confusion table."""
    result.persons = sum(counts.values())
    result.no_role_both = counts[(NO_ROLE, NO_ROLE)]
    result.agreements = sum(
        n for (by_rule, by_model), n in counts.items() if by_rule == by_model != NO_ROLE
    )
    result.kappa = cohen_kappa(counts)
    for (by_rule, by_model), n in sorted(counts.items()):
        result.confusion.setdefault(by_rule, {})[by_model] = n


def cohen_kappa(counts: Mapping[tuple[str, str], int]) -> float | None:
    """Cohen's kappa of two raters from (label by one, label by the other) -> count.

    1 is perfect agreement, 0 what chance gives; None without persons, or when both raters
    give everyone one and the same label (chance agreement is then 1: kappa is undefined).
    """
    total = sum(counts.values())
    if not total:
        return None
    observed = sum(n for (a, b), n in counts.items() if a == b) / total
    first: Counter[str] = Counter()
    second: Counter[str] = Counter()
    for (a, b), n in counts.items():
        first[a] += n
        second[b] += n
    expected = sum(first[label] * second[label] for label in first) / total**2
    if expected == 1:
        return None
    return (observed - expected) / (1 - expected)


def _persons(uow: UnitOfWork, interest: str, audience: str | None) -> list[CandidatePerson]:
    """The persons of the audience's accounts, or of the accounts with a group, by id."""
    if audience is not None:
        configuration = uow.configuration
        account_ids = list(configuration.select_audience(configuration.get_audience(audience)))
    else:
        account_ids = uow.crm.accounts_with_group(interest)
    return uow.crm.persons(account_ids)
