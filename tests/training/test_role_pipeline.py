"""Role models per solution interest: labels from decisions and rules, confirmed-only scoring."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from sqlalchemy import Engine, insert, select
from typer.testing import CliRunner

from buying_groups.domain.conditions import parse_condition
from buying_groups.domain.errors import NotFoundError
from buying_groups.domain.role_templates import RoleCard, RoleTemplate, TemplateStatus
from buying_groups.domain.roles import Role
from buying_groups.domain.solution_interests import SolutionInterest
from buying_groups.imports.loader import import_accounts, import_persons
from buying_groups.ml.persona import FittedModel
from buying_groups.ml.registry import champion_uri, load_champion
from buying_groups.settings import get_settings
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups.storage.tables import (
    BuyingGroupRow,
    MemberRow,
    PersonRow,
    ReviewRow,
    RoleRow,
    SolutionInterestRow,
)
from buying_groups_cli.main import app as cli_app
from training.cli import train_app
from training.role_data import NO_ROLE, role_training_data
from training.role_pipeline import (
    WeakEvaluationWarning,
    role_model_name,
    split_role_data,
    train_roles,
)

INTEREST = "Edge Security"
SPONSOR = "Security Sponsor"  # a custom role: the label set must come from the data
CHIEFS = ["Chief Information Security Officer", "Chief Technology Officer", "Head of Security"]
CHIEFS += ["Head of IT", "Head of Infrastructure", "Chief Risk Officer", "Head of Cloud"]
ENGINEERS = ["Security Engineer", "Network Engineer", "Cloud Engineer", "DevOps Engineer"]
ENGINEERS += ["Platform Engineer", "Systems Engineer", "Site Reliability Engineer"]
OTHERS = ["Sales Manager", "Account Executive", "HR Business Partner", "Payroll Specialist"]
OTHERS += ["Marketing Manager", "Receptionist", "Office Manager", "Recruiter", "Accountant"]
OTHERS += ["Security Awareness Specialist", "Security Program Lead", "Security Coordinator"]
TITLES = CHIEFS + ENGINEERS + OTHERS
runner = CliRunner()


def _card(role: str, condition: dict[str, Any]) -> RoleCard:
    return RoleCard(role=role, conditions=parse_condition(condition))


TEMPLATE = RoleTemplate(
    name="Edge template",
    status=TemplateStatus.LIVE,
    cards=(
        _card(
            "Decision Maker",
            {
                "any": [
                    {"attribute": "job_title", "operator": "contains", "value": "chief"},
                    {"attribute": "job_title", "operator": "starts_with", "value": "head"},
                ]
            },
        ),
        _card(
            "Practitioner", {"attribute": "job_title", "operator": "contains", "value": "engineer"}
        ),
        # Reads engagement: left out of the weak labels, whatever the engagement.
        _card(
            "Champion",
            {
                "all": [
                    {"attribute": "engagement_score", "operator": "lte", "value": 100},
                    {"attribute": "job_title", "operator": "contains", "value": "security"},
                ]
            },
        ),
    ),
)


@pytest.fixture
def crm(engine: Engine) -> Engine:
    """Three accounts, each with one person per title; the template, interest and a role."""
    import_accounts(
        engine, pd.DataFrame([{"external_id": f"A{i}", "name": f"A {i}"} for i in (1, 2, 3)])
    )
    persons = [
        {"external_id": _pid(a, i), "account_external_id": f"A{a}", "job_title": title}
        for a in (1, 2, 3)
        for i, title in enumerate(TITLES)
    ]
    import_persons(engine, pd.DataFrame(persons))
    with unit_of_work(make_session_factory(engine)) as session:
        repository = ConfigurationRepository(session)
        repository.add_role(Role(name=SPONSOR))
        repository.create_template(TEMPLATE)
        repository.create_solution_interest(
            SolutionInterest(name=INTEREST, role_template=TEMPLATE.name)
        )
    return engine


def _pid(account: int, index: int) -> str:
    return f"P{account}-{index:02d}"


def _ids(engine: Engine, person: str) -> tuple[int, int, int, int]:
    """person id, account id, interest id, template id."""
    with engine.connect() as conn:
        pid, aid = conn.execute(
            select(PersonRow.id, PersonRow.account_id).where(PersonRow.external_id == person)
        ).one()
        interest, template = conn.execute(
            select(SolutionInterestRow.id, SolutionInterestRow.role_template_id)
        ).one()
    return pid, aid, interest, template


def _role_id(engine: Engine, role: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(RoleRow.id).where(RoleRow.name == role)))


def add_member(
    engine: Engine, person: str, role: str, source: str = "manual", removed: bool = False
) -> None:
    """Put a person in their account's group (created on first use)."""
    pid, aid, interest, template = _ids(engine, person)
    with engine.begin() as conn:
        group = conn.scalar(select(BuyingGroupRow.id).where(BuyingGroupRow.account_id == aid))
        if group is None:
            values = {"account_id": aid, "solution_interest_id": interest}
            group = conn.execute(
                insert(BuyingGroupRow).values(**values, role_template_id=template)
            ).inserted_primary_key[0]
        conn.execute(
            insert(MemberRow).values(
                group_id=group,
                person_id=pid,
                role_id=_role_id(engine, role),
                source=source,
                is_removed=removed,
            )
        )


