"""`make mlflow`: the MLflow UI on the settings' stores, one worker, the port chosen."""

from __future__ import annotations

import pytest
import typer

from buying_groups.settings import Settings
from training.mlflow_ui import mlflow_server_command


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_the_ui_serves_the_settings_stores_with_one_worker() -> None:
    settings = Settings(
        mlflow_tracking_uri="sqlite:////srv/t.db",
        mlflow_registry_uri="sqlite:////srv/r.db",
        mlflow_artifact_root="/srv/artifacts",
        mlflow_port=5123,
    )
    command = mlflow_server_command(settings)
    assert _option(command, "--backend-store-uri") == "sqlite:////srv/t.db"
    assert _option(command, "--registry-store-uri") == "sqlite:////srv/r.db"
    assert _option(command, "--default-artifact-root") == "/srv/artifacts"
    assert _option(command, "--workers") == "1"
    assert _option(command, "--host") == "127.0.0.1"
    assert _option(command, "--port") == "5123"
    assert _option(mlflow_server_command(settings, port=5001), "--port") == "5001"


def test_a_remote_tracking_server_is_not_started_again() -> None:
    with pytest.raises(typer.BadParameter, match="MLflow server"):
        mlflow_server_command(Settings(mlflow_tracking_uri="http://mlflow.internal:5000"))
