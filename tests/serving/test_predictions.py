"""Models in serving: loaded by alias at start-up, reloaded when the alias moves, rules-only
without them; role predictions with persona, role and evidence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from api_key_factory import make_key
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from buying_groups.ml.embedders import HashingEmbedder
from buying_groups.settings import Settings
from buying_groups_demo.seed import seed_demo
from serving.app import create_app
from training.title_pipeline import train_titles

NAME = "title-persona-test"
TITLES = pd.DataFrame(
    {
        "title": [
            "CISO",
            "Head of IT Security",
            "Security Engineer",
            "Security Analyst",
            "CFO",
            "Finance Manager",
            "Accountant",
            "Controller",
            "VP Sales",
            "Sales Manager",
            "Account Executive",
            "Sales Representative",
        ]
        * 3,
        "function": (["Security"] * 4 + ["Finance"] * 4 + ["Sales"] * 4) * 3,
        "seniority": (["C-level/Owner", "Director", "Professional", "Professional"] * 3) * 3,
    }
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, migrated_engine: Engine) -> Settings:
    """Settings pointing at a private MLflow store with one registered title model.

    One store per database backend (through ``migrated_engine``): a test moves the alias,
    and the next backend's tests must start from version 1 again.
    """
    folder = tmp_path_factory.mktemp("mlflow")
    settings = Settings(
        mlflow_tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
        mlflow_artifact_root=str(folder / "artifacts"),
        title_model_name=NAME,
        webhooks_enabled=False,
    )
    _train(settings, promote=False)
    return settings


def _train(settings: Settings, promote: bool) -> None:
    train_titles(
        TITLES,
        ["function", "seniority"],
        NAME,
        embedder=HashingEmbedder(n_features=256),
        promote=promote,
        log_plots=False,
        tracking_uri=settings.mlflow_tracking_uri,
        artifact_root=settings.mlflow_artifact_root,
        progress=False,
    )


@pytest.fixture
def api(store: Settings, engine: Engine) -> Iterator[TestClient]:
    seed_demo(engine, "small", generate=False)
    app = create_app(store, engine=engine)
    headers = {"X-API-Key": make_key(engine, ["admin"])}
    with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
        yield client


def test_models_are_loaded_by_alias_at_start_up(api: TestClient) -> None:
    ready = api.get("/ready").json()
    assert ready["rules_only"] is False and ready["models"] == {NAME: "1"}


def test_role_predictions_give_persona_role_and_evidence(api: TestClient) -> None:
    body = {"titles": ["CISO", "Sales Manager"], "solution_interest": "Secure Edge"}
    result = api.post("/v1/role-predictions", json=body).json()
    ciso, sales = result["predictions"]
    assert ciso["function"]["label"] == "Security"
    assert ciso["persona"] == f"Security / {ciso['seniority']['label']}"
    assert ciso["role"] == {
        "label": "Decision Maker",
        "confidence": None,
        "source": "rule",
        "evidence": {"card": 0, "fired": ciso["role"]["evidence"]["fired"]},
    }
    assert sales["role"]["label"] is None  # no card of the security template matches
    assert ciso["nearest_titles"][0]["title"] == "CISO"
    assert result["models"] == {NAME: "1"}


def test_too_many_titles_are_refused(api: TestClient) -> None:
    response = api.post("/v1/role-predictions", json={"titles": ["x"] * 1001})
    assert response.status_code == 422


def test_reload_picks_up_a_moved_alias(api: TestClient, store: Settings) -> None:
    _train(store, promote=True)
    assert api.post("/v1/model-reloads").json()["models"] == {NAME: "2"}
    assert api.get("/v1/models").json()["models"] == {NAME: "2"}


def test_without_a_model_the_service_runs_rules_only(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'empty.db'}",
        mlflow_artifact_root=str(tmp_path / "artifacts"),
        title_model_name="nothing-here",
        webhooks_enabled=False,
    )
    seed_demo(engine, "small", generate=False)
    app = create_app(settings, engine=engine)
    headers = {"X-API-Key": make_key(engine, ["read"])}
    with TestClient(app, headers=headers) as client:
        ready = client.get("/ready").json()
        assert ready["rules_only"] is True and ready["errors"]
        body = {"titles": ["CISO"], "solution_interest": "Secure Edge"}
        prediction = client.post("/v1/role-predictions", json=body).json()["predictions"][0]
    assert prediction["function"] is None and prediction["role"]["label"] == "Decision Maker"


def test_repeated_titles_are_answered_from_the_cache(api: TestClient) -> None:
    body = {"titles": ["CFO", "CFO", "Controller"], "solution_interest": "Secure Edge"}
    first = api.post("/v1/role-predictions", json=body).json()
    assert [p["title"] for p in first["predictions"]] == ["CFO", "CFO", "Controller"]
    cache = api.app.state.models.predictions  # type: ignore[attr-defined]
    template = api.get("/v1/solution-interests/Secure Edge").json()["role_template"]
    assert cache.get((first["models"][NAME], None, "Secure Edge", template, "CFO")) is not None
    assert api.post("/v1/role-predictions", json=body).json() == first


def test_a_large_batch_is_answered_in_input_order(api: TestClient) -> None:
    titles = [f"Head of IT {n}" for n in range(30)] + ["CISO", "Head of IT 3"]
    result = api.post("/v1/role-predictions", json={"titles": titles}).json()
    assert [p["title"] for p in result["predictions"]] == titles
    single = api.post("/v1/role-predictions", json={"titles": ["CISO"]}).json()
    assert result["predictions"][30] == single["predictions"][0]


def test_an_unknown_solution_interest_is_404(api: TestClient) -> None:
    body = {"titles": ["CISO"], "solution_interest": "Nope"}
    response = api.post("/v1/role-predictions", json=body)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
