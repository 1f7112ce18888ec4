"""Inferred persona as features: a fitted title model's probabilities, as an embedder.

A role model reads a title. With :class:`PersonaEmbedder` beside the title's own TF-IDF
(in a :class:`~buying_groups.ml.embedders.ConcatEmbedder`) it also reads what the title
model infers from it, function and seniority probabilities, so "Leiterin IT-Sicherheit",
a title no confirmed member had, still looks like the *Security / Director* persona that
the confirmed members of a role share. The role model keeps taking titles; the title model
travels inside it (pickled with the role model), so serving and generation need nothing new.

The feature columns are the title model's classes, which come from its training data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from buying_groups.ml.embedders import TitleEmbedder
from buying_groups.ml.title_classifier import TitleClassifier

__all__ = ["FittedModel", "PersonaEmbedder", "PersonaModelError"]


class PersonaModelError(ValueError):
    """The persona embedder was given no fitted title model."""


class FittedModel:
    """A fitted model held by reference: scikit-learn's ``clone`` keeps it fitted and shared.

    ``clone`` re-creates estimator parameters unfitted and deep-copies anything else; this
    holder is neither an estimator nor copied, so every clone of a :class:`PersonaEmbedder`
    reads the same fitted title model.
    """

    def __init__(self, model: TitleClassifier, description: str = "") -> None:
        self.model = model
        self.description = description

    def __deepcopy__(self, memo: dict[int, Any]) -> FittedModel:
        return self

    def __repr__(self) -> str:
        return f"FittedModel({self.description or type(self.model).__name__})"


class PersonaEmbedder(TitleEmbedder):
    """One block of class probabilities per target of a fitted title model.

    Args:
        title_model: the fitted title model (function, seniority), wrapped in
            :class:`FittedModel`.
        targets: which of its targets to use; ``None`` uses all.
    """

    def __init__(self, title_model: FittedModel | None = None, targets: Any = None) -> None:
        # The title model normalises titles itself.
        super().__init__(normalise=False)
        self.title_model = title_model
        self.targets = targets

    def _fit_texts(self, texts: list[str]) -> None:
        """Check the title model and fix the feature columns (its targets' classes)."""
        if self.title_model is None or not hasattr(self.title_model.model, "heads_"):
            raise PersonaModelError("PersonaEmbedder needs a fitted title model")
        model = self.title_model.model
        self.targets_ = list(self.targets or model.targets_)
        unknown = sorted(set(self.targets_) - set(model.targets_))
        if unknown:
            raise PersonaModelError(f"the title model has no target(s) {', '.join(unknown)}")
        self.feature_names_ = [
            f"{target}={label}" for target in self.targets_ for label in model.classes_[target]
        ]

    def _embed(self, texts: list[str]) -> np.ndarray:
        """The title model's probabilities, target blocks side by side."""
        assert self.title_model is not None  # checked in fit
        probabilities = self.title_model.model.predict_proba(texts)
        return np.hstack(
            [probabilities[target].to_numpy(dtype=np.float32) for target in self.targets_]
        )

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """``target=label`` per column."""
        return np.asarray(self.feature_names_, dtype=object)
