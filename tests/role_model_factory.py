"""Tiny in-process role models for tests (no MLflow), and a small CRM for review tests."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from buying_groups.domain.conditions import parse_condition
from buying_groups.domain.role_templates import RoleCard, RoleTemplate, TemplateStatus
from buying_groups.domain.solution_interests import AccountAudience, SolutionInterest
from buying_groups.generation.membership import MembershipService
from buying_groups.imports.loader import import_accounts, import_persons
from buying_groups.ml.embedders import HashingEmbedder
from buying_groups.ml.role_predictions import NO_ROLE
from buying_groups.ml.title_classifier import TitleClassifier
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_session_factory, unit_of_work

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
    model = TitleClassifier(embedder=HashingEmbedder(n_features=256))
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
        MembershipService(session).assign("A2", INTEREST, "P7", "Champion")
    return engine


def role_model(roles: dict[str, str]) -> TitleClassifier:
    """A role model that learned ``roles`` (title -> role) by heart."""
    titles = list(roles) * 4
    labels = pd.DataFrame({"role": [roles[t] for t in titles]})
    return TitleClassifier(embedder=HashingEmbedder(n_features=512)).fit(titles, labels)
