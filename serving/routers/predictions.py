"""Role predictions for job titles, and which models are loaded."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from buying_groups.assignment import Thresholds
from buying_groups.ml.role_predictions import (
    ANY_ANSWER,
    NOBODY_KNOWN,
    KnownPerson,
    RuleRoles,
    TitlePrediction,
    predict_roles,
)
from buying_groups.storage.configuration_repository import ConfigurationRepository
from serving.dependencies import ModelsDep, ModelStoreDep, SessionDep, SessionFactoryDep
from serving.models import LoadedModel, ModelSet, ModelStore
from serving.problems import PROBLEM_RESPONSES
from serving.security import authorize_admin

router = APIRouter(prefix="/v1", tags=["models"], responses=PROBLEM_RESPONSES)
MAX_TITLES = 1000
#: Up to this many uncached titles are predicted on the event loop (a few milliseconds);
#: more go to the thread pool so one big batch does not stall every other request.
INLINE_TITLES = 8


class PersonFactsCreate(BaseModel):
    """A person to predict for: the title, and what else is known (cards may test it)."""

    model_config = ConfigDict(extra="forbid")

    job_title: str = Field(max_length=300)
    department: str | None = Field(default=None, max_length=150)
    country: str | None = Field(default=None, min_length=2, max_length=2)
    email: str | None = Field(default=None, max_length=320)
    engagement_score: float | None = Field(default=None, ge=0, le=100)

    def known(self) -> KnownPerson:
        """The facts beyond the title."""
        return KnownPerson(self.department, self.country, self.email, self.engagement_score)


class RolePredictionCreate(BaseModel):
    """Up to 1,000 job titles, or persons (a title and what else is known of them),
    optionally for one solution interest (to predict roles)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "titles": ["Leiterin IT-Sicherheit", "VP Sales EMEA"],
                    "solution_interest": "Secure Edge",
                }
            ]
        },
    )

    titles: list[Annotated[str, Field(max_length=300)]] | None = Field(
        default=None, min_length=1, max_length=MAX_TITLES
    )
    persons: list[PersonFactsCreate] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TITLES,
        description="Instead of titles: the role then follows every card, as in a job.",
    )
    solution_interest: str | None = Field(default=None, max_length=120)

    @model_validator(mode="after")
    def _titles_or_persons(self) -> RolePredictionCreate:
        if (self.titles is None) == (self.persons is None):
            raise ValueError("send either titles or persons, not both or neither")
        return self

    def items(self) -> list[tuple[str, KnownPerson]]:
        """Each title with what is known of its person (nothing, for plain titles)."""
        if self.persons is not None:
            return [(p.job_title, p.known()) for p in self.persons]
        return [(title, NOBODY_KNOWN) for title in self.titles or []]


class Label(BaseModel):
    """A predicted label (null when the model abstains) and its probability."""

    label: str | None
    confidence: float


class Role(BaseModel):
    """A role and its source: the interest's role model, or its template's rules."""

    label: str | None
    confidence: float | None
    source: str = Field(examples=["model"])
    evidence: dict[str, Any]


class TitlePredictionPublic(BaseModel):
    """Function, seniority, persona and role of one title, with evidence."""

    title: str
    function: Label | None = None
    seniority: Label | None = None
    persona: str | None = Field(default=None, examples=["Security / Director"])
    targets: dict[str, Label] = Field(default_factory=dict)
    role: Role | None = None
    nearest_titles: list[dict[str, Any]] = Field(default_factory=list)

    @classmethod
    def of(cls, prediction: TitlePrediction) -> TitlePredictionPublic:
        """Convert a core prediction."""
        targets = {
            t: Label(label=p.label, confidence=p.confidence) for t, p in prediction.targets.items()
        }
        role = prediction.role
        return cls(
            title=prediction.title,
            function=targets.get("function"),
            seniority=targets.get("seniority"),
            persona=prediction.persona,
            targets=targets,
            role=Role(**role.__dict__) if role else None,
            nearest_titles=prediction.nearest_titles,
        )


class RolePredictionsPublic(BaseModel):
    """Predictions in input order and the model versions that made them."""

    predictions: list[TitlePredictionPublic]
    models: dict[str, str]
    rules_only: bool


