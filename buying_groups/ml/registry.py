"""MLflow store and model-registry access: where runs go, which version is the champion.

Models are served through the registry alias ``@champion`` (``models:/NAME@champion``),
never through a run id; ``@challenger`` marks the latest version that lost its comparison.
The tracking and registry store is SQLite by default (MLflow 3 has no plain file store any
more), under the settings' data folder, and artifacts live in a local folder given by the
settings; ``MLFLOW_TRACKING_URI`` / ``MLFLOW_REGISTRY_URI`` are honoured, the ``BG_``
variables win.

Only writers (training, registering) may create the store: MLflow creates a missing SQLite
store on first use, so a reader with a mistyped path would otherwise see an empty registry
("no champion") instead of being told that the store is not there.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PyFuncModel

from buying_groups.domain.errors import NotFoundError
from buying_groups.input_files import shorten

if TYPE_CHECKING:
    from buying_groups.settings import Settings

__all__ = [
    "CHALLENGER_ALIAS",
    "CHAMPION_ALIAS",
    "MissingStoreError",
    "MlflowStores",
    "ModelNotFoundError",
    "champion_uri",
    "champion_version",
    "configure_mlflow",
    "ensure_experiment",
    "load_champion",
    "load_classifier",
    "load_pyfunc",
    "mlflow_stores",
    "role_model_name",
    "set_challenger",
    "set_champion",
    "version_aliases",
]

CHAMPION_ALIAS = "champion"
#: The latest version that was trained and compared but did not beat the champion.
CHALLENGER_ALIAS = "challenger"
_SQLITE_PREFIX = "sqlite:///"
#: Model URIs that resolve through the tracking/registry store (others are paths or URLs).
_STORE_SCHEMES = ("models:", "runs:")


class MissingStoreError(NotFoundError):
    """The configured MLflow store does not exist; reading it would create an empty one."""


class ModelNotFoundError(NotFoundError):
    """A model URI names no model that can be loaded."""


@dataclass(frozen=True)
class MlflowStores:
    """Where runs, registered models and new experiments' artifacts go."""

    tracking_uri: str
    registry_uri: str
    artifact_root: str

    def client(self, *, create: bool = False) -> MlflowClient:
        """Configure MLflow for these stores and return a client (see :func:`configure_mlflow`)."""
        return configure_mlflow(self.tracking_uri, registry_uri=self.registry_uri, create=create)


def mlflow_stores(
    settings: Settings,
    tracking_uri: str | None = None,
    registry_uri: str | None = None,
    artifact_root: str | None = None,
) -> MlflowStores:
    """The stores given, the settings' for the others.

    A tracking store given without a registry store is its own registry: a caller who
    names a throw-away store does not want versions registered in the settings' one.
    """
    if tracking_uri is None:
        tracking_uri = settings.mlflow_tracking_uri
        registry_uri = registry_uri or settings.mlflow_registry_uri
    return MlflowStores(
        tracking_uri=tracking_uri,
        registry_uri=registry_uri or tracking_uri,
        artifact_root=artifact_root or settings.mlflow_artifact_root,
    )


def sqlite_store_path(tracking_uri: str) -> Path | None:
    """The file of a ``sqlite:///`` store (relative to the current folder, as SQLAlchemy
    reads it); ``None`` for other stores and in-memory SQLite."""
    if not tracking_uri.startswith(_SQLITE_PREFIX):
        return None
    database = tracking_uri.removeprefix(_SQLITE_PREFIX).split("?", 1)[0]
    return None if database in ("", ":memory:") else Path(database)


def configure_mlflow(
    tracking_uri: str, *, registry_uri: str | None = None, create: bool = False
) -> MlflowClient:
    """Point MLflow's tracking and registry at the stores and return a client.

    Args:
        tracking_uri: the tracking store; for ``sqlite:///`` its file must exist unless
            ``create``.
        registry_uri: the model registry store (default: the tracking store), checked alike.
        create: the caller writes (trains, registers): create a missing SQLite store's folder
            and let MLflow create the store.

    Raises:
        MissingStoreError: a SQLite store that does not exist, without ``create``.
    """
    registry_uri = registry_uri or tracking_uri
    _check_store(tracking_uri, create, "BG_MLFLOW_TRACKING_URI")
    if registry_uri != tracking_uri:
        _check_store(registry_uri, create, "BG_MLFLOW_REGISTRY_URI")
    # MLflow also writes the URIs into os.environ, where Settings would later read them back
    # as the user's MLFLOW_* choice (a second store in the same process then registered its
    # versions in the first): keep the environment as the user set it.
    saved = {name: os.environ.get(name) for name in _MLFLOW_URI_VARIABLES}
    try:
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(registry_uri)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)


