"""Roles, templates, stage models, interests and audiences round-trip through storage."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from buying_groups.domain.conditions import parse_condition
from buying_groups.domain.errors import (
    ConflictError,
    InvariantError,
    RoleCatalogueError,
    TemplateFrozenError,
)
from buying_groups.domain.role_templates import RoleCard, RoleTemplate, TemplateStatus
from buying_groups.domain.roles import Role
from buying_groups.domain.solution_interests import SolutionInterest
from buying_groups.storage.configuration_document import apply_document, read_document
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups_demo.seed import DEMO_CONFIGURATION

CONDITION = {"attribute": "job_title", "operator": "contains", "value": "security"}


def _template(name: str = "T") -> RoleTemplate:
    cards = (
        RoleCard(role="Decision Maker", weighting=100, conditions=parse_condition(CONDITION)),  # type: ignore[arg-type]
        RoleCard(role="Practitioner", members_required=2, required_for_completeness=False),
    )
    return RoleTemplate(name=name, description="d", cards=cards)


def test_template_round_trips_with_card_order_and_conditions(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        ConfigurationRepository(session).create_template(_template())
    with unit_of_work(factory) as session:
        stored = ConfigurationRepository(session).get_template("T")
    assert stored == _template()
    assert stored.cards[0].conditions is not None
    assert stored.cards[0].model_dump(mode="json")["conditions"] == CONDITION


def test_live_template_refuses_edits_and_deletion(engine: Engine) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        repository = ConfigurationRepository(session)
        repository.create_template(_template())
        assert repository.publish_template("T").status is TemplateStatus.LIVE
        with pytest.raises(TemplateFrozenError):
            repository.update_template("T", _template())
        with pytest.raises(ConflictError):
            repository.delete_template("T")
        copy = repository.copy_template("T", "T v2")
        assert copy.status is TemplateStatus.DRAFT
        repository.delete_template("T v2")


def test_card_with_unknown_role_names_the_card(engine: Engine) -> None:
    template = RoleTemplate(name="X", cards=(RoleCard(role="Wizard"),))
    with (
        unit_of_work(make_session_factory(engine)) as session,
        pytest.raises(InvariantError) as error,
    ):
        ConfigurationRepository(session).create_template(template)
    assert error.value.field == "cards[0].role"


def test_custom_roles_up_to_twenty(engine: Engine) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        repository = ConfigurationRepository(session)
        for number in range(14):
            repository.add_role(Role(name=f"Custom {number}"))
        with pytest.raises(RoleCatalogueError):
            repository.add_role(Role(name="Twenty-first"))
        with pytest.raises(RoleCatalogueError):
            repository.delete_role("Champion")
        repository.delete_role("Custom 3")
        assert len(repository.catalogue()) == 19


def test_solution_interest_needs_a_live_template(engine: Engine) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        repository = ConfigurationRepository(session)
        repository.create_template(_template())
        interest = SolutionInterest(name="S", role_template="T", products=("Data Cloud",))
        with pytest.raises(ConflictError, match="must be live"):
            repository.create_solution_interest(interest)
        repository.publish_template("T")
        repository.create_solution_interest(interest)
        assert repository.get_solution_interest("S") == interest


def test_demo_configuration_applies_and_audiences_evaluate(engine: Engine) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        counts = apply_document(session, read_document(DEMO_CONFIGURATION))
        repository = ConfigurationRepository(session)
        assert counts["solution_interests"] == 2
        templates = repository.list_templates()
        assert {t.status for t in templates} == {TemplateStatus.LIVE}
        assert repository.get_stage_model("Standard B2B journey").entry_stages() == ["Identified"]
        assert repository.audience_accounts("Analytics Pro owners") == []


def test_failed_document_leaves_nothing_behind(engine: Engine) -> None:
    document = read_document(DEMO_CONFIGURATION)
    broken = document.model_copy(
        update={
            "solution_interests": [*document.solution_interests, document.solution_interests[0]]
        }
    )
    factory = make_session_factory(engine)
    with pytest.raises(ConflictError), unit_of_work(factory) as session:
        apply_document(session, broken)
    with unit_of_work(factory) as session:
        assert ConfigurationRepository(session).list_templates() == []
