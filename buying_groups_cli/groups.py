"""Group commands: find what is missing (filters, summaries), show a group, move its stage."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Any

import typer

from buying_groups_cli.output import print_json, print_table
from buying_groups_cli.sessions import reading, reported_errors, writing

if TYPE_CHECKING:  # the domain views and storage load when a command runs, not at start
    from sqlalchemy.orm import Session

    from buying_groups.domain.group_views import CompletenessSummary, GroupDetail, GroupSummary
    from buying_groups.storage.group_repository import GroupRepository

groups_app = typer.Typer(
    help="Buying groups: filter, inspect, summarise, recommend, move stage, set status.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
AccountArg = Annotated[str, typer.Argument(help="The account's external id.")]
InterestOpt = Annotated[str, typer.Option("--solution-interest", help="Solution interest name.")]
ScoreOpt = Annotated[float | None, typer.Option(min=0, max=100)]


def _groups(session: Session) -> GroupRepository:
    from buying_groups.storage.group_repository import GroupRepository

    return GroupRepository(session)


def _score(value: float) -> str:
    """Scores are kept unrounded and shown rounded."""
    return f"{value:.0f}"


@groups_app.command("list")
def groups_list(
    solution_interest: Annotated[
        str | None, typer.Option("--solution-interest", help="Only this solution interest.")
    ] = None,
    account: Annotated[str | None, typer.Option(help="Only this account's groups.")] = None,
    missing_role: Annotated[
        list[str] | None,
        typer.Option(help="Groups missing this role (repeat: missing every one given)."),
    ] = None,
    completeness_lt: ScoreOpt = None,
    completeness_gte: ScoreOpt = None,
    engagement_lt: ScoreOpt = None,
    engagement_gte: ScoreOpt = None,
    stage: Annotated[str | None, typer.Option(help="Only groups in this stage.")] = None,
    status: Annotated[str | None, typer.Option(help="Only groups with this status.")] = None,
    include_deleted: Annotated[bool, typer.Option(help="Show deleted groups too.")] = False,
    sort: Annotated[
        str, typer.Option(help="completeness, engagement, updated_at or account; - descends.")
    ] = "account",
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many rows.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many rows.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """List groups, e.g. --missing-role "Decision Maker" --completeness-lt 50."""
    from buying_groups.domain.group_filters import GroupFilter

    with reported_errors():
        filters = GroupFilter(
            solution_interest=solution_interest,
            account_external_id=account,
            missing_roles=tuple(missing_role or ()),
            completeness_lt=completeness_lt,
            completeness_gte=completeness_gte,
            engagement_lt=engagement_lt,
            engagement_gte=engagement_gte,
            stage=stage,
            status=status,
            include_deleted=include_deleted,
        )
    with reading() as session:
        page = _groups(session).list_groups(filters, sort, limit, offset)
    if as_json:
        items = [g.model_dump(mode="json") for g in page.items]
        print_json({"total": page.total, "limit": limit, "offset": offset, "items": items})
        return
    title = f"buying groups {offset + 1}-{offset + len(page.items)} of {page.total}"
    print_table(title, _LIST_COLUMNS, [_list_row(g) for g in page.items])


_LIST_COLUMNS = (
    "account",
    "name",
    "solution interest",
    "completeness",
    "engagement",
    "stage",
    "status",
    "members",
    "missing roles",
)


def _list_row(group: GroupSummary) -> tuple[object, ...]:
    return (
        group.account_external_id + (" (deleted)" if group.is_deleted else ""),
        group.account_name,
        group.solution_interest,
        _score(group.completeness),
        _score(group.engagement),
        group.stage,
        group.status,
        group.members,
        ", ".join(group.missing_roles),
    )


@groups_app.command("show")
def groups_show(
    account: AccountArg, solution_interest: InterestOpt, as_json: JsonOpt = False
) -> None:
    """Show one group: scores, roles (assigned / required) and members with their evidence."""
    with reading() as session:
        group = _groups(session).get_group(account, solution_interest)
    _print_detail(group, as_json)


def _print_detail(group: GroupDetail, as_json: bool) -> None:
    if as_json:
        print_json(group.model_dump(mode="json"))
        return
    deleted = " [deleted]" if group.is_deleted else ""
    typer.echo(
        f"{group.account_external_id} {group.account_name} x {group.solution_interest}{deleted}\n"
        f"template {group.template_name}; completeness {_score(group.completeness)}; "
        f"engagement {_score(group.engagement)}; stage {group.stage or '-'}; "
        f"status {group.status or '-'}"
    )
    roles = [
        (r.role, f"{r.assigned}/{r.required}", _score(r.completeness), r.required_for_completeness)
        for r in group.roles
    ]
    print_table("roles", ("role", "assigned", "completeness", "for completeness"), roles)
    members = [
        (
            m.person_external_id,
            m.person_name,
            m.job_title,
            m.role,
            m.source.value,
            "" if m.confidence is None else f"{m.confidence:.2f}",
            "removed" if m.is_removed else "",
            m.evidence or "",
        )
        for m in group.member_list
    ]
    columns = ("person", "name", "title", "role", "source", "confidence", "removed", "evidence")
    print_table("members", columns, members)


@groups_app.command("recommend")
def groups_recommend(
    account: AccountArg,
    solution_interest: InterestOpt,
    role: Annotated[
        str | None, typer.Option(help="Only this role (even if it is not missing).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=50, help="Candidates per role.")] = 5,
    hierarchy: Annotated[
        bool, typer.Option(help="Include persons of the rest of the company.")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Who could fill each missing role of a group: ranked candidates with reasons (the
    template's rules, and the interest's role-model champion when there is one)."""
    from buying_groups.generation.recommendations import RecommendationService
    from buying_groups.settings import get_settings
    from buying_groups.storage.configuration_repository import ConfigurationRepository
    from buying_groups.storage.crm_repository import CrmRepository
    from buying_groups.storage.unit_of_work import SqlUnitOfWork
    from buying_groups_cli.generate import champion_role_model, champion_title_model

    with reading() as session:  # typos are said before a model is loaded
        ConfigurationRepository(session).get_solution_interest(solution_interest)
        CrmRepository(session).get_account(account)
    settings = get_settings()
    try:
        model, version = champion_role_model(settings.mlflow_tracking_uri, solution_interest)
        title_model = champion_title_model(settings.mlflow_tracking_uri, settings.title_model_name)
    except Exception as exc:  # a broken registry is said plainly; rules still answer
        typer.echo(f"warning: no role model ({exc}); rules only", err=True)
        model, version, title_model = None, None, None
    with reading() as session:
        uow = SqlUnitOfWork.joining(session)
        service = RecommendationService(uow, model, version, title_model=title_model)
        answer = service.recommend(
            solution_interest, account, role=role, limit=limit, hierarchy=hierarchy
        )
    if as_json:
        print_json(dataclasses.asdict(answer) | {"roles": [_role_json(r) for r in answer.roles]})
        return
    source = f"rules + role model v{version}" if version else "rules only (no role model)"
    typer.echo(f"{account} x {solution_interest}: {source}")
    for recommendation in answer.roles:
        rows = [
            (
                c.person_external_id,
                c.name,
                c.job_title,
                c.account_external_id,
                f"{c.score:.2f}",
                "; ".join(c.reasons),
            )
            for c in recommendation.candidates
        ]
        title = (
            f"{recommendation.role}: {recommendation.assigned}/{recommendation.members_required}"
            f" assigned, {recommendation.missing} missing"
        )
        print_table(title, ("person", "name", "title", "account", "score", "why"), rows)
        if recommendation.titles_to_acquire:
            typer.echo(
                "  nobody fits; titles to acquire: " + ", ".join(recommendation.titles_to_acquire)
            )


