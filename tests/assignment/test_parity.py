"""One role decision: a generation job, the recommender, the comparison and the prediction
route give every person the same role, with cards that test every attribute a person has.

Issue 10's parity test: before the assignment core, these four paths each built their own
view of a person (jobs saw no inferred attributes, recommendations no engagement,
comparisons only title/department/country, predictions only the title).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, select

from buying_groups.domain.conditions import parse_condition
from buying_groups.domain.role_templates import RoleCard, RoleTemplate, TemplateStatus
from buying_groups.domain.solution_interests import AccountAudience, SolutionInterest
from buying_groups.generation import run_generation
from buying_groups.generation.comparisons import compare_assignments
from buying_groups.generation.recommendations import RecommendationService
from buying_groups.imports.loader import import_accounts, import_activities, import_persons
from buying_groups.ml.role_predictions import KnownPerson, RuleRoles, predict_roles
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups.storage.tables import MemberRow, PersonRow, RoleRow
from buying_groups.storage.unit_of_work import SqlUnitOfWork

INTEREST, AUDIENCE, NO_ROLE = "Parity", "Parity accounts", "No role"
NOW = datetime.now(UTC)


def _leaf(attribute: str, operator: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"attribute": attribute, "operator": operator, "value": value, **extra}


def _card(role: str, condition: dict[str, Any]) -> RoleCard:
    return RoleCard(role=role, conditions=parse_condition(condition))


# Every attribute a card can test, in priority order.
TEMPLATE = RoleTemplate(
    name="Parity template",
    status=TemplateStatus.LIVE,
    cards=(
        _card(
            "Decision Maker",
            {
                "all": [
                    _leaf("seniority", "in_list", ["C-level/Owner"]),
                    _leaf("country", "equals", "DE"),
                ]
            },
        ),
        _card(
            "Influencer",
            {
                "all": [
                    _leaf("role_probability", "gte", 0.9, role="Influencer"),
                    _leaf("department", "contains", "finance"),
                ]
            },
        ),
        _card(
            "Champion",
            {
                "all": [
                    _leaf("engagement_score", "gte", 50),
                    _leaf("email_domain", "equals", "acme.example"),
                ]
            },
        ),
        _card(
            "Practitioner",
            {
                "any": [
                    _leaf("persona", "equals", "Security / Professional"),
                    {
                        "all": [
                            _leaf("function", "equals", "IT"),
                            _leaf("job_title", "matches", "engineer$"),
                        ]
                    },
                ]
            },
        ),
    ),
)
# (id, title, department, country, e-mail, activities): the role by rules, and in hybrid.
PERSONS = [
    ("P1", "Managing Director", None, "DE", None, 0, "Decision Maker", "Decision Maker"),
    ("P2", "Managing Director", None, "FR", None, 0, NO_ROLE, NO_ROLE),
    ("P3", "Finance Controller", "Finance", "DE", None, 0, "Influencer", "Influencer"),
    # No card fires; the role model is sure: Influencer in hybrid.
    ("P4", "Finance Controller", "Sales", "DE", None, 0, NO_ROLE, "Influencer"),
    ("P5", "Marketing Manager", None, "NL", "ann@acme.example", 6, "Champion", "Champion"),
    ("P6", "Marketing Manager", None, "NL", "bob@other.example", 6, NO_ROLE, NO_ROLE),
    ("P7", "Security Analyst", None, "DE", None, 0, "Practitioner", "Practitioner"),
    ("P8", "Network Engineer", None, "DE", None, 0, "Practitioner", "Practitioner"),
    ("P9", "Receptionist", None, "DE", None, 0, NO_ROLE, NO_ROLE),
]
BY_RULES = {p[0]: p[6] for p in PERSONS}
HYBRID = {p[0]: p[7] for p in PERSONS}
TITLE_LABELS = {
    "Managing Director": ("Management", "C-level/Owner"),
    "Finance Controller": ("Finance", "Professional"),
    "Marketing Manager": ("Marketing", "Manager"),
    "Security Analyst": ("Security", "Professional"),
    "Network Engineer": ("IT", "Professional"),
    "Receptionist": ("Administrative", "Entry"),
}
ROLE_LABELS = {"Finance Controller": "Influencer"}


class LookupModel:
    """A model that knows its titles by heart: probability 0.95 for the label it learned."""

    abstain_threshold = 0.0

    def __init__(self, labels: dict[str, dict[str, str]], default: dict[str, str]) -> None:
        self.labels, self.default = labels, default
        self.targets_ = list(default)
        self.classes = {
            t: sorted({row[t] for row in labels.values()} | {default[t]}) for t in self.targets_
        }
        rows = [{"title": title, **row} for title, row in labels.items()]
        self.neighbour_labels_ = pd.DataFrame(rows)

    def _label(self, title: str, target: str) -> str:
        return self.labels.get(title.strip(), self.default)[target]

    def predict_proba(self, X: Sequence[str]) -> dict[str, pd.DataFrame]:
        frames = {}
        for target, classes in self.classes.items():
            rest = 0.05 / max(len(classes) - 1, 1)
            rows = [[0.95 if c == self._label(x, target) else rest for c in classes] for x in X]
            frames[target] = pd.DataFrame(rows, columns=classes)
        return frames

    def nearest_titles(self, X: Sequence[str], k: int | None = None) -> list[list[dict[str, Any]]]:
        return [[{"title": x, "similarity": 1.0, **self.labels.get(x, {})}] for x in X]


TITLE_MODEL = LookupModel(
    {t: {"function": f, "seniority": s} for t, (f, s) in TITLE_LABELS.items()},
    {"function": "Other", "seniority": "Professional"},
)
ROLE_MODEL = LookupModel({t: {"role": r} for t, r in ROLE_LABELS.items()}, {"role": NO_ROLE})


@pytest.fixture
def crm(engine: Engine) -> Engine:
    import_accounts(engine, pd.DataFrame([{"external_id": "A1", "name": "Acme"}]))
    rows = [
        {
            "external_id": pid,
            "account_external_id": "A1",
            "job_title": title,
            "department": department,
            "country": country,
            "email": email,
        }
        for pid, title, department, country, email, *_ in PERSONS
    ]
    import_persons(engine, pd.DataFrame(rows))
    activities = [
        {
            "person_external_id": pid,
            "type": "form_filled",
            "occurred_at": (NOW - timedelta(days=1 + n)).isoformat(),
        }
        for pid, *_, count, _, _ in PERSONS
        for n in range(count)
    ]
    import_activities(engine, pd.DataFrame(activities))
    with unit_of_work(make_session_factory(engine)) as session:
        repository = ConfigurationRepository(session)
        repository.create_template(TEMPLATE)
        repository.create_solution_interest(
            SolutionInterest(name=INTEREST, role_template=TEMPLATE.name)
        )
        repository.create_audience(AccountAudience(name=AUDIENCE, account_external_ids=("A1",)))
    return engine


def _members(engine: Engine) -> dict[str, str]:
    with make_session_factory(engine)() as session:
        rows = session.execute(
            select(PersonRow.external_id, RoleRow.name)
            .join(MemberRow, MemberRow.person_id == PersonRow.id)
            .join(RoleRow, RoleRow.id == MemberRow.role_id)
            .where(MemberRow.is_removed.is_(False))
        )
        found = {person: role for person, role in rows}
    return {pid: found.get(pid, NO_ROLE) for pid in BY_RULES}


def _job(engine: Engine, mode: str) -> dict[str, str]:
    run_generation(
        SqlUnitOfWork(engine),
        solution_interest=INTEREST,
        audience=AUDIENCE,
        mode=mode,
        role_model=ROLE_MODEL,  # type: ignore[arg-type]
        title_model=TITLE_MODEL,  # type: ignore[arg-type]
        as_of=NOW,
    )
    return _members(engine)


def test_a_rules_job_gives_every_person_the_core_role(crm: Engine) -> None:
    assert _job(crm, "rules") == BY_RULES


def test_a_hybrid_job_gives_every_person_the_core_role(crm: Engine) -> None:
    assert _job(crm, "hybrid") == HYBRID


def test_the_recommender_ranks_by_the_same_rule_roles(crm: Engine) -> None:
    with make_session_factory(crm)() as session:
        service = RecommendationService(
            SqlUnitOfWork.joining(session),
            ROLE_MODEL,  # type: ignore[arg-type]
            "1",
            title_model=TITLE_MODEL,  # type: ignore[arg-type]
        )
        answer = service.recommend(INTEREST, "A1", limit=20, as_of=NOW)
    by_rule = {
        candidate.person_external_id: recommendation.role
        for recommendation in answer.roles
        for candidate in recommendation.candidates
        if candidate.rule is not None
    }
    assert {p: by_rule.get(p, NO_ROLE) for p in BY_RULES} == BY_RULES


def test_the_comparison_sees_the_same_rule_and_model_roles(crm: Engine) -> None:
    _job(crm, "rules")  # the comparison covers the accounts that have a group
    with make_session_factory(crm)() as session:
        result = compare_assignments(
            SqlUnitOfWork.joining(session),
            INTEREST,
            ROLE_MODEL,  # type: ignore[arg-type]
            title_model=TITLE_MODEL,  # type: ignore[arg-type]
            as_of=NOW,
        )
    by_model = {p: "Influencer" if p in ("P3", "P4") else NO_ROLE for p in BY_RULES}
    expected = Counter((BY_RULES[p], by_model[p]) for p in BY_RULES)
    found = Counter(
        {(rule, model): n for rule, row in result.confusion.items() for model, n in row.items()}
    )
    assert found == expected


def test_the_prediction_route_gives_the_hybrid_role(crm: Engine) -> None:
    titles = [p[1] for p in PERSONS]
    persons = [KnownPerson(p[2], p[3], p[4], 100.0 if p[5] else 0.0) for p in PERSONS]
    predictions = predict_roles(
        titles,
        title_model=TITLE_MODEL,  # type: ignore[arg-type]
        role_model=ROLE_MODEL,  # type: ignore[arg-type]
        rules=RuleRoles(TEMPLATE.cards),
        persons=persons,
    )
    roles = {
        p[0]: (found.role.label if found.role else None) or NO_ROLE
        for p, found in zip(PERSONS, predictions, strict=True)
    }
    assert roles == HYBRID
