"""Generation jobs: create or maintain the buying groups of an audience, in the background."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from buying_groups.generation.jobs import GenerationMode, JobState, create_job, get_job
from buying_groups.generation.jobs import GenerationReport as Report
from serving.dependencies import JobRunnerDep, JobUnitOfWorkDep, ModelsDep
from serving.problems import PROBLEM_RESPONSES

router = APIRouter(
    prefix="/v1/generation-jobs", tags=["generation-jobs"], responses=PROBLEM_RESPONSES
)
JobId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class GenerationJobCreate(BaseModel):
    """Which groups to build, how, and a key that makes retries safe."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "solution_interest": "Secure Edge",
                    "audience": "Large accounts without Secure Edge",
                    "mode": "rules",
                    "idempotency_key": "crm-sync-2026-11-27",
                }
            ]
        },
    )

    solution_interest: str = Field(min_length=1, max_length=120)
    audience: str = Field(min_length=1, max_length=120)
    mode: GenerationMode = GenerationMode.RULES
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)


class GenerationJobPublic(BaseModel):
    """A job's state, progress and counts."""

    job_id: int
    solution_interest: str
    audience: str
    mode: str
    state: JobState
    total_accounts: int
    processed_accounts: int
    groups_created: int
    groups_updated: int
    members_added: int
    members_removed: int
    members_changed: int
    reviews_created: int = Field(description="Review items the job opened (model, hybrid).")
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, report: Report) -> GenerationJobPublic:
        """Convert the stored report."""
        return cls.model_validate(report, from_attributes=True)


@router.post(
    "",
    response_model=GenerationJobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses={200: {"model": GenerationJobPublic, "description": "The idempotency key's job."}},
    summary="Start a generation job",
)
def create_generation_job(
    body: GenerationJobCreate,
    uow: JobUnitOfWorkDep,
    models: ModelsDep,
    runner: JobRunnerDep,
    response: Response,
) -> GenerationJobPublic:
    """Queue a job; it runs in the background. A known idempotency key returns its job (200).

    Modes model and hybrid need the solution interest's role model to be loaded (409
    otherwise); the job runs with the champion loaded when it starts.
    """
    loaded = models.roles.get(body.solution_interest)
    job_id = create_job(
        uow,
        solution_interest=body.solution_interest,
        audience=body.audience,
        mode=body.mode.value,
        idempotency_key=body.idempotency_key,
        role_model=loaded.classifier if loaded else None,
    )
    report = get_job(uow, job_id)
    if report.state == JobState.QUEUED:
        runner.submit(job_id)
    else:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/generation-jobs/{job_id}"
    return GenerationJobPublic.of(report)


@router.get("/{job_id}", response_model=GenerationJobPublic, summary="Read a generation job")
def get_generation_job(job_id: JobId, uow: JobUnitOfWorkDep) -> GenerationJobPublic:
    """State (queued, running, succeeded, failed), progress and counts."""
    return GenerationJobPublic.of(get_job(uow, job_id))
