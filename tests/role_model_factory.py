"""Tiny in-process role models for tests (no MLflow), a small CRM for review tests and a
company with divisions for recommendation tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import Engine

from buying_groups.domain.conditions import parse_condition
from buying_groups.domain.role_templates import RoleCard, RoleTemplate, TemplateStatus
from buying_groups.domain.solution_interests import AccountAudience, SolutionInterest
from buying_groups.generation.membership import MembershipService
from buying_groups.imports.loader import import_accounts, import_activities, import_persons
from buying_groups.ml.embedders import HashingEmbedder
from buying_groups.ml.role_predictions import NO_ROLE
from buying_groups.ml.title_classifier import TitleClassifier
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups.storage.unit_of_work import SqlUnitOfWork

INTEREST, AUDIENCE = "Secure Edge", "Targets"
ROLE_TITLES = {
    "Decision Maker": [
        "Chief Information Security Officer",
        "Chief Information Officer",
        "Chief Technology Officer",
        "CISO",
        "CIO",
        "Chief Security Officer",
    ],
    "Practitioner": [
        "Security Engineer",
        "Network Engineer",
        "DevOps Engineer",
        "Cloud Engineer",
        "Systems Engineer",
        "Security Analyst",
    ],
    "Influencer": [
        "Security Architect",
        "Enterprise Architect",
        "Cloud Architect",
        "Solutions Architect",
        "IT Architect",
        "Network Architect",
    ],
    NO_ROLE: [
        "Receptionist",
        "Sales Intern",
        "Office Manager",
        "Accountant",
        "Chief Happiness Officer",
        "Happiness Coordinator",
        "Marketing Assistant",
        "Chief People Officer",
    ],
}
PERSONS = [
    ("P1", "A1", "Chief Information Security Officer"),  # rule and model agree
    ("P2", "A1", "Security Engineer"),  # rule and model agree
    ("P3", "A1", "Security Architect"),  # no rule; the model is sure: Influencer
    ("P4", "A1", "Chief Happiness Officer"),  # the rule says Decision Maker, the model no role
    ("P5", "A2", "Receptionist"),  # nobody proposes anything
    ("P6", "A2", "Security Lead"),  # no rule; the model is unsure (Practitioner, ~0.5)
    ("P7", "A2", "Cloud Architect"),  # set by hand as Champion before any job
    ("P8", "A2", "Security Architect"),  # the same title as P3
]


def _card(role: str, contains: str | None = None) -> RoleCard:
    condition = None
    if contains:
        condition = parse_condition(
            {"attribute": "job_title", "operator": "contains", "value": contains}
        )
    return RoleCard(role=role, conditions=condition)


TEMPLATE = RoleTemplate(
    name="Security",
    status=TemplateStatus.LIVE,
    cards=(
        _card("Decision Maker", "chief"),
        _card("Practitioner", "engineer"),
        _card("Influencer"),
        _card("Champion"),
    ),
)


def train_role_model() -> TitleClassifier:
    """A role model over hand-made titles (three copies, so calibration has folds)."""
    titles = [t for group in ROLE_TITLES.values() for t in group] * 3
    labels = [r for r, group in ROLE_TITLES.items() for _ in group] * 3
    # Five calibration folds, as these titles' probabilities were tuned with (P6 unsure).
    model = TitleClassifier(embedder=HashingEmbedder(n_features=256), calibration_folds=5)
    return model.fit(titles, pd.DataFrame({"role": labels}))


def seed_review_crm(engine: Engine) -> Engine:
    """Two accounts, eight persons, the template, the interest, and P7 set by hand."""
    accounts = pd.DataFrame([{"external_id": a, "name": f"Account {a}"} for a in ("A1", "A2")])
    import_accounts(engine, accounts)
    persons = [{"external_id": p, "account_external_id": a, "job_title": t} for p, a, t in PERSONS]
    import_persons(engine, pd.DataFrame(persons))
    with unit_of_work(make_session_factory(engine)) as session:
        repository = ConfigurationRepository(session)
        repository.create_template(TEMPLATE)
        repository.create_solution_interest(
            SolutionInterest(name=INTEREST, role_template=TEMPLATE.name)
        )
        repository.create_audience(
            AccountAudience(name=AUDIENCE, account_external_ids=("A1", "A2"))
        )
        MembershipService(SqlUnitOfWork.joining(session)).assign("A2", INTEREST, "P7", "Champion")
    return engine


def role_model(roles: dict[str, str]) -> TitleClassifier:
    """A role model that learned ``roles`` (title -> role) by heart."""
    titles = list(roles) * 4
    labels = pd.DataFrame({"role": [roles[t] for t in titles]})
    return TitleClassifier(embedder=HashingEmbedder(n_features=512)).fit(titles, labels)


COMPANY_INTEREST = "Secure Edge"
# Activities are dated back from now: the API counts the last 30 days before the present.
NOW = datetime.now(UTC)
COMPANY_PERSONS = [
    ("P1", "HQ", "Chief Security Officer"),  # Decision Maker by rule
    ("P2", "HQ", "Receptionist"),
    ("P3", "HQ", "Chief Information Officer"),  # Decision Maker by rule too
    ("P4", "DE", "Network Engineer"),  # Practitioner by rule, in a division
    ("P5", "DE", "Security Architect"),  # Influencer only by the model
    ("P6", "FR", "Cloud Engineer"),  # a sibling division
    ("P7", "OTHER", "Chief Technology Officer"),  # another company: never a candidate
]


def seed_company_crm(engine: Engine) -> Engine:
    """A company (HQ with divisions DE and FR), another company, and the Security template."""
    accounts = [
        {"external_id": "HQ", "name": "Holding"},
        {"external_id": "DE", "name": "Holding DE", "parent_external_id": "HQ"},
        {"external_id": "FR", "name": "Holding FR", "parent_external_id": "HQ"},
        {"external_id": "OTHER", "name": "Someone else"},
    ]
    import_accounts(engine, pd.DataFrame(accounts))
    rows = [
        {"external_id": p, "account_external_id": a, "job_title": t} for p, a, t in COMPANY_PERSONS
    ]
    import_persons(engine, pd.DataFrame(rows))
    activity = [
        {"person_external_id": "P3", "type": "email_opened", "occurred_at": NOW - timedelta(days=d)}
        for d in (1, 2, 40)  # the one 40 days ago is too old to count
    ]
    import_activities(engine, pd.DataFrame(activity))
    with unit_of_work(make_session_factory(engine)) as session:
        repository = ConfigurationRepository(session)
        repository.create_template(TEMPLATE)
        repository.create_solution_interest(
            SolutionInterest(name=COMPANY_INTEREST, role_template=TEMPLATE.name)
        )
    return engine
