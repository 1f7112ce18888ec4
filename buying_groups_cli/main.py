"""The ``buying-groups`` command: the composition root that wires core, training and serving.

Every command pays for what this module imports, ``--help`` included, so the core, storage
(SQLAlchemy), pandas and the models load inside the commands that use them; a test
(tests/cli/test_cli_start.py) keeps torch, scikit-learn and MLflow out of the start.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from buying_groups.domain.errors import DomainError
from buying_groups_cli import api_keys
from buying_groups_cli.configuration import (
    audiences_app,
    config_app,
    interests_app,
    stage_models_app,
    templates_app,
)
from buying_groups_cli.entity_files import EncodingOpt
from buying_groups_cli.generate import generate
from buying_groups_cli.groups import groups_app
from buying_groups_cli.output import fail, print_json, print_table, progress_bar, progress_bars
from buying_groups_cli.reporting_group import ReportingGroup
from training.cli import evaluate_app, predict_app, train_app

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from buying_groups.imports.loader import ImportReport
    from buying_groups.storage.crm_repository import CrmRepository

app = typer.Typer(help="Buying groups for B2B marketing.", no_args_is_help=True, cls=ReportingGroup)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
import_app = typer.Typer(
    help="Import CRM data from CSV or JSON Lines (upsert by external id).", no_args_is_help=True
)
accounts_app = typer.Typer(help="Accounts.", no_args_is_help=True)
persons_app = typer.Typer(help="Persons.", no_args_is_help=True)
demo_app = typer.Typer(help="The synthetic demo CRM and configuration.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(api_keys.app, name="api-keys")
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(accounts_app, name="accounts")
app.add_typer(persons_app, name="persons")
app.add_typer(config_app, name="config")
app.add_typer(templates_app, name="templates")
app.add_typer(interests_app, name="solution-interests")
app.add_typer(audiences_app, name="audiences")
app.add_typer(stage_models_app, name="stage-models")
app.add_typer(groups_app, name="groups")
app.command("generate")(generate)
app.add_typer(train_app, name="train")
app.add_typer(predict_app, name="predict")
app.add_typer(evaluate_app, name="evaluate")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
LimitOpt = Annotated[int, typer.Option(min=1, max=10_000, help="At most this many rows.")]
OffsetOpt = Annotated[int, typer.Option(min=0, help="Skip this many rows.")]
FileArg = Annotated[Path, typer.Argument(help="A .csv or .jsonl file.")]
#: Exit code of an import that loaded the good rows but rejected some.
EXIT_ROWS_REJECTED = 3


def engine() -> Engine:
    """The engine of the configured database."""
    from buying_groups.settings import get_settings
    from buying_groups.storage.database import make_engine

    return make_engine(get_settings().database_url)


def crm_repository(session: Session) -> CrmRepository:
    """The CRM repository of a session."""
    from buying_groups.storage.crm_repository import CrmRepository

    return CrmRepository(session)


def session_factory(target: Engine) -> sessionmaker[Session]:
    """Sessions of an engine."""
    from buying_groups.storage.database import make_session_factory

    return make_session_factory(target)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version."""
    from buying_groups.settings import get_settings
    from buying_groups.storage.database import upgrade

    upgrade(engine())
    typer.echo(f"database is up to date: {get_settings().database_url}")


def _count_lines(path: Path) -> int | None:
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - (path.suffix.lower() == ".csv"), 0)


def _run_import(kind: str, path: Path, as_json: bool, encoding: str | None) -> None:
    """Import a file; unreadable files and a missing schema are said by the root group."""
    from buying_groups.imports.loader import import_accounts, import_activities, import_persons

    importer = {
        "accounts": import_accounts,
        "persons": import_persons,
        "activities": import_activities,
    }[kind]
    with progress_bar(f"importing {kind}", _count_lines(path), quiet=as_json) as advance:
        report = importer(engine(), path, progress=advance, encoding=encoding)
    _print_report(report, as_json)
    if report.rejected:
        raise typer.Exit(EXIT_ROWS_REJECTED)


def _print_report(report: ImportReport, as_json: bool) -> None:
    if as_json:
        print_json(report.as_dict())
        return
    counts = f"{report.inserted} inserted, {report.updated} updated"
    if (unchanged := getattr(report, "unchanged", None)) is not None:
        counts += f", {unchanged} unchanged"
    typer.echo(f"{report.entity}: {counts}, {len(report.rejected)} rejected")
    for row in report.rejected:
        for error in row.errors:
            where = f"line {row.line} ({row.external_id or '-'})"
            typer.echo(f"  {where}: {error.field or 'row'}: {error.reason}")


@import_app.command("accounts")
def import_accounts_command(
    file: FileArg, as_json: JsonOpt = False, encoding: EncodingOpt = None
) -> None:
    """Upsert accounts (parent_external_id links divisions). Exit 3 if any row was rejected."""
    _run_import("accounts", file, as_json, encoding)


