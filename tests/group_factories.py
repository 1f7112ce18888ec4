"""Small factories that write buying groups straight into the tables (no generation job)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from buying_groups.domain.role_templates import RoleCard, RoleTemplate, TemplateStatus
from buying_groups.domain.solution_interests import SolutionInterest
from buying_groups.domain.stage_models import StageModel
from buying_groups.scores.completeness import CardRequirement, group_completeness
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.tables import (
    AccountRow,
    BuyingGroupRow,
    GroupRoleRow,
    MemberRow,
    PersonRow,
    RoleCardRow,
    RoleRow,
    SolutionInterestRow,
)

SECURITY = "Secure Edge"
DATA = "Data Cloud"
STAGES = StageModel.model_validate(
    {
        "name": "Journey",
        "stages": [
            {"name": "Identified", "kind": "entry", "next": ["Engaged", "Lost"]},
            {"name": "Engaged", "next": ["Opportunity", "Lost"]},
            {"name": "Opportunity", "next": ["Won", "Lost"]},
            {"name": "Won", "kind": "success"},
            {"name": "Lost", "kind": "failure"},
        ],
    }
)
SECURITY_TEMPLATE = RoleTemplate(
    name="Security",
    status=TemplateStatus.LIVE,
    cards=(
        RoleCard(role="Decision Maker", weighting=100),  # type: ignore[arg-type]
        RoleCard(role="Influencer", weighting=80),  # type: ignore[arg-type]
        RoleCard(role="Practitioner", members_required=2),
        RoleCard(role="Champion", required_for_completeness=False),
    ),
)
DATA_TEMPLATE = RoleTemplate(
    name="Data",
    status=TemplateStatus.LIVE,
    cards=(RoleCard(role="Decision Maker"), RoleCard(role="Practitioner", members_required=3)),
)


def add_configuration(session: Session) -> None:
    """Two live templates, a stage model, and two interests (only Secure Edge has stages)."""
    repository = ConfigurationRepository(session)
    repository.create_stage_model(STAGES)
    repository.create_template(SECURITY_TEMPLATE)
    repository.create_template(DATA_TEMPLATE)
    repository.create_solution_interest(
        SolutionInterest(name=SECURITY, role_template="Security", stage_model="Journey")
    )
    repository.create_solution_interest(SolutionInterest(name=DATA, role_template="Data"))


def add_account(session: Session, external_id: str, **values: Any) -> int:
    """An account (name defaults to the id); returns its row id."""
    parent = values.pop("parent", None)
    row = AccountRow(external_id=external_id, name=values.pop("name", external_id), **values)
    if parent is not None:
        row.parent_id = _id(session, AccountRow, external_id=parent)
    session.add(row)
    session.flush()
    return row.id


def add_group(
    session: Session,
    account: str,
    interest: str,
    assigned: Mapping[str, int] | None = None,
    **values: Any,
) -> int:
    """A group whose role rows hold ``assigned`` people per role (None: no role rows at all).

    Completeness is computed from the template's cards, as the generation job does.
    """
    interest_row = session.scalars(
        select(SolutionInterestRow).where(SolutionInterestRow.name == interest)
    ).one()
    cards = _cards(session, interest_row.role_template_id)
    overall = 0.0 if assigned is None else group_completeness(cards.values(), assigned).overall
    row = BuyingGroupRow(
        account_id=_id(session, AccountRow, external_id=account),
        solution_interest_id=interest_row.id,
        role_template_id=interest_row.role_template_id,
        completeness=values.pop("completeness", overall),
        **values,
    )
    session.add(row)
    session.flush()
    if assigned is not None:
        _add_role_rows(session, row.id, cards, assigned)
    return row.id


def _cards(session: Session, template_id: int) -> dict[str, CardRequirement]:
    rows = session.execute(
        select(RoleRow.name, RoleCardRow)
        .join(RoleCardRow, RoleCardRow.role_id == RoleRow.id)
        .where(RoleCardRow.template_id == template_id)
        .order_by(RoleCardRow.position)
    ).all()
    return {
        name: CardRequirement(name, card.members_required, card.required_for_completeness)
        for name, card in rows
    }


def _add_role_rows(
    session: Session,
    group_id: int,
    cards: Mapping[str, CardRequirement],
    assigned: Mapping[str, int],
) -> None:
    scores = group_completeness(cards.values(), assigned).per_role
    for role, card in cards.items():
        session.add(
            GroupRoleRow(
                group_id=group_id,
                role_id=_id(session, RoleRow, name=role),
                assigned=assigned.get(role, 0),
                required=card.members_required,
                completeness=scores[role],
                required_for_completeness=card.required_for_completeness,
            )
        )
    session.flush()


def add_member(session: Session, group_id: int, person: str, role: str, **values: Any) -> int:
    """A member (the person is created at the group's account when new)."""
    group = session.get_one(BuyingGroupRow, group_id)
    person_id = session.scalar(select(PersonRow.id).where(PersonRow.external_id == person))
    if person_id is None:
        title = values.pop("job_title", f"{role} title")
        created = PersonRow(external_id=person, account_id=group.account_id, job_title=title)
        session.add(created)
        session.flush()
        person_id = created.id
    row = MemberRow(
        group_id=group_id,
        person_id=person_id,
        role_id=_id(session, RoleRow, name=role),
        source=values.pop("source", "rule"),
        **values,
    )
    session.add(row)
    session.flush()
    return row.id


def at(day: int) -> datetime:
    """A fixed timestamp, for ordering by updated_at."""
    return datetime(2026, 1, day, 12, tzinfo=UTC)


def _id(session: Session, table: Any, **where: Any) -> int:
    return session.scalars(select(table.id).filter_by(**where)).one()
