"""Read models of buying groups: what listings, detail views and dashboards show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from buying_groups.domain.groups import BuyingGroup, Member, MemberSource

#: Edges of the completeness histogram: [0, 25), [25, 50), [50, 75), [75, 100].
HISTOGRAM_EDGES: tuple[float, ...] = (0.0, 25.0, 50.0, 75.0, 100.0)


class RoleProgress(BaseModel):
    """How far one role card of a group is filled."""

    model_config = ConfigDict(frozen=True)

    role: str
    assigned: int
    required: int
    completeness: float
    required_for_completeness: bool = True

    @property
    def is_missing(self) -> bool:
        """Fewer people than the card requires."""
        return self.assigned < self.required


class GroupSummary(BaseModel):
    """One line of a group listing."""

    model_config = ConfigDict(frozen=True)

    id: int
    account_external_id: str
    account_name: str
    solution_interest: str
    completeness: float
    engagement: float
    stage: str | None = None
    status: str | None = None
    is_deleted: bool = False
    members: int = Field(default=0, description="Members not removed.")
    missing_roles: tuple[str, ...] = ()
    updated_at: datetime | None = None


class MemberView(BaseModel):
    """A member with the person's name and title, for people reading a group."""

    model_config = ConfigDict(frozen=True)

    person_external_id: str
    person_name: str | None = None
    job_title: str | None = None
    role: str
    source: MemberSource
    confidence: float | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    is_removed: bool = False
    updated_at: datetime | None = None


class GroupDetail(GroupSummary):
    """A group with its template, per-role progress and every member (removed ones too)."""

    template_name: str
    created_at: datetime | None = None
    roles: tuple[RoleProgress, ...] = ()
    member_list: tuple[MemberView, ...] = ()

    def as_buying_group(self) -> BuyingGroup:
        """The domain object, for the rules that change a group (stage, status, members)."""
        return BuyingGroup(
            account_external_id=self.account_external_id,
            solution_interest=self.solution_interest,
            template_name=self.template_name,
            members=tuple(_member(m) for m in self.member_list),
            stage=self.stage,
            status=self.status,
            completeness=self.completeness,
            role_completeness={r.role: r.completeness for r in self.roles},
            engagement=self.engagement,
            is_deleted=self.is_deleted,
        )


def _member(view: MemberView) -> Member:
    return Member(
        person_external_id=view.person_external_id,
        role=view.role,
        source=view.source,
        confidence=view.confidence,
        evidence=view.evidence,
        is_removed=view.is_removed,
        updated_at=view.updated_at,
    )


class HistogramBucket(BaseModel):
    """Groups whose completeness lies in [lower, upper) (the last bucket includes 100)."""

    model_config = ConfigDict(frozen=True)

    lower: float
    upper: float
    groups: int

    @property
    def label(self) -> str:
        """``"0-25"``, ``"75-100"``, ..."""
        return f"{self.lower:g}-{self.upper:g}"


class RoleSummary(BaseModel):
    """One role of a solution interest's template across all its groups."""

    model_config = ConfigDict(frozen=True)

    role: str
    groups_missing: int
    mean_completeness: float | None
    mean_engagement_of_missing: float | None = Field(
        description="Mean group engagement of the groups missing the role (which to fill first)."
    )


class CompletenessSummary(BaseModel):
    """Completeness and engagement of a solution interest's groups (deleted ones excluded)."""

    model_config = ConfigDict(frozen=True)

    solution_interest: str
    groups: int
    mean_completeness: float | None
    mean_engagement: float | None
    histogram: tuple[HistogramBucket, ...]
    roles: tuple[RoleSummary, ...]


def histogram_bucket(completeness: float) -> int:
    """Index of the histogram bucket of a completeness score (100 falls in the last one)."""
    for index, upper in enumerate(HISTOGRAM_EDGES[1:-1]):
        if completeness < upper:
            return index
    return len(HISTOGRAM_EDGES) - 2
