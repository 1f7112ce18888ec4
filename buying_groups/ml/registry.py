"""MLflow store and model-registry access: where runs go, which version is the champion.

Models are served through the registry alias ``@champion`` (``models:/NAME@champion``),
never through a run id. The tracking and registry store is SQLite by default (MLflow 3 has
no plain file store any more) and artifacts live in a local folder given by the settings.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

__all__ = [
    "CHAMPION_ALIAS",
    "champion_uri",
    "champion_version",
    "configure_mlflow",
    "ensure_experiment",
    "load_champion",
    "load_classifier",
    "role_model_name",
    "set_champion",
]

CHAMPION_ALIAS = "champion"
_SQLITE_PREFIX = "sqlite:///"


def configure_mlflow(tracking_uri: str) -> MlflowClient:
    """Point MLflow's tracking and registry at ``tracking_uri`` and return a client.

    For a ``sqlite:///`` URI the database's folder is created first.
    """
    if tracking_uri.startswith(_SQLITE_PREFIX):
        Path(tracking_uri.removeprefix(_SQLITE_PREFIX)).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def ensure_experiment(client: MlflowClient, name: str, artifact_root: str | None) -> str:
    """Return the id of experiment ``name``, creating it with artifacts under the root.

    Without an explicit artifact location MLflow would write to ``./mlruns`` of whatever
    the current directory happens to be.
    """
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return str(existing.experiment_id)
    location = None
    if artifact_root is not None:
        folder = Path(artifact_root).expanduser().resolve() / name
        folder.mkdir(parents=True, exist_ok=True)
        location = folder.as_uri()
    return str(client.create_experiment(name, artifact_location=location))


def role_model_name(solution_interest: str) -> str:
    """The registered name of a solution interest's role model: ``role-<slug>``."""
    slug = re.sub(r"[^a-z0-9]+", "-", solution_interest.casefold()).strip("-")
    return f"role-{slug or 'interest'}"


def champion_uri(name: str) -> str:
    """The URI that always loads the current champion of registered model ``name``."""
    return f"models:/{name}@{CHAMPION_ALIAS}"


def champion_version(client: MlflowClient, name: str) -> ModelVersion | None:
    """The version of ``name`` holding the champion alias, or ``None``."""
    try:
        return client.get_model_version_by_alias(name, CHAMPION_ALIAS)
    except MlflowException:
        return None


def set_champion(client: MlflowClient, name: str, version: str | int) -> None:
    """Move the champion alias of ``name`` to ``version``."""
    client.set_registered_model_alias(name, CHAMPION_ALIAS, str(version))


def load_champion(tracking_uri: str, name: str) -> tuple[Any, str] | None:
    """The champion of ``name`` as the Python object its pyfunc wraps, and its version.

    Returns:
        ``(classifier, version)``; ``None`` when ``name`` has no champion or its model
        wraps no ``classifier``.
    """
    version = champion_version(configure_mlflow(tracking_uri), name)
    if version is None:
        return None
    # By version, not alias: the alias may move between the two calls.
    classifier = load_classifier(name, version.version)
    return None if classifier is None else (classifier, str(version.version))


def load_classifier(name: str, version: str | int) -> Any | None:
    """The ``classifier`` that version ``version`` of registered model ``name`` wraps (None
    when it wraps none), from the registry MLflow is configured with."""
    model = mlflow.pyfunc.load_model(f"models:/{name}/{version}").unwrap_python_model()
    return getattr(model, "classifier", None)