@import_app.command("persons")
def import_persons_command(
    file: FileArg, as_json: JsonOpt = False, encoding: EncodingOpt = None
) -> None:
    """Upsert persons (account_external_id must exist). Exit 3 if any row was rejected."""
    _run_import("persons", file, as_json, encoding)


@import_app.command("groups")
def import_groups_command(
    file: FileArg, as_json: JsonOpt = False, encoding: EncodingOpt = None
) -> None:
    """Import buying-group members (source import; stage, status optional). Exit 3 if any
    row was rejected."""
    from buying_groups.generation.group_imports import GroupImportService
    from buying_groups.storage.group_repository import GroupRepository
    from buying_groups.storage.unit_of_work import SqlUnitOfWork

    uow = SqlUnitOfWork(engine())
    service = GroupImportService(uow, lambda: GroupRepository(uow.session))
    with progress_bar("importing groups", _count_lines(file), quiet=as_json) as advance:
        report = service.run(file, progress=advance, encoding=encoding)
    _print_report(report, as_json)
    if report.rejected:
        raise typer.Exit(EXIT_ROWS_REJECTED)


@import_app.command("activities")
def import_activities_command(
    file: FileArg, as_json: JsonOpt = False, encoding: EncodingOpt = None
) -> None:
    """Upsert activities (person_external_id must exist). Exit 3 if any row was rejected."""
    _run_import("activities", file, as_json, encoding)


@accounts_app.command("list")
def accounts_list(
    parent: Annotated[str | None, typer.Option(help="Only the divisions of this account.")] = None,
    limit: LimitOpt = 50,
    offset: OffsetOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """List accounts ordered by external id."""
    with session_factory(engine())() as session:
        try:
            page = crm_repository(session).list_accounts(
                limit=limit, offset=offset, parent_external_id=parent
            )
        except DomainError as exc:
            raise fail(str(exc)) from exc
    columns = ("id", "name", "industry", "country", "employees", "parent")
    rows = [
        (a.external_id, a.name, a.industry, a.country, a.employees, a.parent_external_id)
        for a in page.items
    ]
    _print_page("accounts", page, offset, columns, rows, as_json)


@persons_app.command("list")
def persons_list(
    account: Annotated[str | None, typer.Option(help="Only the persons of this account.")] = None,
    limit: LimitOpt = 50,
    offset: OffsetOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """List persons ordered by external id."""
    with session_factory(engine())() as session:
        try:
            page = crm_repository(session).list_persons(
                account_external_id=account, limit=limit, offset=offset
            )
        except DomainError as exc:
            raise fail(str(exc)) from exc
    columns = ("id", "account", "first", "last", "job title")
    rows = [
        (p.external_id, p.account_external_id, p.first_name, p.last_name, p.job_title)
        for p in page.items
    ]
    _print_page("persons", page, offset, columns, rows, as_json)


def _print_page(
    kind: str,
    page: Any,
    offset: int,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    as_json: bool,
) -> None:
    """A page of a list command: JSON (total and items), or a table titled with the range."""
    if as_json:
        print_json({"total": page.total, "items": [i.model_dump(mode="json") for i in page.items]})
        return
    print_table(f"{kind} {offset + 1}-{offset + len(rows)} of {page.total}", columns, rows)


@demo_app.command("seed")
def demo_seed(
    size: Annotated[
        str, typer.Option(help="small (tests), medium, or large (1M persons).")
    ] = "small",
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same CRM.")] = 7,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing if accounts exist.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Load the synthetic demo CRM (made-up companies and people) and the demo configuration."""
    from buying_groups.storage.database import upgrade
    from buying_groups_demo.crm import SIZES
    from buying_groups_demo.seed import seed_demo

    if size not in SIZES:
        raise fail(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    target = engine()
    upgrade(target)
    with session_factory(target)() as session:
        existing = crm_repository(session).count_accounts()
    if if_empty and existing:
        typer.echo(f"demo data not loaded: the database already has {existing} accounts")
        return
    with progress_bars(quiet=as_json) as bar:
        report = seed_demo(target, size, seed, progress=bar)
    if as_json:
        print_json(report.as_dict())
        return
    for imported in report.reports:
        typer.echo(
            f"{imported.entity}: {imported.accepted} loaded, {len(imported.rejected)} rejected"
        )
    typer.echo(f"configuration: {report.configuration or 'kept the existing one'}")
    for generation in report.generations:
        typer.echo(
            f"buying groups for {generation.solution_interest!r} x {generation.audience!r}: "
            f"{generation.groups_created} created, {generation.members_added} members"
        )


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
) -> None:
    """Start the HTTP API."""
    import uvicorn

    from buying_groups.settings import get_settings
    from serving.app import create_app

    settings = get_settings()
    host, port = host or settings.api_host, port or settings.api_port
    base = f"http://{host}:{port}"
    typer.echo(f"buying-groups API on {base}  (docs: {base}/docs, review page: {base}/review)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


if __name__ == "__main__":
    app()
