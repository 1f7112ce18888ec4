"""Comparisons of rule and model role assignments, per solution interest (and audience)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from buying_groups.generation.comparisons import compare_assignments
from buying_groups.storage.unit_of_work import SqlUnitOfWork
from serving.dependencies import ModelsDep, SessionDep
from serving.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1", tags=["comparisons"], responses=PROBLEM_RESPONSES)


class DisagreementPublic(BaseModel):
    """A person the rules and the model place differently."""

    person_external_id: str
    account_external_id: str
    job_title: str | None
    rule_role: str = Field(examples=["No role"])
    rule_evidence: str | None
    model_role: str = Field(examples=["Influencer"])
    model_confidence: float


class ComparisonPublic(BaseModel):
    """Agreement rate, confusion table (rule role -> model role -> persons), disagreements."""

    solution_interest: str
    audience: str | None
    model_version: str
    persons: int
    no_role_both: int = Field(description="Persons neither side puts in a role.")
    placed: int = Field(description="Persons at least one side puts in a role.")
    agreements: int = Field(description="Placed persons both sides put in the same role.")
    agreement_rate: float | None = Field(description="agreements / placed (null: none placed).")
    kappa: float | None = Field(
        description="Cohen's kappa over every person (null when undefined: one label only)."
    )
    confusion: dict[str, dict[str, int]]
    disagreements_total: int
    disagreements: list[DisagreementPublic]


@router.get("/comparisons", response_model=ComparisonPublic, summary="Rules versus model")
def compare(
    models: ModelsDep,
    session: SessionDep,
    solution_interest: Annotated[str, Query(min_length=1, max_length=120)],
    audience: Annotated[str | None, Query(max_length=120)] = None,
    limit: Annotated[int, Query(ge=0, le=1000, description="Disagreements listed.")] = 100,
) -> ComparisonPublic:
    """Per person of the interest's accounts (or the audience's): the rule's role and the
    role model's; 409 when no role model is loaded for the interest."""
    loaded = models.roles.get(solution_interest)
    title = models.title
    # A session, not UnitOfWorkDep: the web pages call this route with theirs.
    result = compare_assignments(
        SqlUnitOfWork.joining(session),
        solution_interest,
        loaded.classifier if loaded else None,
        title_model=title.classifier if title else None,
        audience=audience,
        limit=limit,
    )
    return ComparisonPublic(
        solution_interest=result.solution_interest,
        audience=result.audience,
        model_version=loaded.version if loaded else "",
        persons=result.persons,
        no_role_both=result.no_role_both,
        placed=result.placed,
        agreements=result.agreements,
        agreement_rate=result.agreement_rate,
        kappa=result.kappa,
        confusion=result.confusion,
        disagreements_total=result.disagreements_total,
        disagreements=[DisagreementPublic.model_validate(d.__dict__) for d in result.disagreements],
    )
