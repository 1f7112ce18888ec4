"""Solution interests: what is sold, with its live role template and optional stage model."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import ConfigDict

from buying_groups.domain.solution_interests import SolutionInterest
from buying_groups.storage.configuration_repository import ConfigurationRepository
from serving.dependencies import SessionDep
from serving.problems import PROBLEM_RESPONSES

router = APIRouter(
    prefix="/v1/solution-interests", tags=["solution-interests"], responses=PROBLEM_RESPONSES
)


class SolutionInterestCreate(SolutionInterest):
    """A solution interest; its template must be live and cannot change later."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Secure Edge",
                    "description": "Zero-trust network security.",
                    "products": ["Secure Edge"],
                    "role_template": "Security buying group",
                    "stage_model": "Standard B2B journey",
                    "keep_up_to_date": True,
                    "model_accept_threshold": 0.6,
                    "model_review_threshold": 0.35,
                }
            ]
        },
    )


class SolutionInterestPublic(SolutionInterest):
    """A solution interest as the API shows it."""


def _public(interest: SolutionInterest) -> SolutionInterestPublic:
    return SolutionInterestPublic.model_validate(interest.model_dump())


@router.get("", response_model=list[SolutionInterestPublic], summary="List solution interests")
def list_solution_interests(session: SessionDep) -> list[SolutionInterestPublic]:
    """All solution interests by name."""
    return [_public(i) for i in ConfigurationRepository(session).list_solution_interests()]


@router.post(
    "",
    response_model=SolutionInterestPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create a solution interest",
)
def create_solution_interest(
    body: SolutionInterestCreate, session: SessionDep
) -> SolutionInterestPublic:
    """Store a solution interest (unique name; live template; existing stage model)."""
    interest = SolutionInterest.model_validate(body.model_dump())
    return _public(ConfigurationRepository(session).create_solution_interest(interest))


@router.get("/{name}", response_model=SolutionInterestPublic, summary="Read a solution interest")
def get_solution_interest(name: str, session: SessionDep) -> SolutionInterestPublic:
    """One solution interest by name."""
    return _public(ConfigurationRepository(session).get_solution_interest(name))


@router.delete(
    "/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a solution interest"
)
def delete_solution_interest(name: str, session: SessionDep) -> None:
    """Delete a solution interest that has no buying groups (409 otherwise)."""
    ConfigurationRepository(session).delete_solution_interest(name)
