"""Buying groups: find what is missing, read a group, change members, stage and status."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from buying_groups.domain.group_filters import GroupFilter
from buying_groups.domain.group_views import CompletenessSummary, GroupDetail, GroupSummary
from buying_groups.domain.groups import MAX_STATUS_LENGTH, MemberSource
from buying_groups.generation.membership import MembershipService
from buying_groups.generation.recommendations import GroupRecommendations, RecommendationService
from buying_groups.storage.group_repository import GroupRepository
from buying_groups.storage.unit_of_work import SqlUnitOfWork
from serving.dependencies import LimitDep, ModelsDep, OffsetDep, SessionDep, UnitOfWorkDep
from serving.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1", tags=["buying-groups"], responses=PROBLEM_RESPONSES)
GROUP = "/buying-groups/{solution_interest}/{account_external_id}"
Score = Annotated[float | None, Query(ge=0, le=100)]


class BuyingGroupsPublic(BaseModel):
    """A page of groups."""

    items: list[GroupSummary]
    total: int = Field(examples=[12])
    limit: int = Field(examples=[50])
    offset: int = Field(examples=[0])


class CallerSource(StrEnum):
    """The sources a caller may claim: `manual` for people, `journey` for journey steps.

    Rules, models and imports are the service's own sources; a caller claiming `import`
    would outrank every job and could not be told apart from a real import.
    """

    MANUAL = MemberSource.MANUAL.value
    JOURNEY = MemberSource.JOURNEY.value


class MemberAssign(BaseModel):
    """Put a person in a role; `journey` for journey steps, `manual` for people."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"role": "Decision Maker", "source": "manual"}]},
    )

    role: str = Field(min_length=1, max_length=80)
    source: CallerSource = CallerSource.MANUAL


class StageUpdate(BaseModel):
    """The stage to move to; the solution interest's stage model must allow the move."""

    model_config = ConfigDict(extra="forbid")

    stage: str = Field(min_length=1, max_length=80, examples=["Engaged"])


class StatusUpdate(BaseModel):
    """Free text (at most 50 characters); null clears it."""

    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(max_length=MAX_STATUS_LENGTH, examples=["Demo booked"])


@router.get("/buying-groups", response_model=BuyingGroupsPublic, summary="Find buying groups")
def list_buying_groups(
    session: SessionDep,
    solution_interest: str | None = None,
    account_external_id: str | None = None,
    account: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="Accounts whose name or external id contains this (case-insensitive).",
        ),
    ] = None,
    missing_role: Annotated[list[str] | None, Query(max_length=20)] = None,
    completeness_lt: Score = None,
    completeness_gte: Score = None,
    engagement_lt: Score = None,
    engagement_gte: Score = None,
    stage: str | None = None,
    status: str | None = None,
    include_deleted: bool = False,
    sort: Annotated[str, Query(pattern=r"^[-+]?[a-z_]+$", max_length=40)] = "account",
    limit: LimitDep = 50,
    offset: OffsetDep = 0,
) -> BuyingGroupsPublic:
    """Filter e.g. `missing_role=Decision Maker&completeness_lt=50`; sort by completeness,
    engagement, updated_at or account (`-` for descending)."""
    filters = GroupFilter(
        solution_interest=solution_interest,
        account_external_id=account_external_id,
        account_search=account,
        missing_roles=tuple(missing_role or ()),
        completeness_lt=completeness_lt,
        completeness_gte=completeness_gte,
        engagement_lt=engagement_lt,
        engagement_gte=engagement_gte,
        stage=stage,
        status=status,
        include_deleted=include_deleted,
    )
    page = GroupRepository(session).list_groups(filters, sort, limit, offset)
    return BuyingGroupsPublic(items=list(page.items), total=page.total, limit=limit, offset=offset)


@router.get(GROUP, response_model=GroupDetail, summary="Read a buying group")
def get_buying_group(
    solution_interest: str, account_external_id: str, session: SessionDep
) -> GroupDetail:
    """Scores, each role's progress, and every member with source, confidence and evidence."""
    return GroupRepository(session).get_group(account_external_id, solution_interest)


class CandidatePublic(BaseModel):
    """A person who could take the role: score (0-1) and the reasons behind it."""

    model_config = ConfigDict(from_attributes=True)

    person_external_id: str
    name: str
    job_title: str | None
    account_external_id: str
    same_account: bool
    score: float = Field(examples=[0.8])
    rule: str | None = Field(examples=['job_title contains "chief"'])
    model_probability: float | None
    recent_activities: int
    reasons: list[str]


