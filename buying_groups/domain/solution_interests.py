"""Solution interests (what is being sold) and account audiences (to whom)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from buying_groups.domain.accounts import Account
from buying_groups.domain.errors import ConflictError


class SolutionInterest(BaseModel):
    """A product line sold to accounts, with the live template that shapes its groups."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    products: tuple[str, ...] = ()
    role_template: str = Field(min_length=1, max_length=120)
    stage_model: str | None = None
    keep_up_to_date: bool = True
    model_accept_threshold: float = Field(default=0.6, ge=0, le=1)
    model_review_threshold: float = Field(default=0.35, ge=0, le=1)

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> SolutionInterest:
        if self.model_review_threshold > self.model_accept_threshold:
            raise ValueError("model_review_threshold must not exceed model_accept_threshold")
        return self

    def change_template(self, template: str) -> SolutionInterest:
        """The template is fixed once set; any other template is refused."""
        if template != self.role_template:
            raise ConflictError(
                f"solution interest {self.name!r} keeps template {self.role_template!r}"
            )
        return self


class AudienceKind(StrEnum):
    """A fixed list of accounts, or a filter evaluated when a job runs."""

    STATIC = "static"
    FILTER = "filter"


class AccountFilter(BaseModel):
    """Conditions over account attributes; every given condition must hold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    products_owned_any: tuple[str, ...] = ()
    products_owned_none: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    revenue_gte: float | None = None
    revenue_lte: float | None = None
    employees_gte: int | None = None
    employees_lte: int | None = None
    include_children: bool = False

    def matches(self, account: Account) -> bool:
        """True when ``account`` satisfies every condition set on the filter."""
        owned = {p.casefold() for p in account.products_owned}
        checks = (
            not self.products_owned_any or bool(owned & _folded(self.products_owned_any)),
            not (owned & _folded(self.products_owned_none)),
            not self.industries or (account.industry or "").casefold() in _folded(self.industries),
            not self.countries
            or (account.country or "").upper() in {c.upper() for c in self.countries},
            _within(account.revenue, self.revenue_gte, self.revenue_lte),
            _within(account.employees, self.employees_gte, self.employees_lte),
        )
        return all(checks)


def _folded(values: Iterable[str]) -> set[str]:
    return {v.casefold() for v in values}


def _within(value: float | None, low: float | None, high: float | None) -> bool:
    if low is None and high is None:
        return True
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value <= high)


class AccountAudience(BaseModel):
    """A named set of accounts: a static list or a filter."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    kind: AudienceKind = AudienceKind.STATIC
    account_external_ids: tuple[str, ...] = ()
    filter: AccountFilter | None = None

    @model_validator(mode="after")
    def _kind_matches_content(self) -> AccountAudience:
        if self.kind is AudienceKind.FILTER and self.filter is None:
            raise ValueError("a filter audience needs a filter")
        if self.kind is AudienceKind.STATIC and self.filter is not None:
            raise ValueError("a static audience takes account_external_ids, not a filter")
        return self

    def select(self, accounts: Iterable[Account]) -> list[str]:
        """External ids of the audience's accounts among ``accounts``."""
        accounts = list(accounts)
        if self.kind is AudienceKind.STATIC:
            wanted = set(self.account_external_ids)
            return [a.external_id for a in accounts if a.external_id in wanted]
        assert self.filter is not None
        chosen = [a.external_id for a in accounts if self.filter.matches(a)]
        if self.filter.include_children:
            chosen = _with_descendants(
                chosen, {a.external_id: a.parent_external_id for a in accounts}
            )
        return chosen


def _with_descendants(roots: list[str], parents: Mapping[str, str | None]) -> list[str]:
    children: dict[str, list[str]] = {}
    for child, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    seen = dict.fromkeys(roots)
    stack = list(roots)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in seen:
                seen[child] = None
                stack.append(child)
    return list(seen)