def add_review(engine: Engine, person: str, decision: str, role: str | None = None) -> None:
    """A decided review of a person."""
    pid, _, interest, _ = _ids(engine, person)
    with engine.begin() as conn:
        conn.execute(
            insert(ReviewRow).values(
                person_id=pid,
                solution_interest_id=interest,
                reason="disagreement",
                decision=decision,
                decided_role_id=None if role is None else _role_id(engine, role),
                decided_by="tester",
                decided_at=datetime.now(UTC),
            )
        )


def label_many(engine: Engine, account: int = 1) -> None:
    """Confirm every title of one account: rule-like roles, the custom role, removals."""
    for i, title in enumerate(TITLES):
        if title in CHIEFS:
            add_member(engine, _pid(account, i), "Decision Maker")
        elif title in ENGINEERS:
            add_member(engine, _pid(account, i), "Practitioner")
        elif title.startswith("Security"):
            add_member(engine, _pid(account, i), SPONSOR)
        else:
            add_member(engine, _pid(account, i), "Other", removed=True)


def _train(engine: Engine, store: Any, embedder_of_size: Any, **kwargs: Any) -> Any:
    name = f"role-test-{engine.dialect.name}-{kwargs.pop('suffix', 'a')}"
    return train_roles(
        engine,
        INTEREST,
        name=name,
        embedder=embedder_of_size(256),
        tracking_uri=store.tracking_uri,
        artifact_root=store.artifact_root,
        log_plots=False,
        progress=False,
        **kwargs,
    )


# --------------------------------------------------------------------------------- data


def test_few_confirmed_labels_are_completed_by_weak_rule_labels(crm: Engine) -> None:
    add_member(crm, _pid(1, 0), "Decision Maker")
    add_member(crm, _pid(1, TITLES.index("Sales Manager")), "Influencer", source="import")
    data = role_training_data(crm, INTEREST, min_confirmed=10, weak_weight=0.25)
    confirmed = data[data["label_source"] == "confirmed"]
    weak = data[data["label_source"] == "weak"]
    assert sorted(confirmed["role"]) == ["Decision Maker", "Influencer"]
    assert set(confirmed["weight"]) == {1.0} and set(weak["weight"]) == {0.25}
    # Only account A1 has a group, so the weak pool is A1's persons, minus the confirmed.
    assert set(weak["person_external_id"].str[:2]) == {"P1"}
    assert not set(weak["person_external_id"]) & set(confirmed["person_external_id"])
    by_title = dict(zip(weak["title"], weak["role"], strict=True))
    assert by_title["Network Engineer"] == "Practitioner"
    assert by_title["Chief Technology Officer"] == "Decision Maker"
    # A confirmed title is never also a weak row; the engagement card never labels.
    assert "Chief Information Security Officer" not in by_title
    assert "Champion" not in set(weak["role"])
    positives = (weak["role"] != NO_ROLE).sum()
    assert 0 < (weak["role"] == NO_ROLE).sum() <= positives


def test_enough_confirmed_labels_use_no_weak_labels(crm: Engine) -> None:
    label_many(crm)
    data = role_training_data(crm, INTEREST, min_confirmed=len(TITLES))
    assert set(data["label_source"]) == {"confirmed"} and len(data) == len(TITLES)


def test_decisions_follow_precedence_and_negatives_become_no_role(crm: Engine) -> None:
    add_member(crm, _pid(1, 0), "Practitioner", source="import")
    add_review(crm, _pid(1, 0), "other_role", "Decision Maker")  # review beats import
    add_member(crm, _pid(1, 1), "Influencer")
    add_review(crm, _pid(1, 1), "not_a_member")  # manual beats review
    add_review(crm, _pid(1, 2), "not_a_member")
    add_member(crm, _pid(1, 3), "Influencer", removed=True)  # a manual removal
    add_member(crm, _pid(1, 4), "Influencer", source="journey", removed=True)  # not a "no"
    add_member(crm, _pid(1, 5), "Practitioner", source="rule")  # not confirmed
    data = role_training_data(crm, INTEREST, min_confirmed=0).set_index("person_external_id")
    assert data["role"].to_dict() == {
        _pid(1, 0): "Decision Maker",
        _pid(1, 1): "Influencer",
        _pid(1, 2): NO_ROLE,
        _pid(1, 3): NO_ROLE,
    }
    assert data.loc[_pid(1, 2), "origin"] == "review:not_a_member"


