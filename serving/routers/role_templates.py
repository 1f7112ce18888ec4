"""Role templates: drafts are edited, published (frozen) and copied."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from buying_groups.domain.role_templates import RoleTemplate
from buying_groups.storage.configuration_repository import ConfigurationRepository
from serving.dependencies import SessionDep
from serving.problems import PROBLEM_RESPONSES

router = APIRouter(
    prefix="/v1/role-templates", tags=["role-templates"], responses=PROBLEM_RESPONSES
)

TEMPLATE_EXAMPLE: JsonDict = {
    "name": "Security buying group",
    "description": "Who decides on a security purchase.",
    "status": "draft",
    "cards": [
        {
            "role": "Decision Maker",
            "weighting": 100,
            "members_required": 1,
            "required_for_completeness": True,
            "conditions": {
                "any": [
                    {"attribute": "job_title", "operator": "in_list", "value": ["ciso", "cio"]},
                    {"attribute": "job_title", "operator": "contains", "value": "head of security"},
                ]
            },
        }
    ],
}


class RoleTemplateCreate(RoleTemplate):
    """A new template; card order is priority. Create it live only if it is final."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [TEMPLATE_EXAMPLE]})


class RoleTemplatePublic(RoleTemplate):
    """A template as the API shows it."""


class RoleTemplateCopy(BaseModel):
    """The name of the editable copy."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120, examples=["Security buying group v2"])


def _public(template: RoleTemplate) -> RoleTemplatePublic:
    return RoleTemplatePublic.model_validate(template.model_dump())


def _domain(body: RoleTemplate) -> RoleTemplate:
    return RoleTemplate.model_validate(body.model_dump())


@router.get("", response_model=list[RoleTemplatePublic], summary="List role templates")
def list_templates(session: SessionDep) -> list[RoleTemplatePublic]:
    """All templates by name."""
    return [_public(t) for t in ConfigurationRepository(session).list_templates()]


@router.post(
    "",
    response_model=RoleTemplatePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create a role template",
)
def create_template(body: RoleTemplateCreate, session: SessionDep) -> RoleTemplatePublic:
    """Store a template (draft by default); every card's role must exist."""
    return _public(ConfigurationRepository(session).create_template(_domain(body)))


@router.get("/{name}", response_model=RoleTemplatePublic, summary="Read a role template")
def get_template(name: str, session: SessionDep) -> RoleTemplatePublic:
    """One template with its cards in priority order."""
    return _public(ConfigurationRepository(session).get_template(name))


@router.put("/{name}", response_model=RoleTemplatePublic, summary="Edit a draft template")
def update_template(name: str, body: RoleTemplateCreate, session: SessionDep) -> RoleTemplatePublic:
    """Replace a draft's name, description and cards; a live template answers 409."""
    return _public(ConfigurationRepository(session).update_template(name, _domain(body)))


@router.post("/{name}/publish", response_model=RoleTemplatePublic, summary="Publish a draft")
def publish_template(name: str, session: SessionDep) -> RoleTemplatePublic:
    """Make a draft live (frozen); it needs at least one card."""
    return _public(ConfigurationRepository(session).publish_template(name))


@router.post(
    "/{name}/copy",
    response_model=RoleTemplatePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Copy a template as a draft",
)
def copy_template(name: str, body: RoleTemplateCopy, session: SessionDep) -> RoleTemplatePublic:
    """Store an editable draft copy under a new name."""
    return _public(ConfigurationRepository(session).copy_template(name, body.name))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a draft")
def delete_template(name: str, session: SessionDep) -> None:
    """Delete a draft; live templates cannot be deleted."""
    ConfigurationRepository(session).delete_template(name)