@router.post("/role-predictions", response_model=RolePredictionsPublic, summary="Predict roles")
async def create_role_predictions(
    body: RolePredictionCreate, store: ModelStoreDep, sessions: SessionFactoryDep
) -> Response:
    """Function, seniority, persona from the title model; role from the interest's role model,
    else from its live template's rules (which may test the inferred persona).

    Answers are cached per (model versions, interest, title) as JSON-ready dicts and written
    straight out: titles repeat heavily, and a cached single-title request costs no model,
    no thread hop and no re-validation of the response.
    """
    models = store.current
    rules, role_model, template, thresholds = None, None, None, ANY_ANSWER
    if body.solution_interest is not None:
        template, rules, role_model, thresholds = await run_in_threadpool(
            _interest_models,
            sessions,
            store,
            models,
            body.solution_interest,
        )
    # The template too: an interest deleted and created again may have another one.
    versions = (
        models.title.version if models.title else None,
        role_model.version if role_model else None,
        body.solution_interest,
        template,
    )
    items = body.items()
    # A plain title is its own key; a person's facts make it part of the key.
    keys = [title if known == NOBODY_KNOWN else (title, known) for title, known in items]
    answers = {key: store.predictions.get((*versions, key)) for key in set(keys)}
    missing = list(
        dict.fromkeys(item for item, key in zip(items, keys, strict=True) if answers[key] is None)
    )
    if missing:
        compute = partial(
            predict_roles,
            [title for title, _ in missing],
            title_model=models.title.classifier if models.title else None,
            role_model=role_model.classifier if role_model else None,
            rules=rules,
            thresholds=thresholds,
            persons=[known for _, known in missing],
        )
        # User regexes run in the pool too: RE2 bounds them, but they are not ours to trust.
        inline = len(missing) <= INLINE_TITLES and not (rules is not None and rules.uses_patterns)
        computed = compute() if inline else await run_in_threadpool(compute)
        for (title, known), prediction in zip(missing, computed, strict=True):
            key = title if known == NOBODY_KNOWN else (title, known)
            answer = TitlePredictionPublic.of(prediction).model_dump(mode="json")
            answers[key] = answer
            store.predictions.put((*versions, key), answer)
    content = {
        "predictions": [answers[key] for key in keys],
        "models": models.versions(),
        "rules_only": models.rules_only,
    }
    return Response(orjson.dumps(content), media_type="application/json")


def _interest_models(
    session_factory: sessionmaker[Session], store: ModelStore, models: ModelSet, name: str
) -> tuple[str, RuleRoles, LoadedModel | None, Thresholds]:
    """The interest's live template, its compiled rules (compiled once), its role model
    (from ``models``, the set the request started with, so versions never mix) and its
    thresholds."""
    with session_factory() as session:
        configuration = ConfigurationRepository(session)
        interest = configuration.get_solution_interest(name)
        rules = store.rules.get(interest.role_template)
        if rules is None:
            rules = RuleRoles(configuration.get_template(interest.role_template).cards)
            store.rules[interest.role_template] = rules
    thresholds = Thresholds(interest.model_accept_threshold, interest.model_review_threshold)
    return interest.role_template, rules, models.roles.get(interest.name), thresholds


class ModelsPublic(BaseModel):
    """Loaded model versions, and why anything is missing."""

    models: dict[str, str] = Field(examples=[{"title-persona": "3"}])
    rules_only: bool
    errors: list[str]


def _public(models: ModelSet) -> ModelsPublic:
    return ModelsPublic(
        models=models.versions(), rules_only=models.rules_only, errors=models.errors
    )


@router.get("/models", response_model=ModelsPublic, summary="Loaded models")
def list_models(models: ModelsDep) -> ModelsPublic:
    """The versions serving now (loaded by the `@champion` alias)."""
    return _public(models)


@router.post(
    "/model-reloads",
    response_model=ModelsPublic,
    dependencies=[Depends(authorize_admin)],
    summary="Reload models now",
)
def reload_models(store: ModelStoreDep, session: SessionDep) -> ModelsPublic:
    """Load the current champions (the service also polls for alias moves)."""
    names = [i.name for i in ConfigurationRepository(session).list_solution_interests()]
    return _public(store.reload(names))
