"""``buying-groups generate``: create or maintain the buying groups of an audience.

Registered by the composition root: ``app.command("generate")(generate)``. Generation and
the models (scikit-learn, MLflow) load when the command runs, not when the CLI starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from buying_groups.domain.errors import DomainError
from buying_groups_cli.output import fail, print_json, progress_bar

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from buying_groups.generation import GenerationReport
    from buying_groups.ml.title_classifier import TitleClassifier


def generate(
    solution_interest: Annotated[
        str, typer.Option("--solution-interest", "-s", help="What is sold (its live template).")
    ],
    audience: Annotated[str, typer.Option("--audience", "-a", help="Which accounts.")],
    mode: Annotated[
        str,
        typer.Option(
            help="rules, model or hybrid (the last two load models:/role-<slug>@champion)."
        ),
    ] = "rules",
    job_id: Annotated[
        int | None, typer.Option("--resume", help="Resume this job id after a failure.")
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Reusing a key returns its job instead of a new one.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Create the buying groups of an audience x solution interest, or bring them up to date."""
    from buying_groups.generation import run_generation
    from buying_groups.settings import get_settings
    from buying_groups.storage.database import make_engine
    from buying_groups.storage.unit_of_work import SqlUnitOfWork

    settings = get_settings()
    engine = make_engine(settings.database_url)
    role_model, version = (None, None)
    if mode != "rules":
        role_model, version = champion_role_model(settings.mlflow_tracking_uri, solution_interest)
    title_model = None
    if _cards_read_inferred(engine, solution_interest):
        title_model = champion_title_model(settings.mlflow_tracking_uri, settings.title_model_name)
    try:
        with progress_bar("accounts", None, quiet=as_json) as advance:
            report = run_generation(
                SqlUnitOfWork(engine),
                solution_interest=solution_interest,
                audience=audience,
                mode=mode,
                role_model=role_model,
                model_version=version,
                title_model=title_model,
                job_id=job_id,
                idempotency_key=idempotency_key,
                progress=advance,
            )
    except DomainError as exc:
        raise fail(str(exc)) from None
    if as_json:
        print_json(report.as_dict())
        return
    typer.echo(_summary(report))


def champion_role_model(
    tracking_uri: str, solution_interest: str
) -> tuple[TitleClassifier | None, str | None]:
    """The interest's champion role model and its version; (None, None) if there is none."""
    from buying_groups.ml.registry import load_champion, role_model_name
    from buying_groups.ml.title_classifier import TitleClassifier

    loaded = load_champion(tracking_uri, role_model_name(solution_interest))
    if loaded is None or not isinstance(loaded[0], TitleClassifier):
        return None, None  # run_generation says how to train one
    return loaded[0], loaded[1]


def champion_title_model(tracking_uri: str, name: str) -> TitleClassifier | None:
    """The title champion, whose function, seniority and persona cards may test; None if
    there is none (such cards then see those attributes absent)."""
    from buying_groups.ml.registry import MissingStoreError, load_champion
    from buying_groups.ml.title_classifier import TitleClassifier

    try:
        loaded = load_champion(tracking_uri, name)
    except MissingStoreError:
        return None  # nothing trained yet: the rules run without inferred attributes
    if loaded is None or not isinstance(loaded[0], TitleClassifier):
        return None
    return loaded[0]


def _cards_read_inferred(engine: Engine, solution_interest: str) -> bool:
    """Whether the interest's live template tests what a model infers from the title."""
    from buying_groups.assignment import RuleMatcher
    from buying_groups.storage.configuration_repository import ConfigurationRepository
    from buying_groups.storage.database import make_session_factory

    with make_session_factory(engine)() as session:
        configuration = ConfigurationRepository(session)
        try:
            interest = configuration.get_solution_interest(solution_interest)
            cards = configuration.get_template(interest.role_template).cards
        except DomainError:
            return False  # run_generation names what is missing
    return RuleMatcher(cards).reads_inferred


def _summary(report: GenerationReport) -> str:
    """One line a person reads after the job."""
    return (
        f"job {report.job_id} {report.state}: {report.processed_accounts} accounts; groups "
        f"{report.groups_created} created, {report.groups_updated} updated; members "
        f"{report.members_added} added, {report.members_removed} removed, "
        f"{report.members_changed} changed; reviews {report.reviews_created} opened"
    )