def test_without_groups_every_person_is_in_the_weak_pool(crm: Engine) -> None:
    data = role_training_data(crm, INTEREST, no_role_ratio=10.0)
    assert set(data["label_source"]) == {"weak"}
    assert set(data["person_external_id"].str[:2]) == {"P1", "P2", "P3"}
    assert (data["role"] == NO_ROLE).sum() == 3 * len(OTHERS)


def test_unknown_interest_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFoundError):
        role_training_data(engine, "Nope")


def _rows(titles: list[str], role: str, source: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"title": titles, "role": role, "label_source": source, "person_external_id": titles}
    )


def test_split_holds_out_confirmed_titles_and_never_trains_on_them() -> None:
    data = pd.concat(
        [
            _rows(CHIEFS + ENGINEERS[:4], "Decision Maker", "confirmed"),
            _rows(OTHERS, NO_ROLE, "confirmed"),
            # Weak copies of confirmed titles (in another case) and titles of their own.
            _rows([t.upper() for t in CHIEFS] + ENGINEERS[4:], "Practitioner", "weak"),
        ],
        ignore_index=True,
    )
    train, held_out, evaluated = split_role_data(data, seed=3)
    assert evaluated == "confirmed" and set(held_out["label_source"]) == {"confirmed"}
    assert not set(held_out["title"].str.casefold()) & set(train["title"].str.casefold())
    assert set(ENGINEERS[4:]) <= set(train["title"])
    few = data[data["label_source"] == "weak"]
    assert split_role_data(pd.concat([few, data.head(3)]), seed=3)[2] == "weak"


# ----------------------------------------------------------------------------- pipeline


def test_few_confirmed_train_on_weak_labels_and_say_so(crm, store, embedder_of_size) -> None:
    add_member(crm, _pid(1, 0), "Decision Maker")
    with pytest.warns(WeakEvaluationWarning):
        result = _train(crm, store, embedder_of_size, suffix="weak")
    assert result.evaluation_set == "weak" and result.promoted
    assert set(result.held_out_labels()["role"]) <= {"Decision Maker", "Practitioner", NO_ROLE}
    run = MlflowClient(tracking_uri=store.tracking_uri).get_run(result.run_id)
    assert run.data.tags["evaluation_set"] == "weak"
    assert run.data.params["evaluation_set"] == "weak" and run.data.params["n_confirmed"] == "1"
    mlflow.set_tracking_uri(store.tracking_uri)
    model = mlflow.pyfunc.load_model(champion_uri(result.name))
    out = model.predict(pd.DataFrame({"title": ["Chief Security Officer", "Cloud Engineer"]}))
    assert list(out.columns) == ["title", "role", "role_confidence"]
    assert list(out["role"]) == ["Decision Maker", "Practitioner"]


def test_enough_confirmed_evaluate_on_confirmed_only(crm, store, embedder_of_size) -> None:
    label_many(crm, account=1)
    label_many(crm, account=2)
    result = _train(crm, store, embedder_of_size, suffix="confirmed", min_confirmed=10)
    assert result.evaluation_set == "confirmed"
    assert result.label_counts is not None and "weak" not in result.label_counts
    confirmed_titles = set(TITLES)
    assert set(result.held_out["title"]) <= confirmed_titles
    run = MlflowClient(tracking_uri=store.tracking_uri).get_run(result.run_id)
    # The label set is the data's: the custom role and "No role", not the template's cards.
    assert set(run.data.params["role_classes"].split("|")) == {
        "Decision Maker",
        "Practitioner",
        SPONSOR,
        NO_ROLE,
    }
    again = _train(crm, store, embedder_of_size, suffix="confirmed", min_confirmed=10)
    assert again.champion_metrics == again.metrics and not again.promoted


def _cli_roles(crm: Engine, store: Any, name: str, *extra: str) -> list[str]:
    """`train roles` arguments for the test database and store, JSON output."""
    url = crm.url.render_as_string(hide_password=False)
    database = ["--database-url", url, "--tracking-uri", store.tracking_uri]
    return [
        *("roles", "--solution-interest", INTEREST, "--name", name, "--embedder", "hashing"),
        *(*database, "--artifact-root", store.artifact_root, "--json", *extra),
    ]


