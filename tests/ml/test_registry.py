"""The MLflow store: readers never create it, writers may; unknown models are one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from buying_groups.ml.registry import (
    MissingStoreError,
    MlflowStores,
    ModelNotFoundError,
    configure_mlflow,
    load_champion,
    load_pyfunc,
    mlflow_stores,
    sqlite_store_path,
)
from buying_groups.settings import Settings


def _uri(path: Path) -> str:
    return f"sqlite:///{path}"


def test_reading_a_missing_store_says_so_and_creates_nothing(tmp_path: Path) -> None:
    store = tmp_path / "mlflow" / "mlflow.db"
    with pytest.raises(MissingStoreError, match=f"no MLflow store at {store}") as raised:
        load_champion(_uri(store), "title-persona")
    assert "BG_MLFLOW_TRACKING_URI" in str(raised.value)
    with pytest.raises(MissingStoreError):
        configure_mlflow(_uri(store))
    assert not store.parent.exists()


def test_a_writer_creates_the_store(tmp_path: Path) -> None:
    store = tmp_path / "mlflow" / "mlflow.db"
    client = configure_mlflow(_uri(store), create=True)
    assert client.search_registered_models() == []
    assert store.is_file()
    assert load_champion(_uri(store), "title-persona") is None  # a reader may read it now


def test_a_model_uri_that_needs_no_store_does_not_ask_for_one(tmp_path: Path) -> None:
    folder = tmp_path / "no-model-here"
    with pytest.raises(ModelNotFoundError, match="cannot load model"):
        load_pyfunc(str(folder), _uri(tmp_path / "missing.db"))
    with pytest.raises(MissingStoreError):
        load_pyfunc("models:/x@champion", _uri(tmp_path / "missing.db"))


def test_unknown_registered_model_is_one_line(tmp_path: Path) -> None:
    store = _uri(tmp_path / "mlflow.db")
    configure_mlflow(store, create=True).search_registered_models()
    with pytest.raises(ModelNotFoundError) as raised:
        load_pyfunc("models:/nobody@champion", store)
    message = str(raised.value)
    assert message.startswith("cannot load model 'models:/nobody@champion'")
    assert "nobody" in message and "\n" not in message


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("sqlite:////abs/m.db", Path("/abs/m.db")),
        ("sqlite:///rel/m.db", Path("rel/m.db")),
        ("sqlite:///rel/m.db?timeout=5", Path("rel/m.db")),
        ("sqlite:///:memory:", None),
        ("http://mlflow:5000", None),
    ],
)
def test_sqlite_store_path(uri: str, path: Path | None) -> None:
    assert sqlite_store_path(uri) == path


def test_a_separate_registry_store_is_created_and_checked_apart(tmp_path: Path) -> None:
    tracking, registry = tmp_path / "tracking.db", tmp_path / "registry" / "registry.db"
    configure_mlflow(_uri(tracking), create=True)
    with pytest.raises(MissingStoreError, match=f"{registry}.*BG_MLFLOW_REGISTRY_URI"):
        configure_mlflow(_uri(tracking), registry_uri=_uri(registry))
    assert not registry.parent.exists()
    client = configure_mlflow(_uri(tracking), registry_uri=_uri(registry), create=True)
    client.create_registered_model("apart")
    assert tracking.is_file() and registry.is_file()
    assert [m.name for m in configure_mlflow(_uri(registry)).search_registered_models()] == [
        "apart"
    ]


def test_a_named_tracking_store_is_its_own_registry_and_the_settings_fill_the_rest() -> None:
    settings = Settings(
        mlflow_tracking_uri="sqlite:////s/t.db",
        mlflow_registry_uri="sqlite:////s/r.db",
        mlflow_artifact_root="/s/a",
    )
    assert mlflow_stores(settings) == MlflowStores("sqlite:////s/t.db", "sqlite:////s/r.db", "/s/a")
    named = mlflow_stores(settings, "sqlite:////tmp/x.db")
    assert named == MlflowStores("sqlite:////tmp/x.db", "sqlite:////tmp/x.db", "/s/a")
    assert (
        mlflow_stores(settings, registry_uri="sqlite:////o.db").tracking_uri == "sqlite:////s/t.db"
    )


def test_configuring_mlflow_leaves_the_users_mlflow_variables_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    first = f"sqlite:///{tmp_path / 'first.db'}"
    configure_mlflow(first, create=True)
    # MLflow itself writes them; Settings would then read the first store back as the
    # user's registry, and a second store's versions would land in the first.
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert "MLFLOW_REGISTRY_URI" not in os.environ
    second = f"sqlite:///{tmp_path / 'second.db'}"
    assert Settings(mlflow_tracking_uri=second).mlflow_registry_uri == second
