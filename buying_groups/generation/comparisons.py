"""Rules versus model: who each would put in which role, where they agree and where not."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from buying_groups.domain.conditions import PersonFacts
from buying_groups.domain.errors import ConflictError
from buying_groups.ml.role_predictions import NO_ROLE, RuleRoles, predict_roles
from buying_groups.ml.title_classifier import TitleClassifier
from buying_groups.storage.audience_preview import select_audience
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.tables import AccountRow, BuyingGroupRow, PersonRow, SolutionInterestRow


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
    """Agreement of rules and model over the persons of an interest's accounts."""

    solution_interest: str
    audience: str | None
    persons: int = 0
    agreements: int = 0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    disagreements: list[Disagreement] = field(default_factory=list)
    disagreements_total: int = 0

    @property
    def agreement_rate(self) -> float | None:
        """Share of persons both place in the same role (no role counts as a role)."""
        return self.agreements / self.persons if self.persons else None


def compare_assignments(
    session: Session,
    solution_interest: str,
    role_model: TitleClassifier | None,
    *,
    audience: str | None = None,
    limit: int = 100,
) -> Comparison:
    """Rule role (the live template's first matching card, from what a title-level rule
    can see: title, department, country) against the role model's answer, per person.

    Persons are those of the audience's accounts, or of the accounts that have a group for
    the interest. A model answer below the interest's accept threshold counts as no role.
    """
    if role_model is None:
        raise RoleModelMissingError(
            f"no role model is loaded for {solution_interest!r}; "
            f"train one with: buying-groups train roles --solution-interest {solution_interest!r}"
        )
    configuration = ConfigurationRepository(session)
    interest = configuration.get_solution_interest(solution_interest)
    rules = RuleRoles(configuration.get_template(interest.role_template).cards)
    persons = _persons(session, interest.name, audience, configuration)
    titles = sorted({p[2] or "" for p in persons})
    model_roles = _model_roles(role_model, titles, interest.model_accept_threshold)
    result = Comparison(interest.name, audience)
    counts: Counter[tuple[str, str]] = Counter()
    for person, account, title, department, country in persons:
        facts = PersonFacts(job_title=title, department=department, country=country)
        rule = rules.role(facts)
        rule_role = rule.label or NO_ROLE
        model_role, confidence = model_roles[title or ""]
        counts[(rule_role, model_role)] += 1
        if rule_role != model_role:
            result.disagreements_total += 1
            if len(result.disagreements) < limit:
                fired = rule.evidence.get("fired")
                result.disagreements.append(
                    Disagreement(person, account, title, rule_role, fired, model_role, confidence)
                )
    result.persons = sum(counts.values())
    result.agreements = sum(n for (by_rule, by_model), n in counts.items() if by_rule == by_model)
    for (by_rule, by_model), n in sorted(counts.items()):
        result.confusion.setdefault(by_rule, {})[by_model] = n
    return result


def _model_roles(
    model: TitleClassifier, titles: list[str], threshold: float
) -> dict[str, tuple[str, float]]:
    """Per distinct title: the model's role (no role below ``threshold``) and confidence."""
    answers = predict_roles(titles, title_model=None, role_model=model) if titles else []
    roles: dict[str, tuple[str, float]] = {}
    for title, answer in zip(titles, answers, strict=True):
        assert answer.role is not None
        confidence = answer.role.confidence or 0.0
        label = answer.role.label
        roles[title] = (
            label if label is not None and confidence >= threshold else NO_ROLE,
            confidence,
        )
    return roles


def _persons(
    session: Session, interest: str, audience: str | None, configuration: ConfigurationRepository
) -> list[Any]:
    if audience is not None:
        account_ids = list(select_audience(session, configuration.get_audience(audience)))
    else:
        account_ids = list(
            session.scalars(
                select(BuyingGroupRow.account_id)
                .join(SolutionInterestRow)
                .where(SolutionInterestRow.name == interest, BuyingGroupRow.is_deleted.is_(False))
            )
        )
    rows: list[Any] = []
    # Chunks keep the IN list under SQLite's bound-parameter limit.
    for start in range(0, len(account_ids), 10_000):
        chunk = account_ids[start : start + 10_000]
        query = (
            select(
                PersonRow.external_id,
                AccountRow.external_id,
                PersonRow.job_title,
                PersonRow.department,
                PersonRow.country,
            )
            .join(AccountRow, PersonRow.account_id == AccountRow.id)
            .where(PersonRow.account_id.in_(chunk))
            .order_by(PersonRow.external_id)
        )
        rows.extend(session.execute(query).all())
    return rows
