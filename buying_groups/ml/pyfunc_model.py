"""The title classifier as an MLflow pyfunc model, and how to log one.

This module (with ``registry.py``) is the only part of ``buying_groups`` that imports MLflow;
the domain never imports it. A logged model keeps the fitted
:class:`~buying_groups.ml.title_classifier.TitleClassifier` pickled as the artifact
``classifier`` and answers ``predict`` with a frame of ``title``, ``<target>`` and
``<target>_confidence``: the same contract for the API, batch jobs and
``mlflow.pyfunc.spark_udf``.
"""

from __future__ import annotations

import pickle
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from mlflow.models.model import ModelInfo
from mlflow.pyfunc import PythonModel, PythonModelContext

from buying_groups.ml.title_classifier import TitleClassifier

__all__ = [
    "CLASSIFIER_ARTIFACT",
    "TITLE_COLUMN",
    "TitleInputError",
    "TitleModel",
    "log_title_model",
    "pip_requirements",
]

CLASSIFIER_ARTIFACT = "classifier"
TITLE_COLUMN = "title"
#: Distributions pinned in a logged model's requirements (the versions installed now).
_PINNED = ("mlflow", "scikit-learn", "pandas", "numpy", "scipy", "pyyaml")


class TitleInputError(ValueError):
    """The input to a title model has no ``title`` column."""


class TitleModel(PythonModel):
    """MLflow pyfunc wrapper around a fitted :class:`TitleClassifier`.

    Args:
        classifier: a fitted classifier, or ``None`` when MLflow loads the model (the
            classifier is then read from the ``classifier`` artifact in ``load_context``).
    """

    def __init__(self, classifier: TitleClassifier | None = None) -> None:
        self.classifier = classifier

    def load_context(self, context: PythonModelContext) -> None:
        """Unpickle the classifier from the model's artifacts."""
        with Path(context.artifacts[CLASSIFIER_ARTIFACT]).open("rb") as handle:
            self.classifier = pickle.load(handle)

    def predict(
        self,
        context: PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Predict every target for each title.

        Args:
            context: MLflow's context (unused once loaded).
            model_input: a frame with a ``title`` column (other columns are ignored).
            params: unused.

        Returns:
            ``title`` then ``<target>`` and ``<target>_confidence`` per target; a target is
            ``None`` where the classifier abstains.
        """
        return predict_frame(self._fitted(), model_input)

    def _fitted(self) -> TitleClassifier:
        """The classifier, which must have been given or loaded."""
        if self.classifier is None:
            raise RuntimeError("TitleModel has no classifier: load it through MLflow")
        return self.classifier


def predict_frame(classifier: TitleClassifier, frame: pd.DataFrame) -> pd.DataFrame:
    """Run ``classifier`` on ``frame["title"]`` and return title + predictions."""
    if TITLE_COLUMN not in frame.columns:
        raise TitleInputError(f"input needs a '{TITLE_COLUMN}' column, got {list(frame.columns)}")
    titles = frame[TITLE_COLUMN].fillna("").astype(str).tolist()
    predictions = classifier.predict_with_confidence(titles)
    return pd.concat([pd.DataFrame({TITLE_COLUMN: titles}), predictions], axis=1)


def pip_requirements() -> list[str]:
    """Requirements of a logged title model: the installed versions of what it needs.

    Given explicitly because MLflow's inference of requirements loads the model in a
    subprocess, which is slow and can miss the project's own package.
    """
    pinned = []
    for name in _PINNED:
        try:
            pinned.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return [*pinned, "buying-groups"]


def log_title_model(
    classifier: TitleClassifier,
    example_titles: list[str],
    *,
    name: str = "model",
    registered_model_name: str | None = None,
) -> ModelInfo:
    """Log ``classifier`` as a pyfunc model in the active run (and register it if named).

    Args:
        classifier: the fitted classifier.
        example_titles: a few titles for the input example and the signature.
        name: the model's name inside the run.
        registered_model_name: register a new version of this registered model.

    Returns:
        MLflow's :class:`ModelInfo` (``registered_model_version`` is set when registered).
    """
    example = pd.DataFrame({TITLE_COLUMN: example_titles})
    signature = infer_signature(example, predict_frame(classifier, example))
    with tempfile.TemporaryDirectory() as tmp:
        pickled = Path(tmp) / "classifier.pkl"
        pickled.write_bytes(pickle.dumps(classifier))
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=TitleModel(),
            artifacts={CLASSIFIER_ARTIFACT: str(pickled)},
            signature=signature,
            input_example=example,
            registered_model_name=registered_model_name,
            pip_requirements=pip_requirements(),
        )
