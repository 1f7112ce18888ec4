"""Role models for the demo's solution interests, so a new user sees hybrid groups and reviews.

``make run`` calls ``python -m training.demo_models`` after the default title model exists.
On the synthetic demo CRM only (it has ``demo_person_truths``; a real CRM is never touched),
for each demo (solution interest, audience) whose interest has no role-model champion, it
trains one with :func:`training.role_pipeline.train_roles` (the demo has no confirmed
members, so from the live template's weak labels; the run says so), registers it as the
champion, and runs a hybrid generation job: the model adds members where no rule fires and
opens review items where it disagrees with a rule or is unsure, which the review page
(``/review``) shows. With a champion already there it does nothing.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import typer
from sqlalchemy import Engine, func, select

from buying_groups.generation import run_generation
from buying_groups.ml.registry import champion_version, configure_mlflow, load_champion
from buying_groups.settings import get_settings
from buying_groups.storage.database import make_engine
from buying_groups.storage.tables import DemoPersonTruthRow
from buying_groups.storage.unit_of_work import SqlUnitOfWork
from buying_groups_demo.seed import DEMO_GENERATIONS
from training.role_pipeline import WeakEvaluationWarning, role_model_name, train_roles

app = typer.Typer(help="Train demo role models and run hybrid generation (demo CRM only).")


@dataclass(frozen=True)
class DemoModelReport:
    """One demo interest: its new role model and what the hybrid job did."""

    solution_interest: str
    model_uri: str
    members_added: int
    reviews_created: int


def is_demo_crm(engine: Engine) -> bool:
    """True when the database holds the synthetic demo CRM (it knows its persons' truths)."""
    with engine.connect() as conn:
        truths = conn.execute(select(func.count()).select_from(DemoPersonTruthRow)).scalar_one()
    return truths > 0


def ensure_demo_role_models(
    engine: Engine,
    tracking_uri: str,
    artifact_root: str | None,
    *,
    registry_uri: str | None = None,
    progress: bool = True,
) -> list[DemoModelReport]:
    """Train, register and use role models for demo interests that have none.

    ``registry_uri`` is the registry store (default: the tracking store).

    Returns:
        One report per interest that got a model (none on a real CRM or when all exist).
    """
    if not is_demo_crm(engine):
        return []
    client = configure_mlflow(tracking_uri, registry_uri=registry_uri, create=True)
    reports = []
    for interest, audience in DEMO_GENERATIONS:
        if champion_version(client, role_model_name(interest)) is not None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", WeakEvaluationWarning)  # expected: no confirmed
            result = train_roles(
                engine,
                interest,
                promote=True,
                tracking_uri=tracking_uri,
                artifact_root=artifact_root,
                registry_uri=registry_uri,
                progress=progress,
            )
        loaded = load_champion(tracking_uri, result.name, registry_uri)
        if loaded is None:  # promoted just now; a registry that lost it is not ours to fix
            continue
        job = run_generation(
            SqlUnitOfWork(engine),
            solution_interest=interest,
            audience=audience,
            mode="hybrid",
            role_model=loaded[0],
            model_version=loaded[1],
        )
        reports.append(
            DemoModelReport(interest, result.model_uri, job.members_added, job.reviews_created)
        )
    return reports


@app.command()
def main() -> None:
    """Ensure the demo interests have role models and hybrid groups (demo CRM only)."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        reports = ensure_demo_role_models(
            engine,
            settings.mlflow_tracking_uri,
            settings.mlflow_artifact_root,
            registry_uri=settings.mlflow_registry_uri,
        )
    finally:
        engine.dispose()
    if not reports:
        typer.echo("demo role models: nothing to do")
    for report in reports:
        typer.echo(
            f"{report.solution_interest}: registered {report.model_uri} (weak rule labels); "
            f"hybrid job added {report.members_added} members and opened "
            f"{report.reviews_created} reviews (see /review)"
        )


if __name__ == "__main__":
    app()
