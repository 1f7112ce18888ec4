"""Demo role models: trained once, used by a hybrid run, and never on a real CRM."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from buying_groups.generation.reviews import ReviewFilter, ReviewService
from buying_groups.imports.loader import import_accounts
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups.storage.unit_of_work import SqlUnitOfWork
from buying_groups_demo.seed import DEMO_GENERATIONS, seed_demo
from training.demo_models import ensure_demo_role_models, is_demo_crm


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, str]:
    """Tracking URI and artifact root of this test's own: the demo's model names are fixed."""
    return f"sqlite:///{tmp_path / 'mlflow.db'}", str(tmp_path / "artifacts")


def test_demo_interests_get_role_models_and_reviews_once(
    engine: Engine, store: tuple[str, str]
) -> None:
    seed_demo(engine, "small", generate=True)
    reports = ensure_demo_role_models(engine, *store, progress=False)
    assert [r.solution_interest for r in reports] == [i for i, _ in DEMO_GENERATIONS]
    assert [r.model_uri for r in reports] == [
        "models:/role-secure-edge/1",
        "models:/role-data-cloud/1",
    ]
    with unit_of_work(make_session_factory(engine)) as session:
        page = ReviewService(SqlUnitOfWork.joining(session)).list(ReviewFilter(), limit=1)
    assert page.total == sum(r.reviews_created for r in reports) > 0
    # A second start finds the champions and does nothing.
    again = ensure_demo_role_models(engine, *store)
    assert again == []


def test_a_real_crm_is_left_alone(engine: Engine, store: tuple[str, str]) -> None:
    import_accounts(engine, pd.DataFrame([{"external_id": "A1", "name": "Real Ltd"}]))
    assert not is_demo_crm(engine)
    assert ensure_demo_role_models(engine, *store) == []