class RoleRecommendationPublic(BaseModel):
    """A missing role (or the role asked for), its candidates, and titles to acquire."""

    model_config = ConfigDict(from_attributes=True)

    role: str
    members_required: int
    assigned: int
    missing: int
    candidates: list[CandidatePublic]
    titles_to_acquire: list[str]


class GroupRecommendationsPublic(BaseModel):
    """Who could fill each gap of a group, best first."""

    model_config = ConfigDict(from_attributes=True)

    solution_interest: str
    account_external_id: str
    group_exists: bool
    model_version: str | None
    roles: list[RoleRecommendationPublic]

    @classmethod
    def of(cls, recommendations: GroupRecommendations) -> GroupRecommendationsPublic:
        """Convert the service's answer."""
        return cls.model_validate(recommendations)


@router.get(
    GROUP + "/recommendations",
    response_model=GroupRecommendationsPublic,
    summary="Recommend people for missing roles",
)
def recommend_members(
    solution_interest: str,
    account_external_id: str,
    session: SessionDep,
    models: ModelsDep,
    role: Annotated[str | None, Query(min_length=1, max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=50, description="Candidates per role.")] = 5,
    hierarchy: bool = True,
) -> GroupRecommendationsPublic:
    """For each missing role (or `role`), persons of the account and, with `hierarchy`, of
    the rest of its company (parents, divisions) who are not members, best first: 1 when
    the rules give them the role (as a generation job would), else the role model's
    probability (x 0.8 outside the account); titles to acquire where nobody fits."""
    loaded, title = models.roles.get(solution_interest), models.title
    # A session, not UnitOfWorkDep: the web pages call this route with theirs.
    service = RecommendationService(
        SqlUnitOfWork.joining(session),
        loaded.classifier if loaded else None,
        loaded.version if loaded else None,
        title_model=title.classifier if title else None,
    )
    answer = service.recommend(
        solution_interest, account_external_id, role=role, limit=limit, hierarchy=hierarchy
    )
    return GroupRecommendationsPublic.of(answer)


@router.put(
    GROUP + "/members/{person_external_id}",
    response_model=GroupDetail,
    summary="Assign a member or change their role",
)
def assign_member(
    solution_interest: str,
    account_external_id: str,
    person_external_id: str,
    body: MemberAssign,
    session: SessionDep,
    uow: UnitOfWorkDep,
) -> GroupDetail:
    """Creates the group if needed; refused (409) if a higher source decided otherwise."""
    MembershipService(uow).assign(
        account_external_id,
        solution_interest,
        person_external_id,
        body.role,
        MemberSource(body.source),
    )
    return GroupRepository(session).get_group(account_external_id, solution_interest)


@router.delete(
    GROUP + "/members/{person_external_id}", response_model=GroupDetail, summary="Remove a member"
)
def remove_member(
    solution_interest: str,
    account_external_id: str,
    person_external_id: str,
    session: SessionDep,
    uow: UnitOfWorkDep,
    source: CallerSource = CallerSource.MANUAL,
) -> GroupDetail:
    """Marks the member removed; generation jobs will not add them back."""
    MembershipService(uow).remove(
        account_external_id, solution_interest, person_external_id, MemberSource(source)
    )
    return GroupRepository(session).get_group(account_external_id, solution_interest)


@router.put(GROUP + "/stage", response_model=GroupDetail, summary="Move to another stage")
def update_stage(
    solution_interest: str, account_external_id: str, body: StageUpdate, session: SessionDep
) -> GroupDetail:
    """Refused (409) when the stage model does not allow the move; the error names both."""
    return GroupRepository(session).move_stage(account_external_id, solution_interest, body.stage)


@router.put(GROUP + "/status", response_model=GroupDetail, summary="Set the status")
def update_status(
    solution_interest: str, account_external_id: str, body: StatusUpdate, session: SessionDep
) -> GroupDetail:
    """Free text, at most 50 characters."""
    return GroupRepository(session).set_status(account_external_id, solution_interest, body.status)


@router.get(
    "/buying-group-summaries/{solution_interest}",
    response_model=CompletenessSummary,
    summary="Completeness and engagement dashboard",
)
def summarise(solution_interest: str, session: SessionDep) -> CompletenessSummary:
    """Histogram of completeness, means, and per role how many groups miss it."""
    return GroupRepository(session).completeness_summary(solution_interest)
