"""What the web pages show, shaped for the templates: queries kept in links, bars, charts,
members grouped by role card, evidence in words. No data access here: the routes hand in
the API's own answers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, field_validator

from buying_groups.domain.group_views import GroupDetail, GroupSummary, MemberView, RoleProgress

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGE_SIZE = 25
#: Completeness and engagement buckets of the dashboard's charts: [0, 25), ..., [75, 100].
SCORE_EDGES: tuple[float, ...] = (0.0, 25.0, 50.0, 75.0, 100.0)
#: Spreadsheets run cells starting with these as formulas (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "account_external_id",
    "account_name",
    "solution_interest",
    "completeness",
    "engagement",
    "stage",
    "status",
    "members",
    "missing_roles",
)


def path_segment(value: object) -> str:
    """A value quoted for one URL path segment (slashes too)."""
    return quote(str(value), safe="")


def make_templates() -> Jinja2Templates:
    """The page templates; autoescaped, so every value from data is written as text."""
    templates = Jinja2Templates(directory=TEMPLATES)
    templates.env.filters["segment"] = path_segment
    templates.env.filters["score"] = lambda value: f"{value:.0f}"
    return templates


class GroupQuery(BaseModel):
    """The filters, sort and page of the groups listing, as the page's URL carries them."""

    model_config = ConfigDict(extra="ignore")

    account: str | None = Field(default=None, max_length=100)
    solution_interest: str | None = Field(default=None, max_length=120)
    missing_role: str | None = Field(default=None, max_length=80)
    completeness_gte: float | None = Field(default=None, ge=0, le=100)
    completeness_lt: float | None = Field(default=None, ge=0, le=100)
    engagement_gte: float | None = Field(default=None, ge=0, le=100)
    engagement_lt: float | None = Field(default=None, ge=0, le=100)
    stage: str | None = Field(default=None, max_length=80)
    status: str | None = Field(default=None, max_length=50)
    sort: str = Field(default="account", pattern=r"^-?(account|completeness|engagement)$")
    offset: int = Field(default=0, ge=0, le=10_000_000)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: Any) -> Any:
        """An empty form field means no filter."""
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    def api_filters(self) -> dict[str, Any]:
        """The keyword arguments of the API's group listing."""
        return {
            "solution_interest": self.solution_interest,
            "account": self.account,
            "missing_role": [self.missing_role] if self.missing_role else None,
            "completeness_gte": self.completeness_gte,
            "completeness_lt": self.completeness_lt,
            "engagement_gte": self.engagement_gte,
            "engagement_lt": self.engagement_lt,
            "stage": self.stage,
            "status": self.status,
            "sort": self.sort,
        }

    def link(self, **changes: Any) -> str:
        """``/ui/groups?...`` with these changes (the page goes back to the first unless
        ``offset`` is among them)."""
        values = self.model_dump() | {"offset": 0} | changes
        kept = {k: v for k, v in values.items() if v not in (None, "", 0) and k != "sort"}
        if values["sort"] != "account":
            kept["sort"] = values["sort"]
        return "/ui/groups" + (f"?{urlencode(kept)}" if kept else "")

    def sort_link(self, key: str) -> str:
        """Sort by ``key``; the same key again reverses the order."""
        return self.link(sort=f"-{key}" if self.sort == key else key)

    def sort_state(self, key: str) -> str:
        """``aria-sort`` of a column."""
        if self.sort.lstrip("-") != key:
            return "none"
        return "descending" if self.sort.startswith("-") else "ascending"


@dataclass(frozen=True)
class Pager:
    """Where a page of a listing lies."""

    offset: int
    shown: int
    total: int
    size: int = PAGE_SIZE

    @property
    def first(self) -> int:
        """1-based number of the first item shown (0 when nothing is)."""
        return self.offset + 1 if self.shown else 0

    @property
    def last(self) -> int:
        """Number of the last item shown."""
        return self.offset + self.shown

    @property
    def previous(self) -> int | None:
        """Offset of the previous page, None on the first."""
        return max(self.offset - self.size, 0) if self.offset else None

    @property
    def next(self) -> int | None:
        """Offset of the next page, None on the last."""
        return self.offset + self.size if self.last < self.total else None


