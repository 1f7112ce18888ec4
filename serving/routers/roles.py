"""The role catalogue: six built-in roles plus custom ones (at most 20 in all)."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import ConfigDict

from buying_groups.domain.roles import Role
from buying_groups.storage.configuration_repository import ConfigurationRepository
from serving.dependencies import SessionDep
from serving.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1/roles", tags=["roles"], responses=PROBLEM_RESPONSES)


class RoleCreate(Role):
    """A custom role; `is_builtin` is ignored."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Procurement", "description": "Buys."}]},
    )


class RolePublic(Role):
    """A role as the API shows it."""


@router.get("", response_model=list[RolePublic], summary="List roles")
def list_roles(session: SessionDep) -> list[RolePublic]:
    """All roles, built-ins first."""
    catalogue = ConfigurationRepository(session).catalogue()
    return [RolePublic.model_validate(catalogue.get(n).model_dump()) for n in catalogue.names()]


@router.post(
    "", response_model=RolePublic, status_code=status.HTTP_201_CREATED, summary="Add a role"
)
def create_role(body: RoleCreate, session: SessionDep) -> RolePublic:
    """Add a custom role; names are unique (case-insensitive)."""
    role = ConfigurationRepository(session).add_role(Role(**body.model_dump()))
    return RolePublic.model_validate(role.model_dump())


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a role")
def delete_role(name: str, session: SessionDep) -> None:
    """Delete a custom role no template uses; built-in roles cannot be deleted."""
    ConfigurationRepository(session).delete_role(name)
