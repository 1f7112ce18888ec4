"""Stage models: entry, success and failure stages with the moves allowed between them."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import ConfigDict
from pydantic.json_schema import JsonDict

from buying_groups.domain.stage_models import StageModel
from buying_groups.storage.configuration_repository import ConfigurationRepository
from serving.dependencies import SessionDep
from serving.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1/stage-models", tags=["stage-models"], responses=PROBLEM_RESPONSES)

STAGE_MODEL_EXAMPLE: JsonDict = {
    "name": "Standard B2B journey",
    "description": "",
    "stages": [
        {"name": "Identified", "kind": "entry", "next": ["Engaged", "Lost"]},
        {"name": "Engaged", "kind": "intermediate", "next": ["Won", "Lost"]},
        {"name": "Won", "kind": "success", "next": []},
        {"name": "Lost", "kind": "failure", "next": []},
    ],
}


class StageModelCreate(StageModel):
    """A stage model: at least one entry stage, exactly one success stage."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [STAGE_MODEL_EXAMPLE]})


class StageModelPublic(StageModel):
    """A stage model as the API shows it."""


@router.get("", response_model=list[StageModelPublic], summary="List stage models")
def list_stage_models(session: SessionDep) -> list[StageModelPublic]:
    """All stage models by name."""
    models = ConfigurationRepository(session).list_stage_models()
    return [StageModelPublic.model_validate(m.model_dump()) for m in models]


@router.post(
    "",
    response_model=StageModelPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create a stage model",
)
def create_stage_model(body: StageModelCreate, session: SessionDep) -> StageModelPublic:
    """Store a validated stage model."""
    model = StageModel.model_validate(body.model_dump())
    ConfigurationRepository(session).create_stage_model(model)
    return StageModelPublic.model_validate(model.model_dump())


@router.get("/{name}", response_model=StageModelPublic, summary="Read a stage model")
def get_stage_model(name: str, session: SessionDep) -> StageModelPublic:
    """One stage model by name."""
    model = ConfigurationRepository(session).get_stage_model(name)
    return StageModelPublic.model_validate(model.model_dump())
