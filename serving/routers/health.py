"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from serving.dependencies import EngineDep

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