def test_cli_trains_roles_and_prints_json(crm, store) -> None:
    add_member(crm, _pid(1, 0), "Decision Maker")
    url = crm.url.render_as_string(hide_password=False)
    with pytest.warns(WeakEvaluationWarning):
        result = runner.invoke(train_app, _cli_roles(crm, store, f"role-cli-{crm.dialect.name}"))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["evaluation_set"] == "weak" and summary["version"] == "1"
    assert summary["labels"]["confirmed"] == {"Decision Maker": 1}
    args = ["--solution-interest", "Nope", "--database-url", url, "--tracking-uri"]
    missing = runner.invoke(cli_app, ["train", "roles", *args, store.tracking_uri])
    assert missing.exit_code == 2 and "Nope" in missing.stderr


def test_the_role_model_reads_the_inferred_persona(crm, store, embedder_of_size, trained) -> None:
    loaded = load_champion(store.tracking_uri, trained.name)
    assert loaded is not None
    title_model, version = loaded
    persona = FittedModel(title_model, f"{trained.name} v{version}")
    label_many(crm, account=1)
    label_many(crm, account=2)
    options = {"min_confirmed": 10, "persona_model": persona}
    result = _train(
        crm, store, embedder_of_size, suffix="persona", persona_min_confirmed=10, **options
    )
    run = MlflowClient(tracking_uri=store.tracking_uri).get_run(result.run_id)
    assert run.data.params["persona_model"] == persona.description
    # Too few confirmed labels for the default threshold: the title alone, and the run says why.
    plain = _train(crm, store, embedder_of_size, suffix="persona-few", **options)
    params = MlflowClient(tracking_uri=store.tracking_uri).get_run(plain.run_id).data.params
    assert params["persona_model"] == "none (fewer than 200 confirmed labels)"
    assert params["persona_weight"] == "0.0"
    mlflow.set_tracking_uri(store.tracking_uri)
    pyfunc = mlflow.pyfunc.load_model(champion_uri(result.name))
    name, part = pyfunc.unwrap_python_model().classifier.embedder_.embedders_[1]
    expected = {f"{t}={c}" for t in title_model.targets_ for c in title_model.classes_[t]}
    assert name == "persona" and set(part.get_feature_names_out()) == expected
    out = pyfunc.predict(pd.DataFrame({"title": ["Chief Security Officer", "Receptionist"]}))
    assert list(out["role"]) == ["Decision Maker", NO_ROLE]


def test_cli_feeds_the_title_champions_persona_unless_told_not_to(
    crm, store, trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    label_many(crm, account=1)
    label_many(crm, account=2)
    monkeypatch.setenv("BG_TITLE_MODEL_NAME", trained.name)
    get_settings.cache_clear()
    params = {}
    try:
        for flag in ("--persona", "--no-persona"):
            name = f"role-cli-persona-{crm.dialect.name}"
            args = _cli_roles(crm, store, name, "--min-confirmed", "10", flag)
            args += ["--persona-min-confirmed", "10"]
            result = runner.invoke(train_app, args)
            assert result.exit_code == 0, result.output
            run_id = json.loads(result.stdout[result.stdout.index("{") :])["run_id"]
            run = MlflowClient(tracking_uri=store.tracking_uri).get_run(run_id)
            params[flag] = run.data.params["persona_model"]
    finally:
        get_settings.cache_clear()
    assert params["--persona"].startswith(f"{trained.name} v")
    assert params["--no-persona"] == "none"


def test_default_model_name_is_a_slug() -> None:
    assert role_model_name("Secure Edge / EMEA") == "role-secure-edge-emea"


def test_a_department_card_labels_persons_with_and_without_a_department(engine: Engine) -> None:
    import_accounts(engine, pd.DataFrame([{"external_id": "A1", "name": "A 1"}]))
    persons = [
        {"external_id": "P1", "account_external_id": "A1", "job_title": "Manager"},
        {
            "external_id": "P2",
            "account_external_id": "A1",
            "job_title": "Manager",
            "department": "IT Security",
        },
        {"external_id": "P3", "account_external_id": "A1", "job_title": "Analyst"},
    ]
    import_persons(engine, pd.DataFrame(persons))
    card = _card("Practitioner", {"attribute": "department", "operator": "contains", "value": "it"})
    template = RoleTemplate(name="By department", status=TemplateStatus.LIVE, cards=(card,))
    with unit_of_work(make_session_factory(engine)) as session:
        repository = ConfigurationRepository(session)
        repository.create_template(template)
        repository.create_solution_interest(
            SolutionInterest(name="Departments", role_template=template.name)
        )
    data = role_training_data(engine, "Departments", min_confirmed=10)
    by_person = dict(zip(data["person_external_id"], data["role"], strict=True))
    assert by_person["P2"] == "Practitioner"
    assert by_person.get("P1", NO_ROLE) == NO_ROLE
