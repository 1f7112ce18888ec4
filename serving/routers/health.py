"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import text

from serving.dependencies import EngineDep, ModelsDep

router = APIRouter(tags=["health"])


class HealthPublic(BaseModel):
    """The service is up, and whether its database answers."""

    status: str
    database: str


@router.get("/health", response_model=HealthPublic, summary="Is the service up?")
def health(engine: EngineDep) -> HealthPublic:
    """Answer ok when the process runs; report the database separately."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # any driver error means "unreachable" here, never a 500
        database = "unreachable"
    return HealthPublic(status="ok", database=database)


class ReadyPublic(BaseModel):
    """Whether the service can serve, and in which mode."""

    status: str = Field(examples=["ready"])
    database: str
    rules_only: bool = Field(description="True when no title model could be loaded.")
    models: dict[str, str]
    errors: list[str]


@router.get(
    "/ready",
    response_model=ReadyPublic,
    responses={503: {"model": ReadyPublic, "description": "The database is unreachable."}},
    summary="Is the service ready?",
)
def ready(engine: EngineDep, models: ModelsDep, response: Response) -> ReadyPublic:
    """Ready when the database answers; says whether models are loaded or rules-only."""
    database = health(engine).database
    if database != "ok":
        response.status_code = 503
    return ReadyPublic(
        status="ready" if database == "ok" else "unavailable",
        database=database,
        rules_only=models.rules_only,
        models=models.versions(),
        errors=models.errors,
    )
