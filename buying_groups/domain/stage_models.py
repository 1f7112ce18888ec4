"""Stage models: the stages a buying group moves through and the moves allowed."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from buying_groups.domain.errors import StageTransitionError


class StageKind(StrEnum):
    """Where a stage sits in the model."""

    ENTRY = "entry"
    INTERMEDIATE = "intermediate"
    SUCCESS = "success"
    FAILURE = "failure"


class Stage(BaseModel):
    """One stage and the stages it may move to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=80)
    description: str = Field(default="", max_length=500)
    kind: StageKind = StageKind.INTERMEDIATE
    next: tuple[str, ...] = ()

    @property
    def is_final(self) -> bool:
        """Success and failure stages end the journey."""
        return self.kind in (StageKind.SUCCESS, StageKind.FAILURE)


class StageModel(BaseModel):
    """A validated set of stages."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    stages: tuple[Stage, ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _check_shape(self) -> StageModel:
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError("stage names must be unique")
        kinds = [s.kind for s in self.stages]
        if StageKind.ENTRY not in kinds:
            raise ValueError("a stage model needs at least one entry stage")
        if kinds.count(StageKind.SUCCESS) != 1:
            raise ValueError("a stage model needs exactly one success stage")
        for stage in self.stages:
            unknown = [n for n in stage.next if n not in names]
            if unknown:
                raise ValueError(f"stage {stage.name!r} moves to unknown stage(s) {unknown}")
            if stage.is_final and stage.next:
                raise ValueError(f"final stage {stage.name!r} cannot move on")
            if not stage.is_final and not stage.next:
                raise ValueError(f"stage {stage.name!r} must list the stages it may move to")
        return self

    def stage(self, name: str) -> Stage:
        """Return the stage called ``name``."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise StageTransitionError(f"stage {name!r} is not in stage model {self.name!r}")

    def entry_stages(self) -> list[str]:
        """Names of the stages a new group may start in."""
        return [s.name for s in self.stages if s.kind is StageKind.ENTRY]

    def check_transition(self, current: str | None, target: str) -> None:
        """Raise unless a group in ``current`` (None: no stage yet) may move to ``target``."""
        self.stage(target)
        if current is None:
            if target not in self.entry_stages():
                raise StageTransitionError(
                    f"a group without a stage can only enter an entry stage, not {target!r}"
                )
            return
        if target not in self.stage(current).next:
            raise StageTransitionError(
                f"moving from stage {current!r} to stage {target!r} is not allowed"
            )