@dataclass(frozen=True)
class Bucket:
    """One bar of a distribution chart."""

    label: str
    count: int
    height: float  # 0-100: share of the tallest bar


def buckets(labels: Sequence[str], counts: Sequence[int]) -> list[Bucket]:
    """Bars scaled to the tallest one."""
    tallest = max(counts, default=0) or 1
    return [Bucket(lab, n, 100 * n / tallest) for lab, n in zip(labels, counts, strict=True)]


def score_ranges() -> list[tuple[str, float, float | None]]:
    """(label, lower, upper) of the score buckets; the last includes 100 (upper None)."""
    edges = SCORE_EDGES
    ranges: list[tuple[str, float, float | None]] = []
    for index, lower in enumerate(edges[:-1]):
        upper = edges[index + 1]
        ranges.append((f"{lower:g}-{upper:g}", lower, None if upper == edges[-1] else upper))
    return ranges


@dataclass
class RoleSection:
    """A role card of a group and the members in it."""

    role: str
    progress: RoleProgress | None
    members: list[MemberView] = field(default_factory=list)


def role_sections(group: GroupDetail) -> list[RoleSection]:
    """Members by role card in card order; roles outside the template follow; removed
    members are left out (``removed_members`` lists them)."""
    sections = {p.role: RoleSection(p.role, p) for p in group.roles}
    for member in group.member_list:
        if not member.is_removed:
            sections.setdefault(member.role, RoleSection(member.role, None)).members.append(member)
    return list(sections.values())


def removed_members(group: GroupDetail) -> list[MemberView]:
    """Members taken out of the group (jobs will not add them back)."""
    return [m for m in group.member_list if m.is_removed]


@dataclass(frozen=True)
class Evidence:
    """Why a member holds a role, in words the page shows."""

    condition: str | None
    probability: float | None
    nearest: list[str]
    other: list[str]


KNOWN_EVIDENCE = frozenset(
    {"condition", "probabilities", "nearest_titles", "card", "role", "model_version"}
)


def evidence_of(member: MemberView) -> Evidence:
    """The condition that fired, the model's probability of the role, the nearest titles."""
    found = member.evidence or {}
    probabilities = found.get("probabilities") or {}
    probability = probabilities.get(member.role) if isinstance(probabilities, dict) else None
    nearest = [_neighbour(n) for n in found.get("nearest_titles") or [] if isinstance(n, dict)]
    other = [
        f"{key}: {value}"
        for key, value in found.items()
        if key not in KNOWN_EVIDENCE and isinstance(value, str | int | float | bool)
    ]
    condition = found.get("condition")
    return Evidence(
        str(condition) if condition else None,
        probability if isinstance(probability, int | float) else None,
        nearest[:3],
        other,
    )


def _neighbour(found: dict[str, Any]) -> str:
    similarity = found.get("similarity")
    share = f" ({similarity:.0%})" if isinstance(similarity, int | float) else ""
    label = found.get("role") or found.get("label") or "?"
    return f"{found.get('title', '?')} → {label}{share}"


def allowed_stages(stages: Sequence[Any], entry: Sequence[str], current: str | None) -> list[str]:
    """The stages a group in ``current`` may move to (the API checks the move again)."""
    if current is None:
        return list(entry)
    for stage in stages:
        if stage.name == current:
            return list(stage.next)
    return []


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def groups_csv(groups: Iterable[GroupSummary]) -> Iterable[str]:
    """The header, then one CSV line per group."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield _drain(buffer)
    for group in groups:
        writer.writerow(
            [
                safe_cell(group.account_external_id),
                safe_cell(group.account_name),
                safe_cell(group.solution_interest),
                f"{group.completeness:.1f}",
                f"{group.engagement:.1f}",
                safe_cell(group.stage),
                safe_cell(group.status),
                group.members,
                safe_cell("; ".join(group.missing_roles)),
            ]
        )
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
