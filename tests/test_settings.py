"""The settings: MLflow's own variables, the BG_ ones winning, and where state goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from buying_groups import settings as settings_module
from buying_groups.settings import PROJECT_ROOT, Settings

_MLFLOW_VARIABLES = (
    "BG_MLFLOW_TRACKING_URI",
    "MLFLOW_TRACKING_URI",
    "BG_MLFLOW_REGISTRY_URI",
    "MLFLOW_REGISTRY_URI",
    "BG_MLFLOW_ARTIFACT_ROOT",
    "BG_DATA_DIR",
    "BG_DATABASE_URL",
    "DATABASE_URL",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _MLFLOW_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_mlflow_tracking_uri_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    settings = Settings()
    assert settings.mlflow_tracking_uri == "http://mlflow.internal:5000"
    assert settings.mlflow_registry_uri == "http://mlflow.internal:5000"


def test_bg_variables_win_over_mlflow_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    monkeypatch.setenv("BG_MLFLOW_TRACKING_URI", "sqlite:////srv/bg/mlflow.db")
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "sqlite:////srv/registry.db")
    settings = Settings()
    assert settings.mlflow_tracking_uri == "sqlite:////srv/bg/mlflow.db"
    assert settings.mlflow_registry_uri == "sqlite:////srv/registry.db"
    monkeypatch.setenv("BG_MLFLOW_REGISTRY_URI", "sqlite:////srv/bg/registry.db")
    assert Settings().mlflow_registry_uri == "sqlite:////srv/bg/registry.db"


def test_a_checkout_keeps_its_state_in_its_var_folder() -> None:
    settings = Settings()
    assert settings.data_dir == PROJECT_ROOT / "var"
    assert settings.mlflow_tracking_uri == f"sqlite:///{PROJECT_ROOT / 'var/mlflow/mlflow.db'}"
    assert settings.mlflow_artifact_root == str(PROJECT_ROOT / "var/mlflow/artifacts")


def test_an_installed_package_keeps_its_state_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A wheel install: the package's parent is site-packages, which has no pyproject.toml.
    site_packages = tmp_path / "site-packages"
    site_packages.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(settings_module, "PROJECT_ROOT", site_packages)
    monkeypatch.chdir(work)
    settings = Settings()
    assert settings.mlflow_tracking_uri == f"sqlite:///{work / 'var/mlflow/mlflow.db'}"
    assert settings.database_url == f"sqlite:///{work / 'var/buying-groups.db'}"
    assert str(site_packages) not in settings.mlflow_artifact_root


def test_a_data_dir_moves_every_default_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BG_DATA_DIR", str(tmp_path / "state"))
    settings = Settings()
    assert settings.mlflow_tracking_uri == f"sqlite:///{tmp_path / 'state/mlflow/mlflow.db'}"
    assert settings.mlflow_artifact_root == str(tmp_path / "state/mlflow/artifacts")
    assert settings.database_url == f"sqlite:///{tmp_path / 'state/buying-groups.db'}"
