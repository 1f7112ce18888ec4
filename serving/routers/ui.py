"""The web app for marketers and reviewers under ``/ui``: groups, one group, a dashboard and
the review queue.

A page is a shell served without a key (layout, navigation, the API-key login); its data
comes as server-rendered fragments that the page's script asks for with the key the user
typed in (kept in the tab's ``sessionStorage``), so the key never sits in a cookie or a URL.
Fragments are built from the ``/v1`` routes' own answers, so a page never tells another
story than the API; changes (stage, status, members, decisions) are calls to the API.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from buying_groups.domain.errors import ConflictError, DomainError, NotFoundError
from buying_groups.domain.group_views import GroupSummary
from buying_groups.storage.crm_repository import CrmRepository
from buying_groups.storage.event_repository import EventRepository
from serving.dependencies import ModelsDep, ModelStoreDep, SessionDep
from serving.models import LoadedModel
from serving.page_views import (
    PAGE_SIZE,
    GroupQuery,
    Pager,
    allowed_stages,
    buckets,
    evidence_of,
    groups_csv,
    make_templates,
    removed_members,
    role_sections,
    score_ranges,
)
from serving.routers.buying_groups import (
    get_buying_group,
    list_buying_groups,
    recommend_members,
    summarise,
)
from serving.routers.comparisons import compare
from serving.routers.pages import DATA_HEADERS, PAGE_HEADERS
from serving.routers.predictions import list_models
from serving.routers.roles import list_roles
from serving.routers.solution_interests import get_solution_interest, list_solution_interests
from serving.routers.stage_models import get_stage_model, list_stage_models
from serving.security import authorize

log = logging.getLogger(__name__)
templates = make_templates()
METRICS_SHOWN = 8
pages = APIRouter(prefix="/ui", include_in_schema=False)
fragments = APIRouter(
    prefix="/ui/fragments", include_in_schema=False, dependencies=[Depends(authorize)]
)
exports = APIRouter(
    prefix="/ui/exports", include_in_schema=False, dependencies=[Depends(authorize)]
)
GroupQueryDep = Annotated[GroupQuery, Query()]
EXPORT_PAGE = 500


def _shell(request: Request, name: str, title: str, active: str, **context: Any) -> HTMLResponse:
    context |= {"title": title, "active": active}
    return templates.TemplateResponse(request, name, context, headers=PAGE_HEADERS)


def _fragment(request: Request, name: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, headers=DATA_HEADERS)


# --- pages (no key: layout and login only) ---------------------------------------------------


@pages.get("")
async def ui_home() -> RedirectResponse:
    """The app's first page is the groups listing."""
    return RedirectResponse("/ui/groups")


@pages.get("/groups")
async def groups_page(request: Request) -> HTMLResponse:
    """Browse and filter buying groups."""
    return _shell(request, "page.html", "Buying groups", "groups", fragment="/ui/fragments/groups")


@pages.get("/groups/{solution_interest}/{account_external_id}")
async def group_page(
    request: Request, solution_interest: str, account_external_id: str
) -> HTMLResponse:
    """One buying group."""
    return _shell(
        request,
        "page.html",
        f"{account_external_id} · {solution_interest}",
        "groups",
        fragment=request.url.path.replace("/ui/groups/", "/ui/fragments/groups/", 1),
    )


@pages.get("/dashboard")
async def dashboard_page(request: Request) -> HTMLResponse:
    """Completeness, engagement, stages, missing roles, agreement and models."""
    return _shell(
        request, "page.html", "Dashboard", "dashboard", fragment="/ui/fragments/dashboard"
    )


@pages.get("/review")
async def review_page(request: Request) -> HTMLResponse:
    """The review queue: rule and model side by side, and the decisions."""
    return _shell(request, "review.html", "Review roles: rules vs model", "review")


# --- fragments (need a read key) -------------------------------------------------------------


@fragments.get("/groups")
def groups_fragment(request: Request, session: SessionDep, query: GroupQueryDep) -> HTMLResponse:
    """The filter bar and one page of groups."""
    interests = [i.name for i in list_solution_interests(session)]
    stages = sorted({s.name for m in list_stage_models(session) for s in m.stages})
    problem, items, total = None, [], 0
    try:
        page = list_buying_groups(
            session, **query.api_filters(), limit=PAGE_SIZE, offset=query.offset
        )
        items, total = page.items, page.total
    except NotFoundError as error:  # an unknown account or role: say so, keep the filters
        problem = str(error)
    return _fragment(
        request,
        "groups.html",
        q=query,
        interests=interests,
        roles=[r.name for r in list_roles(session)],
        stages=stages,
        groups=items,
        pager=Pager(query.offset, len(items), total),
        problem=problem,
    )


