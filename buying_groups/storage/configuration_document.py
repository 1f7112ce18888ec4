"""Apply a configuration document: roles, stage models, templates, interests, audiences."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from buying_groups.domain.role_templates import RoleTemplate
from buying_groups.domain.roles import Role
from buying_groups.domain.solution_interests import AccountAudience, SolutionInterest
from buying_groups.domain.stage_models import StageModel
from buying_groups.storage.configuration_repository import ConfigurationRepository


class ConfigurationDocument(BaseModel):
    """Everything a deployment configures, in dependency order."""

    model_config = ConfigDict(extra="forbid")

    roles: list[Role] = Field(default_factory=list)
    stage_models: list[StageModel] = Field(default_factory=list)
    role_templates: list[RoleTemplate] = Field(default_factory=list)
    solution_interests: list[SolutionInterest] = Field(default_factory=list)
    account_audiences: list[AccountAudience] = Field(default_factory=list)


def read_document(path: Path) -> ConfigurationDocument:
    """Parse a .yaml/.yml/.json configuration file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return ConfigurationDocument.model_validate(data)


def apply_document(session: Session, document: ConfigurationDocument) -> dict[str, int]:
    """Create every entity of the document (in the caller's transaction); returns counts."""
    repository = ConfigurationRepository(session)
    for role in document.roles:
        repository.add_role(role)
    for stage_model in document.stage_models:
        repository.create_stage_model(stage_model)
    for template in document.role_templates:
        repository.create_template(template)
    for interest in document.solution_interests:
        repository.create_solution_interest(interest)
    for audience in document.account_audiences:
        repository.create_audience(audience)
    return _counts(document.model_dump())


def _counts(data: Mapping[str, Any]) -> dict[str, int]:
    return {key: len(value) for key, value in data.items()}