def _role_json(recommendation: Any) -> dict[str, Any]:
    return dataclasses.asdict(recommendation) | {"missing": recommendation.missing}


@groups_app.command("summary")
def groups_summary(solution_interest: InterestOpt, as_json: JsonOpt = False) -> None:
    """Completeness histogram and, per role, how many groups miss it (find what is missing)."""
    with reading() as session:
        summary = _groups(session).completeness_summary(solution_interest)
    if as_json:
        print_json(summary.model_dump(mode="json"))
        return
    _print_summary(summary)


def _print_summary(summary: CompletenessSummary) -> None:
    def shown(value: float | None) -> str:
        return "-" if value is None else _score(value)

    typer.echo(
        f"{summary.solution_interest}: {summary.groups} groups; "
        f"mean completeness {shown(summary.mean_completeness)}; "
        f"mean engagement {shown(summary.mean_engagement)}"
    )
    buckets = [(b.label, b.groups) for b in summary.histogram]
    print_table("completeness", ("range", "groups"), buckets)
    roles = [
        (
            r.role,
            r.groups_missing,
            shown(r.mean_completeness),
            shown(r.mean_engagement_of_missing),
        )
        for r in summary.roles
    ]
    columns = ("role", "groups missing it", "mean completeness", "mean engagement (missing)")
    print_table("roles", columns, roles)


@groups_app.command("move-stage")
def groups_move_stage(
    account: AccountArg,
    stage: Annotated[str, typer.Argument(help="The stage to move to.")],
    solution_interest: InterestOpt,
    as_json: JsonOpt = False,
) -> None:
    """Move a group to another stage, if the interest's stage model allows the move."""
    with writing() as session:
        group = _groups(session).move_stage(account, solution_interest, stage)
    _print_change(group, as_json, f"stage is now {group.stage}")


@groups_app.command("set-status")
def groups_set_status(
    account: AccountArg,
    status: Annotated[str, typer.Argument(help="Free text, at most 50 characters; '' clears.")],
    solution_interest: InterestOpt,
    as_json: JsonOpt = False,
) -> None:
    """Set a group's free-text status."""
    with writing() as session:
        group = _groups(session).set_status(account, solution_interest, status or None)
    _print_change(group, as_json, f"status is now {group.status or '(none)'}")


def _print_change(group: GroupDetail, as_json: bool, message: str) -> None:
    if as_json:
        print_json(group.model_dump(mode="json"))
    else:
        typer.echo(f"{group.account_external_id} x {group.solution_interest}: {message}")