@fragments.get("/groups/{solution_interest}/{account_external_id}")
def group_fragment(
    request: Request,
    solution_interest: str,
    account_external_id: str,
    session: SessionDep,
    models: ModelsDep,
) -> HTMLResponse:
    """Members by role card with their evidence, gaps and recommendations, stage, events."""
    group = get_buying_group(solution_interest, account_external_id, session)
    interest = get_solution_interest(solution_interest, session)
    next_stages: list[str] = []
    if interest.stage_model:
        stage_model = get_stage_model(interest.stage_model, session)
        entry = [s.name for s in stage_model.stages if s.kind == "entry"]
        next_stages = allowed_stages(stage_model.stages, entry, group.stage)
    recommendations = recommend_members(
        solution_interest, account_external_id, session, models, limit=3
    )
    persons = CrmRepository(session).list_persons(
        account_external_id=account_external_id, limit=500
    )
    return _fragment(
        request,
        "group.html",
        group=group,
        interest=interest,
        sections=role_sections(group),
        removed=removed_members(group),
        evidence_of=evidence_of,
        next_stages=next_stages,
        recommendations=recommendations,
        persons=persons.items,
        roles=[p.role for p in group.roles] or [r.name for r in list_roles(session)],
        events=EventRepository(session).of_group(group.id, 15),
    )


@fragments.get("/dashboard")
def dashboard_fragment(request: Request, session: SessionDep, models: ModelsDep) -> HTMLResponse:
    """Charts per solution interest and the models serving now."""
    interests = [
        _interest_dashboard(session, i.name, i.stage_model)
        for i in list_solution_interests(session)
    ]
    loaded = [m for m in (models.title, *models.roles.values()) if m is not None]
    return _fragment(
        request,
        "dashboard.html",
        interests=interests,
        models=list_models(models),
        loaded=loaded,
    )


def _interest_dashboard(session: SessionDep, name: str, stage_model: str | None) -> dict[str, Any]:
    summary = summarise(name, session)

    def count(**conditions: Any) -> int:
        return list_buying_groups(session, solution_interest=name, limit=1, **conditions).total

    ranges = score_ranges()
    engagement = [count(engagement_gte=low, engagement_lt=high) for _, low, high in ranges]
    labels = [label for label, _, _ in ranges]
    stages: list[tuple[str, int]] = []
    if stage_model:
        stages = [
            (s.name, count(stage=s.name)) for s in get_stage_model(stage_model, session).stages
        ]
        stages.append(("no stage yet", summary.groups - sum(n for _, n in stages)))
    missing = sorted(summary.roles, key=lambda r: -r.groups_missing)
    return {
        "name": name,
        "summary": summary,
        "completeness": buckets(labels, [b.groups for b in summary.histogram]),
        "engagement": buckets(labels, engagement),
        "stages": buckets([s for s, _ in stages], [n for _, n in stages]),
        "missing": buckets([r.role for r in missing], [r.groups_missing for r in missing]),
    }


@fragments.get("/model-metrics")
def model_metrics_fragment(
    request: Request, models: ModelsDep, store: ModelStoreDep
) -> HTMLResponse:
    """The evaluation metrics of the loaded model versions, from their MLflow runs."""
    loaded = [m for m in (models.title, *models.roles.values()) if m is not None]
    metrics: list[tuple[str, str, list[tuple[str, float]]]] = []
    problem = None
    try:
        metrics = [(m.name, m.version, run_metrics(store.tracking_uri, m)) for m in loaded]
    except Exception:  # the registry is optional for the page: say so, log the reason
        log.warning("reading model metrics from MLflow failed", exc_info=True)
        problem = "The model registry could not be read: metrics are not available."
    return _fragment(request, "model_metrics.html", metrics=metrics, problem=problem)


@fragments.get("/agreement")
def agreement_fragment(
    request: Request,
    session: SessionDep,
    models: ModelsDep,
    solution_interest: Annotated[str, Query(min_length=1, max_length=120)],
) -> HTMLResponse:
    """Rules versus model for one interest (slow on big tenants: loaded after the page)."""
    comparison, problem = None, None
    try:
        comparison = compare(models, session, solution_interest, limit=0)
    except (ConflictError, DomainError) as error:  # no role model loaded: say so
        problem = str(error)
    return _fragment(request, "agreement.html", comparison=comparison, problem=problem)


def run_metrics(tracking_uri: str, model: LoadedModel) -> list[tuple[str, float]]:
    """The metrics logged by the run that produced ``model`` (first few, by name)."""
    from buying_groups.ml.registry import configure_mlflow

    client = configure_mlflow(tracking_uri)
    run_id = client.get_model_version(model.name, model.version).run_id
    found = client.get_run(run_id).data.metrics if run_id else {}
    return sorted(found.items())[:METRICS_SHOWN]


# --- exports ---------------------------------------------------------------------------------


@exports.get("/groups.csv")
def groups_export(session: SessionDep, query: GroupQueryDep) -> Response:
    """Every group of the current view (all pages) as CSV."""
    # Read inside the request's transaction: the session is closed once the body streams.
    groups = _all_groups(session, query)
    headers = DATA_HEADERS | {"Content-Disposition": 'attachment; filename="buying-groups.csv"'}
    return StreamingResponse(groups_csv(groups), media_type="text/csv", headers=headers)


def _all_groups(session: SessionDep, query: GroupQuery) -> list[GroupSummary]:
    groups: list[GroupSummary] = []
    while True:
        page = list_buying_groups(
            session, **query.api_filters(), limit=EXPORT_PAGE, offset=len(groups)
        )
        groups += page.items
        if not page.items or len(groups) >= page.total:
            return groups
