"""Serving reads the MLflow store and never creates it: a wrong path is said, not hidden."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_key_factory import make_key
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from buying_groups.settings import Settings
from serving.app import create_app
from serving.models import ModelStore


def test_a_missing_store_is_logged_and_not_created(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = tmp_path / "mlflow" / "mlflow.db"
    loaded = ModelStore(f"sqlite:///{store}", "title-persona").reload()
    assert loaded.rules_only and loaded.errors
    assert f"no MLflow store at {store}" in caplog.text
    assert not store.parent.exists()


def test_the_service_starts_rules_only_without_creating_the_store(
    engine: Engine, tmp_path: Path
) -> None:
    store = tmp_path / "mlflow" / "mlflow.db"
    settings = Settings(
        mlflow_tracking_uri=f"sqlite:///{store}",
        mlflow_artifact_root=str(tmp_path / "artifacts"),
        webhooks_enabled=False,
    )
    headers = {"X-API-Key": make_key(engine, ["read"])}
    with TestClient(create_app(settings, engine=engine), headers=headers) as client:
        ready = client.get("/ready").json()
    assert ready["rules_only"] is True and ready["errors"]
    assert not store.parent.exists()
