"""Roles, role templates, stage models, solution interests and audiences in the database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from buying_groups.domain.accounts import Account
from buying_groups.domain.errors import ConflictError, InvariantError, NotFoundError
from buying_groups.domain.role_templates import RoleCard, RoleTemplate, TemplateStatus
from buying_groups.domain.roles import Role, RoleCatalogue
from buying_groups.domain.solution_interests import AccountAudience, SolutionInterest
from buying_groups.domain.stage_models import StageModel
from buying_groups.generation.ports import InterestRef, RoleRef
from buying_groups.storage.crm_repository import CrmRepository
from buying_groups.storage.tables import (
    AccountAudienceRow,
    BuyingGroupRow,
    RoleCardRow,
    RoleRow,
    RoleTemplateRow,
    SolutionInterestRow,
    StageModelRow,
)


class ConfigurationRepository:
    """Reads and writes the configuration entities; the domain objects enforce the rules."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- roles -----------------------------------------------------------------------------

    def catalogue(self) -> RoleCatalogue:
        """All roles, built-ins first."""
        rows = self.session.scalars(select(RoleRow).order_by(RoleRow.id)).all()
        return RoleCatalogue(
            Role(name=r.name, description=r.description, is_builtin=r.is_builtin) for r in rows
        )

    def add_role(self, role: Role) -> Role:
        """Add a custom role (at most 20 roles in all; names unique)."""
        added = self.catalogue().add(role)
        self.session.add(RoleRow(name=added.name, description=added.description, is_builtin=False))
        self.session.flush()
        return added

    def delete_role(self, name: str) -> None:
        """Delete a custom role that no card uses."""
        role = self.catalogue().check_editable(name)
        row = self._role_row(role.name)
        if self.session.scalar(select(exists().where(RoleCardRow.role_id == row.id))):
            raise ConflictError(f"role {role.name!r} is used by a role template")
        self.session.delete(row)

    def role_ids(self) -> dict[str, int]:
        """Every role: name -> id."""
        return dict(self.session.execute(select(RoleRow.name, RoleRow.id)).tuples().all())

    def role(self, name: str) -> RoleRef | None:
        """A role by name, ignoring case; None if there is none."""
        found = self.session.execute(
            select(RoleRow.id, RoleRow.name).where(func.lower(RoleRow.name) == name.lower())
        ).first()
        return RoleRef(*found) if found else None

    def _role_row(self, name: str) -> RoleRow:
        row = self.session.scalar(select(RoleRow).where(func.lower(RoleRow.name) == name.lower()))
        if row is None:
            raise NotFoundError(f"role {name!r} does not exist")
        return row

    # --- role templates ----------------------------------------------------------------------

    def _template_row(self, name: str) -> RoleTemplateRow:
        row = self.session.scalar(select(RoleTemplateRow).where(RoleTemplateRow.name == name))
        if row is None:
            raise NotFoundError(f"role template {name!r} does not exist")
        return row

    def get_template(self, name: str) -> RoleTemplate:
        """One template with its cards in priority order."""
        return self._template_of(self._template_row(name))

    def _template_of(self, row: RoleTemplateRow) -> RoleTemplate:
        cards = self.session.execute(
            select(RoleCardRow, RoleRow.name)
            .join(RoleRow, RoleCardRow.role_id == RoleRow.id)
            .where(RoleCardRow.template_id == row.id)
            .order_by(RoleCardRow.position)
        ).all()
        return RoleTemplate.model_validate(
            {
                "name": row.name,
                "description": row.description,
                "status": row.status,
                "cards": [_card_data(card, role) for card, role in cards],
            }
        )

    def list_templates(self) -> list[RoleTemplate]:
        """All templates by name."""
        rows = self.session.scalars(select(RoleTemplateRow).order_by(RoleTemplateRow.name))
        return [self._template_of(r) for r in rows]

    def _template_exists(self, name: str) -> bool:
        query = select(RoleTemplateRow.id).where(RoleTemplateRow.name == name)
        with self.session.no_autoflush:
            return self.session.scalar(query) is not None

    def create_template(self, template: RoleTemplate) -> RoleTemplate:
        """Store a new template (draft or live)."""
        if self._template_exists(template.name):
            raise ConflictError(f"role template {template.name!r} already exists")
        row = RoleTemplateRow(
            name=template.name, description=template.description, status=template.status.value
        )
        if template.status is TemplateStatus.LIVE:
            # Publishing checks what a live template needs (at least one card).
            template.model_copy(update={"status": TemplateStatus.DRAFT}).publish()
            row.published_at = datetime.now(UTC)
        self.session.add(row)
        self.session.flush()
        self._write_cards(row, template.cards)
        return template

    def update_template(self, name: str, template: RoleTemplate) -> RoleTemplate:
        """Replace a draft's description and cards (a live template refuses)."""
        current = self.get_template(name)
        if template.name != name and self._template_exists(template.name):
            raise ConflictError(f"role template {template.name!r} already exists")
        edited = current.edit(
            name=template.name, description=template.description, cards=template.cards
        )
        row = self._template_row(name)
        row.name, row.description = edited.name, edited.description
        self.session.execute(delete(RoleCardRow).where(RoleCardRow.template_id == row.id))
        self._write_cards(row, edited.cards)
        return edited

    def _write_cards(self, row: RoleTemplateRow, cards: tuple[RoleCard, ...]) -> None:
        catalogue = self.catalogue()
        for position, card in enumerate(cards):
            if card.role not in catalogue:
                raise InvariantError(
                    f"role {card.role!r} does not exist", field=f"cards[{position}].role"
                )
            self.session.add(
                RoleCardRow(
                    template_id=row.id,
                    position=position,
                    role_id=self._role_row(card.role).id,
                    weighting=int(card.weighting),
                    conditions=card.model_dump(mode="json")["conditions"],
                    members_required=card.members_required,
                    required_for_completeness=card.required_for_completeness,
                )
            )
        self.session.flush()

    def publish_template(self, name: str) -> RoleTemplate:
        """Make a draft live (frozen from then on)."""
        live = self.get_template(name).publish()
        row = self._template_row(name)
        row.status, row.published_at = live.status.value, datetime.now(UTC)
        return live

    def copy_template(self, name: str, new_name: str) -> RoleTemplate:
        """Store an editable draft copy of a template."""
        return self.create_template(self.get_template(name).copy_as_draft(new_name))

    def delete_template(self, name: str) -> None:
        """Delete a draft template."""
        self.get_template(name).ensure_deletable()
        self.session.delete(self._template_row(name))

    # --- stage models ------------------------------------------------------------------------

    def create_stage_model(self, model: StageModel) -> StageModel:
        """Store a validated stage model."""
        if self.session.scalar(select(StageModelRow.id).where(StageModelRow.name == model.name)):
            raise ConflictError(f"stage model {model.name!r} already exists")
        data = model.model_dump(mode="json")
        self.session.add(
            StageModelRow(name=model.name, description=model.description, stages=data["stages"])
        )
        self.session.flush()
        return model

    def get_stage_model(self, name: str) -> StageModel:
        """One stage model by name."""
        row = self.session.scalar(select(StageModelRow).where(StageModelRow.name == name))
        if row is None:
            raise NotFoundError(f"stage model {name!r} does not exist")
        return StageModel(name=row.name, description=row.description, stages=row.stages)

    def list_stage_models(self) -> list[StageModel]:
        """All stage models by name."""
        names = self.session.scalars(select(StageModelRow.name).order_by(StageModelRow.name))
        return [self.get_stage_model(n) for n in names]

    # --- solution interests ------------------------------------------------------------------

    def create_solution_interest(self, interest: SolutionInterest) -> SolutionInterest:
        """Store a solution interest; its template must be live, its stage model must exist."""
        if self.session.scalar(
            select(SolutionInterestRow.id).where(SolutionInterestRow.name == interest.name)
        ):
            raise ConflictError(f"solution interest {interest.name!r} already exists")
        template = self._template_row(interest.role_template)
        if template.status != TemplateStatus.LIVE.value:
            raise ConflictError(f"role template {template.name!r} must be live to be used")
        stage_model_id = None
        if interest.stage_model is not None:
            self.get_stage_model(interest.stage_model)
            stage_model_id = self.session.scalar(
                select(StageModelRow.id).where(StageModelRow.name == interest.stage_model)
            )
        values = interest.model_dump(exclude={"role_template", "stage_model"})
        values["products"] = list(interest.products)
        self.session.add(
            SolutionInterestRow(
                **values, role_template_id=template.id, stage_model_id=stage_model_id
            )
        )
        self.session.flush()
        return interest

    def _interest_row(self, name: str) -> SolutionInterestRow:
        row = self.session.scalar(
            select(SolutionInterestRow).where(SolutionInterestRow.name == name)
        )
        if row is None:
            raise NotFoundError(f"solution interest {name!r} does not exist")
        return row

    def interest_ref(self, name: str) -> InterestRef:
        """The ids of a solution interest and its template, or NotFoundError."""
        row = self._interest_row(name)
        template = self.session.get_one(RoleTemplateRow, row.role_template_id)
        return InterestRef(row.id, row.name, template.id, template.name)

    def get_solution_interest(self, name: str) -> SolutionInterest:
        """One solution interest by name."""
        row = self._interest_row(name)
        template = self.session.get_one(RoleTemplateRow, row.role_template_id)
        stage = self.session.get(StageModelRow, row.stage_model_id) if row.stage_model_id else None
        return SolutionInterest(
            name=row.name,
            description=row.description,
            products=tuple(row.products),
            role_template=template.name,
            stage_model=stage.name if stage else None,
            keep_up_to_date=row.keep_up_to_date,
            model_accept_threshold=row.model_accept_threshold,
            model_review_threshold=row.model_review_threshold,
        )

    def list_solution_interests(self) -> list[SolutionInterest]:
        """All solution interests by name."""
        names = self.session.scalars(
            select(SolutionInterestRow.name).order_by(SolutionInterestRow.name)
        )
        return [self.get_solution_interest(n) for n in names]

    def delete_solution_interest(self, name: str) -> None:
        """Delete a solution interest that no buying group uses."""
        row = self._interest_row(name)
        used = select(exists().where(BuyingGroupRow.solution_interest_id == row.id))
        if self.session.scalar(used):
            raise ConflictError(
                f"solution interest {name!r} has buying groups and cannot be deleted"
            )
        self.session.delete(row)

    # --- account audiences -------------------------------------------------------------------

    def create_audience(self, audience: AccountAudience) -> AccountAudience:
        """Store an audience (a static list or a filter)."""
        if self.session.scalar(
            select(AccountAudienceRow.id).where(AccountAudienceRow.name == audience.name)
        ):
            raise ConflictError(f"account audience {audience.name!r} already exists")
        data = audience.model_dump(mode="json")
        self.session.add(AccountAudienceRow(**data))
        self.session.flush()
        return audience

    def audience_id(self, name: str) -> int:
        """The id of an audience, or NotFoundError."""
        found = self.session.scalar(
            select(AccountAudienceRow.id).where(AccountAudienceRow.name == name)
        )
        if found is None:
            raise NotFoundError(f"account audience {name!r} does not exist")
        return found

    def select_audience(self, audience: AccountAudience) -> dict[int, str]:
        """The audience's accounts now (evaluated in SQL): id -> external id."""
        # Imported here: audience_preview reads audiences through this repository.
        from buying_groups.storage.audience_preview import select_audience

        return select_audience(self.session, audience)

    def get_audience(self, name: str) -> AccountAudience:
        """One audience by name."""
        row = self.session.scalar(select(AccountAudienceRow).where(AccountAudienceRow.name == name))
        if row is None:
            raise NotFoundError(f"account audience {name!r} does not exist")
        return AccountAudience.model_validate(
            {
                "name": row.name,
                "description": row.description,
                "kind": row.kind,
                "account_external_ids": row.account_external_ids,
                "filter": row.filter,
            }
        )

    def list_audiences(self) -> list[AccountAudience]:
        """All audiences by name."""
        names = self.session.scalars(
            select(AccountAudienceRow.name).order_by(AccountAudienceRow.name)
        )
        return [self.get_audience(n) for n in names]

    def audience_accounts(self, name: str) -> list[str]:
        """External ids of the accounts in an audience, evaluated now."""
        audience = self.get_audience(name)
        return audience.select(self._all_accounts())

    def _all_accounts(self) -> list[Account]:
        repository = CrmRepository(self.session)
        total = repository.count_accounts()
        return list(repository.list_accounts(limit=max(total, 1)).items)


def _card_data(card: RoleCardRow, role: str) -> dict[str, Any]:
    return {
        "role": role,
        "weighting": card.weighting,
        "conditions": card.conditions,
        "members_required": card.members_required,
        "required_for_completeness": card.required_for_completeness,
    }
