"""The FastAPI application factory: the composition root of the HTTP service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import Engine

from buying_groups.settings import Settings, get_settings
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_engine, make_session_factory
from serving.ajo_callbacks import start_callback_worker
from serving.job_runner import JobRunner
from serving.models import ModelStore, poll_models
from serving.problems import install_problem_handlers
from serving.rate_limits import BodySizeLimit, RateLimit
from serving.routers import (
    account_audiences,
    accounts,
    ajo_b2b,
    api_docs,
    buying_groups,
    comparisons,
    events,
    generation_jobs,
    health,
    imports,
    pages,
    persons,
    predictions,
    reviews,
    role_templates,
    roles,
    solution_interests,
    stage_models,
    ui,
)
from serving.security import (
    ApiKeyCache,
    authorize,
    authorize_read,
    install_security_handlers,
)
from serving.webhooks import run_dispatcher

API_DESCRIPTION = """
Buying groups for B2B marketing: for every account and solution interest, the people who
decide, each in a role; who is missing; who could fill the gap.

Every route but `/health`, `/ready`, these docs and the web app's pages (`/ui`) needs an API key
(`X-API-Key: ...` or `Authorization: Bearer ...`; create one with
`buying-groups api-keys create --scopes read,write`). Reads need the `read`
scope, changes `write`, administration `admin`.

Errors are `application/problem+json` with `type`, `title`, `status`, `detail` and, for
invalid input, `errors` naming each field.
"""


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the app; ``engine`` lets tests hand in their own database."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = engine is None
        if owned:
            _attach_database(app, make_engine(settings.database_url))
        app.state.job_runner.resume_unfinished()
        poller = None
        if settings.models_enabled:
            store: ModelStore = app.state.models
            interests = _interest_names(app)
            await asyncio.to_thread(store.reload, interests())
            poller = asyncio.create_task(poll_models(store, interests, settings.model_poll_seconds))
        dispatcher = ajo_worker = None
        if settings.webhooks_enabled:
            dispatcher = asyncio.create_task(
                run_dispatcher(
                    app.state.session_factory,
                    settings.webhook_poll_seconds,
                    settings.webhook_allowed_hosts,
                )
            )
            ajo_worker = start_callback_worker(
                app.state.session_factory, app.state.models, settings
            )
        yield
        app.state.job_runner.shutdown()
        if poller is not None:
            poller.cancel()
        if dispatcher is not None:
            dispatcher.cancel()
        if ajo_worker is not None:
            ajo_worker.cancel()
        if owned:
            app.state.engine.dispose()

    app = FastAPI(
        title="buying-groups",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        # One schema per model: conditions serialise exactly as they are accepted.
        separate_input_output_schemas=False,
        # Served by api_docs from the app's own files: FastAPI's load from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.models = ModelStore(
        settings.mlflow_tracking_uri, settings.title_model_name, settings.mlflow_registry_uri
    )
    app.state.api_keys = ApiKeyCache(settings.api_key_cache_seconds)
    if engine is not None:
        # Handed in (tests): usable even by clients that do not run the lifespan.
        _attach_database(app, engine)
    install_problem_handlers(app)
    install_security_handlers(app)
    app.add_middleware(RateLimit, limit=settings.rate_limit, keys=app.state.api_keys)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_request_bytes,
        refusals={ajo_b2b.PREFIX: ajo_b2b.too_large},
    )
    app.include_router(health.router)
    app.include_router(pages.router)
    app.mount("/static", pages.static_files(), name="static")
    app.include_router(api_docs.router)
    app.mount(api_docs.ASSETS_URL, api_docs.assets(), name="static-docs")
    for ui_router in (ui.pages, ui.fragments, ui.exports):
        app.include_router(ui_router)
    routers = (
        accounts,
        persons,
        imports,
        roles,
        role_templates,
        stage_models,
        solution_interests,
        account_audiences,
        events,
        generation_jobs,
        buying_groups,
        comparisons,
        reviews,
    )
    for module in routers:
        app.include_router(module.router, dependencies=[Depends(authorize)])
    # Its own authentication (the spec's options, on our keys) and error shape.
    app.include_router(ajo_b2b.router)
    # Predictions change nothing: a read key may ask for them.
    app.include_router(predictions.router, dependencies=[Depends(authorize_read)])
    return app


def _interest_names(app: FastAPI) -> Callable[[], list[str]]:
    """A function listing the solution interests, whose role models are loaded."""

    def names() -> list[str]:
        with app.state.session_factory() as session:
            return [i.name for i in ConfigurationRepository(session).list_solution_interests()]

    return names


def _attach_database(app: FastAPI, engine: Engine) -> None:
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.job_runner = JobRunner(engine, app.state.models)
