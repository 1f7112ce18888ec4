"""Buying groups in the database: filtered listings, detail, dashboards, stage and status.

Every filter runs in SQL (``EXISTS`` subqueries on ``group_roles`` and ``role_cards``, both
indexed by their primary keys), so a listing costs one count and one page query plus two
small queries for the page's rows, whatever the number of groups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from buying_groups.domain.errors import ConflictError, NotFoundError
from buying_groups.domain.events import EventType
from buying_groups.domain.group_filters import GroupFilter, GroupSort, GroupSortKey
from buying_groups.domain.group_views import (
    HISTOGRAM_EDGES,
    CompletenessSummary,
    GroupDetail,
    GroupSummary,
    HistogramBucket,
    MemberView,
    RoleProgress,
    RoleSummary,
)
from buying_groups.domain.groups import MemberSource
from buying_groups.domain.stage_models import StageModel
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.crm_repository import CrmRepository, Page
from buying_groups.storage.event_repository import event_row, record_events
from buying_groups.storage.tables import (
    AccountRow,
    BuyingGroupRow,
    GroupRoleRow,
    MemberRow,
    PersonRow,
    RoleCardRow,
    RoleRow,
    RoleTemplateRow,
    SolutionInterestRow,
)

_SORT_COLUMNS: dict[GroupSortKey, Any] = {
    GroupSortKey.COMPLETENESS: BuyingGroupRow.completeness,
    GroupSortKey.ENGAGEMENT: BuyingGroupRow.engagement,
    GroupSortKey.UPDATED_AT: BuyingGroupRow.updated_at,
    GroupSortKey.ACCOUNT: AccountRow.external_id,
}


class GroupRepository:
    """Reads buying groups for listings and dashboards; changes their stage and status."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- listing -----------------------------------------------------------------------------

    def list_groups(
        self,
        filters: GroupFilter | None = None,
        sort: str | GroupSort = "account",
        limit: int = 50,
        offset: int = 0,
    ) -> Page[GroupSummary]:
        """Groups matching ``filters``, ordered by ``sort`` (e.g. ``"-completeness"``).

        Raises:
            NotFoundError: a role, solution interest or account in the filter does not exist.
            InvariantError: the sort key is unknown.
        """
        order = sort if isinstance(sort, GroupSort) else GroupSort.parse(sort)
        conditions = self._conditions(filters or GroupFilter())
        total = self.session.execute(
            select(func.count()).select_from(BuyingGroupRow).where(*conditions)
        ).scalar_one()
        column = _SORT_COLUMNS[order.key]
        query = (
            _summary_query()
            .where(*conditions)
            .order_by(column.desc() if order.descending else column.asc(), BuyingGroupRow.id)
            .limit(limit)
            .offset(offset)
        )
        rows = self.session.execute(query).all()
        ids = [row[0].id for row in rows]
        members, missing = self._member_counts(ids), self._missing_roles(ids)
        items = [
            _summary(*row, members=members.get(row[0].id, 0), missing=missing.get(row[0].id, ()))
            for row in rows
        ]
        return Page(items, total, limit, offset)

    def _conditions(self, filters: GroupFilter) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if not filters.include_deleted:
            conditions.append(BuyingGroupRow.is_deleted.is_(False))
        if filters.solution_interest is not None:
            interest = self._interest_row(filters.solution_interest)
            conditions.append(BuyingGroupRow.solution_interest_id == interest.id)
        if filters.account_external_id is not None:
            account = CrmRepository(self.session).account_row(filters.account_external_id)
            conditions.append(BuyingGroupRow.account_id == account.id)
        if filters.account_search is not None:
            conditions.append(_account_matches(filters.account_search))
        conditions += [_missing_role(self._role_id(role)) for role in filters.missing_roles]
        conditions += _score_conditions(filters)
        if filters.stage is not None:
            conditions.append(BuyingGroupRow.stage == filters.stage)
        if filters.status is not None:
            conditions.append(BuyingGroupRow.status == filters.status)
        return conditions

    def _member_counts(self, group_ids: Sequence[int]) -> dict[int, int]:
        query = (
            select(MemberRow.group_id, func.count())
            .where(MemberRow.group_id.in_(group_ids), MemberRow.is_removed.is_(False))
            .group_by(MemberRow.group_id)
        )
        return {group_id: count for group_id, count in self.session.execute(query).all()}

    def _missing_roles(self, group_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        query = (
            _cards_of_groups()
            .with_only_columns(BuyingGroupRow.id, RoleRow.name)
            .where(BuyingGroupRow.id.in_(group_ids), _card_missing())
            .order_by(BuyingGroupRow.id, RoleCardRow.position)
        )
        missing: dict[int, list[str]] = defaultdict(list)
        for group_id, role in self.session.execute(query).all():
            missing[group_id].append(role)
        return {group_id: tuple(roles) for group_id, roles in missing.items()}

    # --- detail ------------------------------------------------------------------------------

    def get_group(self, account_external_id: str, solution_interest: str) -> GroupDetail:
        """One group (deleted ones too, flagged) with its roles and all its members.

        Raises:
            NotFoundError: the account, the solution interest or the group does not exist.
        """
        row = self._group_row(account_external_id, solution_interest)
        found = self.session.execute(_summary_query().where(BuyingGroupRow.id == row.id)).one()
        roles = self._role_progress(row)
        members = self._members(row.id)
        summary = _summary(
            *found,
            members=sum(not m.is_removed for m in members),
            missing=tuple(r.role for r in roles if r.is_missing),
        )
        template = self.session.get_one(RoleTemplateRow, row.role_template_id)
        return GroupDetail(
            **summary.model_dump(),
            template_name=template.name,
            created_at=row.created_at,
            roles=roles,
            member_list=members,
        )

    def _group_row(self, account_external_id: str, solution_interest: str) -> BuyingGroupRow:
        interest = self._interest_row(solution_interest)
        account = CrmRepository(self.session).account_row(account_external_id)
        row = self.session.scalar(
            select(BuyingGroupRow).where(
                BuyingGroupRow.account_id == account.id,
                BuyingGroupRow.solution_interest_id == interest.id,
            )
        )
        if row is None:
            raise NotFoundError(
                f"account {account_external_id!r} has no buying group for "
                f"solution interest {solution_interest!r}"
            )
        return row

    def _role_progress(self, row: BuyingGroupRow) -> tuple[RoleProgress, ...]:
        query = (
            _cards_of_groups()
            .with_only_columns(RoleRow.name, RoleCardRow, GroupRoleRow)
            .where(BuyingGroupRow.id == row.id)
            .order_by(RoleCardRow.position)
        )
        return tuple(
            _progress(role, card, recorded) for role, card, recorded in self.session.execute(query)
        )

    def _members(self, group_id: int) -> tuple[MemberView, ...]:
        query = (
            select(MemberRow, PersonRow, RoleRow.name)
            .join(PersonRow, MemberRow.person_id == PersonRow.id)
            .join(RoleRow, MemberRow.role_id == RoleRow.id)
            .where(MemberRow.group_id == group_id)
            .order_by(MemberRow.is_removed, RoleRow.id, PersonRow.external_id)
        )
        return tuple(_member(*found) for found in self.session.execute(query).all())

    # --- stage and status ----------------------------------------------------------------------

    def move_stage(
        self, account_external_id: str, solution_interest: str, target: str
    ) -> GroupDetail:
        """Move a group to ``target`` if its solution interest's stage model allows it.

        Raises:
            StageTransitionError: the move is not allowed (names both stages).
            ConflictError: the interest has no stage model, or the group is deleted.
        """
        detail = self._live_group(account_external_id, solution_interest)
        moved = detail.as_buying_group().move_to_stage(self._stage_model(solution_interest), target)
        self._record(detail, EventType.STAGE_CHANGED, {"from": detail.stage, "to": moved.stage})
        return self._save(detail, stage=moved.stage)

    def set_status(
        self, account_external_id: str, solution_interest: str, status: str | None
    ) -> GroupDetail:
        """Set the group's free-text status (None clears it).

        Raises:
            StatusTooLongError: more than 50 characters.
            ConflictError: the group is deleted.
        """
        detail = self._live_group(account_external_id, solution_interest)
        changed = detail.as_buying_group().with_status(status)
        if changed.status != detail.status:
            payload = {"from": detail.status, "to": changed.status}
            self._record(detail, EventType.STATUS_CHANGED, payload)
        return self._save(detail, status=changed.status)

    def _record(self, detail: GroupDetail, kind: EventType, payload: dict[str, Any]) -> None:
        """Append an outbox event in this transaction."""
        row = event_row(
            kind,
            group_id=detail.id,
            account_external_id=detail.account_external_id,
            solution_interest=detail.solution_interest,
            payload={"group_id": detail.id, **payload},
        )
        record_events(self.session, [row])

    def _live_group(self, account_external_id: str, solution_interest: str) -> GroupDetail:
        detail = self.get_group(account_external_id, solution_interest)
        if detail.is_deleted:
            raise ConflictError(
                f"the buying group of account {account_external_id!r} for "
                f"{solution_interest!r} is deleted"
            )
        return detail

    def _stage_model(self, solution_interest: str) -> StageModel:
        configuration = ConfigurationRepository(self.session)
        interest = configuration.get_solution_interest(solution_interest)
        if interest.stage_model is None:
            raise ConflictError(
                f"solution interest {solution_interest!r} has no stage model; "
                "its groups have no stages"
            )
        return configuration.get_stage_model(interest.stage_model)

    def _save(self, detail: GroupDetail, **changes: Any) -> GroupDetail:
        row = self.session.get_one(BuyingGroupRow, detail.id)
        for field, value in changes.items():
            setattr(row, field, value)
        self.session.flush()
        return detail.model_copy(update={**changes, "updated_at": row.updated_at})

    # --- dashboards --------------------------------------------------------------------------

    def completeness_summary(self, solution_interest: str) -> CompletenessSummary:
        """Completeness histogram, means and per-role gaps of an interest's live groups.

        Raises:
            NotFoundError: the solution interest does not exist.
        """
        interest = self._interest_row(solution_interest)
        live = (
            BuyingGroupRow.solution_interest_id == interest.id,
            BuyingGroupRow.is_deleted.is_(False),
        )
        groups, mean_completeness, mean_engagement, *buckets = self.session.execute(
            select(
                func.count(),
                func.avg(BuyingGroupRow.completeness),
                func.avg(BuyingGroupRow.engagement),
                *_histogram_columns(),
            ).where(*live)
        ).one()
        return CompletenessSummary(
            solution_interest=interest.name,
            groups=groups,
            mean_completeness=_float(mean_completeness),
            mean_engagement=_float(mean_engagement),
            histogram=tuple(
                HistogramBucket(lower=low, upper=high, groups=int(count or 0))
                for (low, high), count in zip(pairwise(HISTOGRAM_EDGES), buckets, strict=True)
            ),
            roles=self._role_summaries(interest, live),
        )

    def _role_summaries(
        self, interest: SolutionInterestRow, live: tuple[ColumnElement[bool], ...]
    ) -> tuple[RoleSummary, ...]:
        missing = _card_missing()
        query = (
            _cards_of_groups()
            .with_only_columns(
                RoleRow.name,
                func.sum(case((missing, 1), else_=0)),
                func.avg(func.coalesce(GroupRoleRow.completeness, 0.0)),
                func.avg(case((missing, BuyingGroupRow.engagement), else_=None)),
            )
            .where(*live)
            .group_by(RoleRow.id, RoleRow.name)
        )
        found = {row[0]: row[1:] for row in self.session.execute(query).all()}
        names = self._card_roles(interest.role_template_id)
        names += sorted(set(found) - set(names))
        return tuple(_role_summary(name, found.get(name)) for name in names)

    # --- lookups -----------------------------------------------------------------------------

    def _card_roles(self, template_id: int) -> list[str]:
        query = (
            select(RoleRow.name)
            .join(RoleCardRow, RoleCardRow.role_id == RoleRow.id)
            .where(RoleCardRow.template_id == template_id)
            .order_by(RoleCardRow.position)
        )
        return list(self.session.scalars(query))

    def _interest_row(self, name: str) -> SolutionInterestRow:
        row = self.session.scalar(
            select(SolutionInterestRow).where(SolutionInterestRow.name == name)
        )
        if row is None:
            raise NotFoundError(f"solution interest {name!r} does not exist")
        return row

    def _role_id(self, name: str) -> int:
        role_id = self.session.scalar(
            select(RoleRow.id).where(func.lower(RoleRow.name) == name.lower())
        )
        if role_id is None:
            raise NotFoundError(f"role {name!r} does not exist")
        return role_id


# --- query building blocks -------------------------------------------------------------------


def _summary_query() -> Any:
    return (
        select(BuyingGroupRow, AccountRow.external_id, AccountRow.name, SolutionInterestRow.name)
        .join(AccountRow, BuyingGroupRow.account_id == AccountRow.id)
        .join(SolutionInterestRow, BuyingGroupRow.solution_interest_id == SolutionInterestRow.id)
    )


def _cards_of_groups() -> Any:
    """Groups x the cards of their template x what was recorded for each card (if anything)."""
    return (
        select(BuyingGroupRow.id)
        .join(RoleCardRow, RoleCardRow.template_id == BuyingGroupRow.role_template_id)
        .join(RoleRow, RoleRow.id == RoleCardRow.role_id)
        .outerjoin(
            GroupRoleRow,
            and_(
                GroupRoleRow.group_id == BuyingGroupRow.id,
                GroupRoleRow.role_id == RoleCardRow.role_id,
            ),
        )
    )


def _card_missing() -> ColumnElement[bool]:
    """In ``_cards_of_groups``: nothing recorded for the card, or too few people assigned."""
    return or_(GroupRoleRow.group_id.is_(None), GroupRoleRow.assigned < GroupRoleRow.required)


def _missing_role(role_id: int) -> ColumnElement[bool]:
    """The group has too few people in the role, or its template has the card and no row."""
    own_row = and_(GroupRoleRow.group_id == BuyingGroupRow.id, GroupRoleRow.role_id == role_id)
    short = exists().where(own_row, GroupRoleRow.assigned < GroupRoleRow.required)
    carded = exists().where(
        RoleCardRow.template_id == BuyingGroupRow.role_template_id, RoleCardRow.role_id == role_id
    )
    return or_(short, and_(carded, ~exists().where(own_row)))


def _score_conditions(filters: GroupFilter) -> list[ColumnElement[bool]]:
    bounds = (
        (filters.completeness_lt, BuyingGroupRow.completeness, True),
        (filters.completeness_gte, BuyingGroupRow.completeness, False),
        (filters.engagement_lt, BuyingGroupRow.engagement, True),
        (filters.engagement_gte, BuyingGroupRow.engagement, False),
    )
    return [
        column < value if below else column >= value
        for value, column, below in bounds
        if value is not None
    ]


def _histogram_columns() -> list[Any]:
    """One count per histogram bucket, bucketed exactly as ``histogram_bucket`` does."""
    uppers = HISTOGRAM_EDGES[1:-1]
    bucket = case(
        *((BuyingGroupRow.completeness < upper, index) for index, upper in enumerate(uppers)),
        else_=len(uppers),
    )
    return [
        func.coalesce(func.sum(case((bucket == index, 1), else_=0)), 0)
        for index in range(len(HISTOGRAM_EDGES) - 1)
    ]


# --- row -> read model -----------------------------------------------------------------------


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _summary(
    row: BuyingGroupRow,
    account_external_id: str,
    account_name: str,
    interest: str,
    *,
    members: int,
    missing: tuple[str, ...],
) -> GroupSummary:
    return GroupSummary(
        id=row.id,
        account_external_id=account_external_id,
        account_name=account_name,
        solution_interest=interest,
        completeness=row.completeness,
        engagement=row.engagement,
        stage=row.stage,
        status=row.status,
        is_deleted=row.is_deleted,
        members=members,
        missing_roles=missing,
        updated_at=row.updated_at,
    )


def _progress(role: str, card: RoleCardRow, recorded: GroupRoleRow | None) -> RoleProgress:
    if recorded is None:
        return RoleProgress(
            role=role,
            assigned=0,
            required=card.members_required,
            completeness=0.0,
            required_for_completeness=card.required_for_completeness,
        )
    return RoleProgress(
        role=role,
        assigned=recorded.assigned,
        required=recorded.required,
        completeness=recorded.completeness,
        required_for_completeness=recorded.required_for_completeness,
    )


def _member(row: MemberRow, person: PersonRow, role: str) -> MemberView:
    name = " ".join(p for p in (person.first_name, person.last_name) if p) or None
    return MemberView(
        person_external_id=person.external_id,
        person_name=name,
        job_title=person.job_title,
        role=role,
        source=MemberSource(row.source),
        confidence=row.confidence,
        evidence=row.evidence or {},
        is_removed=row.is_removed,
        updated_at=row.updated_at,
    )


def _role_summary(role: str, found: Sequence[Any] | None) -> RoleSummary:
    if found is None:
        return RoleSummary(
            role=role, groups_missing=0, mean_completeness=None, mean_engagement_of_missing=None
        )
    missing, mean_completeness, mean_engagement = found
    return RoleSummary(
        role=role,
        groups_missing=int(missing or 0),
        mean_completeness=_float(mean_completeness),
        mean_engagement_of_missing=_float(mean_engagement),
    )


def _account_matches(text: str) -> ColumnElement[bool]:
    """Groups whose account's name or external id contains ``text`` (case-insensitive; the
    text is literal: ``%`` and ``_`` match themselves)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    accounts = select(AccountRow.id).where(
        or_(
            AccountRow.name.ilike(pattern, escape="\\"),
            AccountRow.external_id.ilike(pattern, escape="\\"),
        )
    )
    return BuyingGroupRow.account_id.in_(accounts)