_MLFLOW_URI_VARIABLES: Final = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def _check_store(uri: str, create: bool, variable: str) -> None:
    """Create a writer's SQLite folder; refuse a reader a SQLite store that is not there."""
    path = sqlite_store_path(uri)
    if path is not None and create:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif path is not None and not path.is_file():
        raise MissingStoreError(f"no MLflow store at {path}; train a model first or set {variable}")


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
    """Move the champion alias of ``name`` to ``version`` (which stops being a challenger)."""
    client.set_registered_model_alias(name, CHAMPION_ALIAS, str(version))
    if _alias_version(client, name, CHALLENGER_ALIAS) == str(version):
        client.delete_registered_model_alias(name, CHALLENGER_ALIAS)


def set_challenger(client: MlflowClient, name: str, version: str | int) -> None:
    """Move the challenger alias of ``name`` to ``version``: trained, compared, not promoted."""
    client.set_registered_model_alias(name, CHALLENGER_ALIAS, str(version))


def version_aliases(client: MlflowClient, name: str) -> dict[str, list[str]]:
    """Version -> its aliases, sorted, for registered model ``name``.

    ``search_model_versions`` leaves ``aliases`` empty on the versions it returns; the
    registered model's own alias map is complete.
    """
    aliases: dict[str, list[str]] = {}
    for alias, version in sorted(client.get_registered_model(name).aliases.items()):
        aliases.setdefault(str(version), []).append(alias)
    return aliases


def _alias_version(client: MlflowClient, name: str, alias: str) -> str | None:
    """The version ``alias`` points to, or ``None``."""
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def load_champion(
    tracking_uri: str, name: str, registry_uri: str | None = None
) -> tuple[Any, str] | None:
    """The champion of ``name`` as the Python object its pyfunc wraps, and its version.

    Args:
        tracking_uri: the tracking store.
        name: the registered model.
        registry_uri: the registry store (default: the tracking store).

    Returns:
        ``(classifier, version)``; ``None`` when ``name`` has no champion or its model
        wraps no ``classifier``.
    """
    version = champion_version(configure_mlflow(tracking_uri, registry_uri=registry_uri), name)
    if version is None:
        return None
    # By version, not alias: the alias may move between the two calls.
    classifier = load_classifier(name, version.version)
    return None if classifier is None else (classifier, str(version.version))


def load_classifier(name: str, version: str | int) -> Any | None:
    """The ``classifier`` that version ``version`` of registered model ``name`` wraps (None
    when it wraps none), from the registry MLflow is configured with."""
    model = load_pyfunc(f"models:/{name}/{version}").unwrap_python_model()
    return getattr(model, "classifier", None)


def load_pyfunc(
    model_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None
) -> PyFuncModel:
    """Load any MLflow model URI; ``models:/`` and ``runs:/`` resolve in ``tracking_uri``.

    Args:
        model_uri: e.g. ``models:/NAME@champion``, ``runs:/ID/model`` or a folder.
        tracking_uri: the store to read (default: the one MLflow is configured with).
        registry_uri: the registry store (default: the tracking store).

    Raises:
        MissingStoreError: the URI needs a store that does not exist.
        ModelNotFoundError: nothing loadable at the URI; the message is one line.
    """
    if tracking_uri is not None and model_uri.startswith(_STORE_SCHEMES):
        configure_mlflow(tracking_uri, registry_uri=registry_uri)
    try:
        return mlflow.pyfunc.load_model(model_uri)
    except (MlflowException, OSError) as exc:
        reason = shorten(_first_line(exc), 200)
        raise ModelNotFoundError(f"cannot load model {shorten(model_uri)!r}: {reason}") from exc


def _first_line(error: Exception) -> str:
    message = error.message if isinstance(error, MlflowException) else str(error)
    lines = str(message).strip().splitlines()
    return lines[0] if lines else type(error).__name__
