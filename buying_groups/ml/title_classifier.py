"""Multi-target job-title classifier: one embedding, one calibrated linear head per target.

The classifier is label-agnostic: targets are the columns of ``y`` and each target's classes
are whatever labels its rows carry, so the same code predicts function, seniority or a
solution interest's buying-group role. Each target is trained on the rows that carry its
label, which lets one table mix sources that label different things.

Given a 1-D ``y`` (a Series, an array or a list) it is an ordinary single-target
scikit-learn classifier: ``predict`` gives a 1-D array, ``predict_proba`` an
``(n_titles, n_classes)`` array in the order of ``classes_``, and ``score`` the accuracy, so
it works in ``cross_val_score``, ``GridSearchCV`` and ``Pipeline`` with default scoring.
Given a ``DataFrame``, ``predict`` and ``predict_proba`` answer per target and ``score`` is
the mean accuracy over the targets.

``sklearn.utils.estimator_checks.check_estimator`` feeds numeric arrays, which this
estimator does not take (the tags say strings); the tests run it through a pipeline that
writes each numeric row as a text, with the checks that cannot pass listed and explained.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from tqdm.auto import tqdm

from buying_groups.ml.embedders import (
    CharNgramTfidfEmbedder,
    Embeddings,
    TitleEmbedder,
    as_titles,
)
from buying_groups.ml.title_normaliser import normalise_title

__all__ = ["TitleClassifier", "TitleLabelsError"]

_NO_CALIBRATION = ("none", None)
_FAST_PATH_CHECK_ROWS = 512
#: Attributes derived from the fitted ones on first use; dropped on refit and when pickling.
_DERIVED = ("_records", "_transposed")


class TitleLabelsError(ValueError):
    """The labels cannot train a classifier (wrong shape, no labelled rows...)."""


@dataclass(frozen=True)
class _SigmoidHead:
    """Numpy copy of a sigmoid-calibrated logistic regression (no per-call validation).

    scikit-learn validates inputs in every calibrator call, which costs milliseconds per
    single-title request; this evaluates the same formula directly.
    """

    coef: np.ndarray
    intercept: np.ndarray
    a: np.ndarray
    b: np.ndarray

    @classmethod
    def from_model(cls, model: Any) -> _SigmoidHead | None:
        """Extract the parameters; ``None`` if the model is not of the expected shape."""
        try:
            (calibrated,) = model.calibrated_classifiers_
            regression = calibrated.estimator
            calibrators = calibrated.calibrators
            return cls(
                coef=np.asarray(regression.coef_, dtype=np.float32),
                intercept=np.asarray(regression.intercept_, dtype=np.float32),
                a=np.array([c.a_ for c in calibrators], dtype=np.float32),
                b=np.array([c.b_ for c in calibrators], dtype=np.float32),
            )
        except (AttributeError, TypeError, ValueError):
            return None

    def predict_proba(self, embeddings: Embeddings) -> np.ndarray:
        """Sigmoid of the calibrated decision values, normalised one-vs-rest."""
        decision = np.asarray(embeddings @ self.coef.T) + self.intercept
        positive = expit(-(self.a * decision + self.b))
        if positive.shape[1] == 1:
            return np.hstack([1.0 - positive, positive])
        totals = positive.sum(axis=1, keepdims=True)
        uniform = np.full_like(positive, 1.0 / positive.shape[1])
        return np.divide(positive, totals, out=uniform, where=totals > 0)


@dataclass
class _Head:
    """A fitted head for one target: a probabilistic model or a single constant class."""

    classes: np.ndarray
    model: Any | None
    calibration: str
    fast: _SigmoidHead | None = None

    def predict_proba(self, embeddings: Embeddings) -> np.ndarray:
        """Class probabilities in the order of ``classes``."""
        if self.model is None:
            return np.ones((embeddings.shape[0], 1))
        if self.fast is not None:
            return self.fast.predict_proba(embeddings)
        return np.asarray(self.model.predict_proba(embeddings))

    def enable_fast_path(self, sample: Embeddings) -> None:
        """Use the numpy path only if it reproduces scikit-learn on ``sample``.

        The check guards against scikit-learn changing its calibration internals.
        """
        if self.model is None or not isinstance(self.model, CalibratedClassifierCV):
            return
        fast = _SigmoidHead.from_model(self.model)
        expected = self.model.predict_proba(sample)
        if fast is not None and np.allclose(fast.predict_proba(sample), expected, atol=1e-5):
            self.fast = fast


def _label_mask(column: pd.Series) -> np.ndarray:
    """Rows that carry a label: not missing and not blank."""
    text = column.astype("string").str.strip()
    return np.asarray(text.notna() & (text != ""), dtype=bool)


class TitleClassifier(ClassifierMixin, BaseEstimator):
    """Predict several label columns (e.g. function, seniority) from job titles.

    Args:
        embedder: a title embedder; ``None`` uses :class:`CharNgramTfidfEmbedder`.
        abstain_threshold: predictions with a lower top probability become ``None``.
        n_neighbours: default number of nearest training titles given as evidence.
        C: inverse L2 regularisation of the logistic-regression heads.
        C_per_target: target -> C for heads that need another regularisation than ``C``
            (targets not named use ``C``); e.g. a noisy, ordinal target such as seniority
            generalises better with a stronger penalty than a topical one.
        class_weight: the heads' ``class_weight`` ("balanced" or ``None``); "balanced"
            stops the curated lists' large classes (Marketing, Senior) from crowding out the
            rarer ones.
        calibration: ``CalibratedClassifierCV`` method ("sigmoid", "isotonic"...), or
            "none" for the logistic regression's own probabilities.
        calibration_folds: at most this many cross-validation folds fit the calibration
            (fewer when the smallest class has fewer distinct titles). Each fold refits the
            regression on part of the rows; see the README for what 2 instead of 5 costs.
        random_state: seed for the calibration folds and the solver.
        progress: show a progress bar of the fit (embedding, then each target's folds).
    """

    #: Models pickled before these parameters (or attributes) existed load without them.
    C_per_target: dict[str, float] | None = None
    calibration_folds: int = 5
    progress: bool = False
    single_target_: bool = False

    def __init__(
        self,
        embedder: TitleEmbedder | None = None,
        abstain_threshold: float = 0.0,
        n_neighbours: int = 3,
        C: float = 4.0,
        C_per_target: dict[str, float] | None = None,
        class_weight: str | None = None,
        calibration: str | None = "sigmoid",
        calibration_folds: int = 3,
        random_state: int | None = 0,
        progress: bool = False,
    ) -> None:
        self.embedder = embedder
        self.abstain_threshold = abstain_threshold
        self.n_neighbours = n_neighbours
        self.C = C
        self.C_per_target = C_per_target
        self.class_weight = class_weight
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.random_state = random_state
        self.progress = progress

    def __sklearn_tags__(self) -> Any:
        """Declare string input and multi-output targets."""
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        return tags

    # ----------------------------------------------------------------------------- fitting

    def fit(
        self,
        X: Sequence[str],
        y: pd.DataFrame | pd.Series | Sequence[Any] | np.ndarray,
        sample_weight: Sequence[float] | None = None,
    ) -> Self:
        """Fit the embedder and one calibrated head per target column.

        Args:
            X: job titles.
            y: one column per target (a ``DataFrame``), or the labels of one target (a
                Series, array or list); NaN or "" means "no label for this target".
            sample_weight: optional weight per row (e.g. weak labels count less than
                confirmed ones); used by the regressions and their calibration.

        Returns:
            self.

        Raises:
            TitleLabelsError: when ``y`` does not match ``X`` or a target has no labels.
        """
        titles = as_titles(X)
        labels = self._validate_labels(y, len(titles))
        weights = self._validate_weights(sample_weight, len(titles))
        self.single_target_ = _is_one_target(y)
        self.targets_ = [str(target) for target in labels.columns]
        steps = 1 + len(self.targets_)
        with tqdm(
            total=steps, desc="fit", unit="step", leave=False, disable=not self.progress
        ) as bar:
            bar.set_postfix_str(f"embed {len(titles)} titles")
            self.embedder_ = clone(self.embedder) if self.embedder is not None else self._default()
            embeddings = self.embedder_.fit_transform(titles)
            bar.update(1)
            # Calibration folds group equivalent titles ("Sr. Manager", "Senior Manager").
            groups = np.asarray([normalise_title(title) for title in titles], dtype=object)
            self.heads_ = {}
            for target, column in zip(self.targets_, labels.columns, strict=True):
                bar.set_postfix_str(f"{target}: regression and calibration")
                self.heads_[target] = self._fit_head(embeddings, labels[column], groups, weights)
                bar.update(1)
        self.calibration_ = {target: head.calibration for target, head in self.heads_.items()}
        self._remember_neighbours(titles, embeddings, labels.set_axis(self.targets_, axis=1))
        for derived in _DERIVED:
            self.__dict__.pop(derived, None)
        return self

    @property
    def classes_(self) -> Any:
        """The classes of each target (target -> array); one array for a 1-D ``y``."""
        self._check_fitted()
        classes = {target: head.classes for target, head in self.heads_.items()}
        return classes[self.targets_[0]] if self.single_target_ else classes

    def score(
        self,
        X: Sequence[str],
        y: pd.DataFrame | pd.Series | Sequence[Any] | np.ndarray,
        sample_weight: Sequence[float] | None = None,
    ) -> float:
        """Accuracy on the rows that carry a label, averaged over the targets of ``y``.

        An abstention (``None``) counts as wrong. This is what ``cross_val_score`` and
        ``GridSearchCV`` use without a ``scoring``.

        Args:
            X: job titles.
            y: true labels, shaped as for :meth:`fit`; a ``DataFrame``'s columns must be
                targets of the model.
            sample_weight: optional weight per row.

        Returns:
            The mean accuracy, between 0 and 1.
        """
        titles = as_titles(X)
        truth = self._validate_labels(y, len(titles))
        weights = self._validate_weights(sample_weight, len(titles))
        if self.single_target_ or _is_one_target(y):
            truth.columns = self.targets_[:1]
        unknown = [str(c) for c in truth.columns if str(c) not in self.targets_]
        if unknown:
            raise TitleLabelsError(f"y has columns the model does not predict: {unknown}")
        predicted = self.predict_with_confidence(titles)
        accuracies = [
            _accuracy(truth[column], predicted[str(column)], weights) for column in truth.columns
        ]
        return float(np.nanmean(accuracies))

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without what predictions derive and cache (rebuilt on first use)."""
        state: dict[str, Any] = super().__getstate__()
        for derived in _DERIVED:
            state.pop(derived, None)
        return state

    @staticmethod
    def _default() -> TitleEmbedder:
        """The default embedder: fast, no model files, multilingual by construction."""
        return CharNgramTfidfEmbedder()

    @staticmethod
    def _validate_labels(y: Any, n_titles: int) -> pd.DataFrame:
        """Check ``y`` is a table of labels aligned with the titles (1-D ``y``: one column)."""
        if isinstance(y, pd.Series):
            y = y.to_frame(name=y.name if y.name is not None else "label")
        elif not isinstance(y, pd.DataFrame):
            y = _array_labels(y)
        if len(y) != n_titles:
            raise TitleLabelsError(f"X has {n_titles} titles but y has {len(y)} rows")
        if y.shape[1] == 0:
            raise TitleLabelsError("y has no target columns")
        return y.reset_index(drop=True)

    @staticmethod
    def _validate_weights(
        sample_weight: Sequence[float] | None, n_titles: int
    ) -> np.ndarray | None:
        """Check the weights are one finite, non-negative number per title."""
        if sample_weight is None:
            return None
        weights = np.asarray(sample_weight, dtype=float)
        if weights.shape != (n_titles,):
            raise TitleLabelsError(f"X has {n_titles} titles but {weights.shape} weights")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise TitleLabelsError("sample weights must be finite and non-negative")
        return weights

    def _fit_head(
        self,
        embeddings: Embeddings,
        column: pd.Series,
        groups: np.ndarray,
        weights: np.ndarray | None = None,
    ) -> _Head:
        """Fit one target on the rows that carry its label."""
        mask = _label_mask(column)
        if not mask.any():
            raise TitleLabelsError(f"target {column.name!r} has no labelled rows")
        labels = _label_values(column[mask])
        classes = np.unique(labels)
        if len(classes) == 1:
            return _Head(classes=classes, model=None, calibration="constant")
        # A title repeated across folds would make calibration overconfident: count and fold
        # distinct titles, not rows.
        distinct = pd.DataFrame({"label": labels, "title": groups[mask]}).drop_duplicates()
        folds = min(self.calibration_folds, int(distinct["label"].value_counts().min()))
        model, calibration = self._model(folds, self._regularisation(str(column.name)))
        if isinstance(model, CalibratedClassifierCV):
            splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=self.random_state)
            model.set_params(cv=list(splitter.split(embeddings[mask], labels, groups[mask])))
        if weights is None:
            model.fit(embeddings[mask], labels)
        else:
            model.fit(embeddings[mask], labels, sample_weight=weights[mask])
        head = _Head(classes=np.asarray(model.classes_), model=model, calibration=calibration)
        if self.calibration == "sigmoid":
            head.enable_fast_path(embeddings[mask][:_FAST_PATH_CHECK_ROWS])
        return head

    def _regularisation(self, target: str) -> float:
        """The regularisation of ``target``'s head."""
        return float((self.C_per_target or {}).get(target, self.C))

    def _model(self, folds: int, C: float) -> tuple[Any, str]:
        """A logistic regression, calibrated by cross-validation when every class allows it.

        Stratified folds need each class in every fold; with a class of one title there is
        nothing to hold out, so the head falls back to the regression's own softmax, which
        is usually fairly calibrated already.

        Args:
            folds: calibration folds the smallest class allows (capped at
                ``calibration_folds``).
            C: the head's inverse L2 regularisation.

        Returns:
            The unfitted model (``cv`` still to be set) and a description of its calibration.
        """
        regression = LogisticRegression(
            C=C,
            class_weight=self.class_weight,
            max_iter=2000,
            random_state=self.random_state,
        )
        if self.calibration in _NO_CALIBRATION:
            return regression, "none"
        if folds < 2:
            return regression, "none (a class has a single title)"
        # ensemble=False: one final regression refitted on all rows keeps predict cheap.
        calibrated = CalibratedClassifierCV(regression, method=self.calibration, ensemble=False)
        return calibrated, f"{self.calibration} ({folds} folds)"

    def _remember_neighbours(
        self, titles: list[str], embeddings: Embeddings, labels: pd.DataFrame
    ) -> None:
        """Keep one row per distinct labelled title, with its most common label per target."""
        frame = labels.astype("string").apply(lambda col: col.str.strip().replace("", pd.NA))
        frame.insert(0, "title", titles)
        frame = frame[frame[self.targets_].notna().any(axis=1)]
        grouped = frame.groupby("title", sort=False)[self.targets_]
        self.neighbour_labels_ = grouped.agg(_most_common).reset_index()
        first_rows = frame.reset_index().groupby("title", sort=False)["index"].first()
        self.neighbour_embeddings_ = embeddings[first_rows.loc[self.neighbour_labels_["title"]]]

    # -------------------------------------------------------------------------- predicting

    def _check_fitted(self) -> None:
        """Raise ``NotFittedError`` before ``fit``."""
        if not hasattr(self, "heads_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call 'fit' first."
            )

    def _embed(self, X: Sequence[str]) -> Embeddings:
        """Embed titles with the fitted embedder."""
        self._check_fitted()
        return self.embedder_.transform(as_titles(X))

    def predict_proba(self, X: Sequence[str]) -> dict[str, pd.DataFrame] | np.ndarray:
        """Calibrated class probabilities per target.

        Args:
            X: job titles.

        Returns:
            target -> DataFrame with one row per title and columns ``classes_[target]``;
            for a model fitted on a 1-D ``y``, one array with a column per ``classes_``.
        """
        frames = self.proba_frames(X)
        return frames[self.targets_[0]].to_numpy() if self.single_target_ else frames

    def proba_frames(self, X: Sequence[str]) -> dict[str, pd.DataFrame]:
        """Class probabilities as target -> DataFrame whatever ``y`` the model was fitted on."""
        embeddings = self._embed(X)
        return {
            target: pd.DataFrame(head.predict_proba(embeddings), columns=list(head.classes))
            for target, head in self.heads_.items()
        }

    def predict_with_confidence(self, X: Sequence[str]) -> pd.DataFrame:
        """Most probable class and its probability per target; ``None`` when abstaining.

        Args:
            X: job titles.

        Returns:
            Columns "<target>" and "<target>_confidence" for every target.
        """
        columns: dict[str, Any] = {}
        for target, proba in self.proba_frames(X).items():
            values = proba.to_numpy()
            best = values.argmax(axis=1) if len(values) else np.zeros(0, dtype=int)
            confidence = values[np.arange(len(values)), best]
            labels = np.asarray(proba.columns, dtype=object)[best]
            columns[target] = np.where(confidence >= self.abstain_threshold, labels, None)
            columns[f"{target}_confidence"] = confidence.astype(float)
        return pd.DataFrame(columns)

    def predict(self, X: Sequence[str]) -> pd.DataFrame | np.ndarray:
        """Most probable class per target, ``None`` below ``abstain_threshold``.

        Args:
            X: job titles.

        Returns:
            One column per target; for a model fitted on a 1-D ``y``, a 1-D array.
        """
        predicted = self.predict_with_confidence(X)[self.targets_]
        if not self.single_target_:
            return predicted
        labels = predicted[self.targets_[0]].to_numpy()
        classes = self.heads_[self.targets_[0]].classes
        # Keep the classes' dtype (integer labels stay integers) unless the model abstains.
        return labels if any(label is None for label in labels) else labels.astype(classes.dtype)

    def predict_explained(
        self, X: Sequence[str], k: int | None = None
    ) -> tuple[list[dict[str, tuple[Any, float]]], list[list[dict[str, Any]]]]:
        """Predictions and their nearest-titles evidence from one embedding pass.

        Serving answers single titles; embedding each twice (once to predict, once for the
        evidence) was most of its latency.

        Returns:
            Per title, target -> (label or None when abstaining, probability); and per
            title, the nearest labelled titles as :meth:`nearest_titles` gives them.
        """
        embeddings = self._embed(X)
        predictions: list[dict[str, tuple[Any, float]]] = [{} for _ in range(embeddings.shape[0])]
        for target, head in self.heads_.items():
            values = head.predict_proba(embeddings)
            best = values.argmax(axis=1)
            for row, (index, probabilities) in enumerate(zip(best, values, strict=True)):
                confidence = float(probabilities[index])
                label = head.classes[index] if confidence >= self.abstain_threshold else None
                predictions[row][target] = (label, confidence)
        return predictions, self._neighbours(embeddings, k)

    def nearest_titles(self, X: Sequence[str], k: int | None = None) -> list[list[dict[str, Any]]]:
        """Nearest labelled training titles, as evidence for a prediction.

        Args:
            X: job titles.
            k: how many neighbours; defaults to ``n_neighbours``.

        Returns:
            Per title, up to ``k`` dicts with "title", "similarity" (cosine) and the
            neighbour's label for each target (``None`` where it has none), most similar first.
        """
        return self._neighbours(self._embed(X), k)

    def _neighbours(self, embeddings: Embeddings, k: int | None) -> list[list[dict[str, Any]]]:
        k = min(self.n_neighbours if k is None else k, len(self.neighbour_labels_))
        if k <= 0:
            return [[] for _ in range(embeddings.shape[0])]
        similarities = _dense(embeddings @ self._neighbours_transposed())
        top = np.argpartition(-similarities, k - 1, axis=1)[:, :k]
        return [
            self._evidence(row_sims, row_top)
            for row_sims, row_top in zip(similarities, top, strict=True)
        ]

    def _neighbours_transposed(self) -> Embeddings:
        """The neighbours' embeddings transposed, built once: converting the transpose of a
        sparse matrix on every call cost most of a single-title request's evidence."""
        if not sparse.issparse(self.neighbour_embeddings_):
            return self.neighbour_embeddings_.T  # BLAS reads a transposed view as it is
        cached: Embeddings | None = self.__dict__.get("_transposed")
        if cached is None:
            cached = self.neighbour_embeddings_.T.tocsr()
            self.__dict__["_transposed"] = cached
        return cached

    def _evidence(self, similarities: np.ndarray, candidates: np.ndarray) -> list[dict[str, Any]]:
        """Sort one title's candidate neighbours and describe them."""
        ordered = candidates[np.argsort(-similarities[candidates], kind="stable")]
        records = self._neighbour_records()
        return [{**records[i], "similarity": float(similarities[i])} for i in ordered]

    def _neighbour_records(self) -> list[dict[str, Any]]:
        """The neighbours as plain dicts, built once: pandas per request cost milliseconds."""
        cached: list[dict[str, Any]] | None = self.__dict__.get("_records")
        if cached is None:
            labels = self.neighbour_labels_
            cached = [
                {
                    "title": row["title"],
                    **{t: None if pd.isna(row[t]) else str(row[t]) for t in self.targets_},
                }
                for row in labels.to_dict("records")
            ]
            self.__dict__["_records"] = cached
        return cached


def _is_one_target(y: Any) -> bool:
    """True for the labels of one target (a Series or 1-D sequence), not a table."""
    return isinstance(y, pd.Series) or (
        not isinstance(y, pd.DataFrame) and np.asarray(y, dtype=object).ndim == 1
    )


def _array_labels(y: Any) -> pd.DataFrame:
    """A list or array ``y`` as a table: 1-D is the column "label", 2-D one column each."""
    if isinstance(y, str | bytes) or y is None:
        raise TitleLabelsError(f"y must be labels per title, got {type(y).__name__}")
    values = np.asarray(y, dtype=object) if not isinstance(y, np.ndarray) else y
    if values.ndim == 1:
        return pd.DataFrame({"label": values})
    if values.ndim == 2:
        return pd.DataFrame(values, columns=[str(i) for i in range(values.shape[1])])
    raise TitleLabelsError(f"y must be 1-D or 2-D, got shape {values.shape}")


def _label_values(column: pd.Series) -> np.ndarray:
    """A target's labelled values: text stripped of spaces, numbers and booleans as they are."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return column.to_numpy()
    return column.astype(str).str.strip().to_numpy()


def _accuracy(truth: pd.Series, predicted: pd.Series, weights: np.ndarray | None) -> float:
    """Share of ``truth``'s labelled rows predicted exactly (labels compared as in fit)."""
    mask = _label_mask(truth)
    if not mask.any():
        return float("nan")
    expected = _label_values(truth.reset_index(drop=True)[mask])
    got = predicted.to_numpy()[mask]
    correct = np.array([e == g for e, g in zip(expected, got, strict=True)], dtype=float)
    return float(np.average(correct, weights=None if weights is None else weights[mask]))


def _dense(matrix: Any) -> np.ndarray:
    """A dense array from a dense or sparse product (sparse embeddings give sparse ones)."""
    return np.asarray(matrix.toarray() if sparse.issparse(matrix) else matrix)


def _most_common(column: pd.Series) -> Any:
    """Most frequent non-missing label (first seen wins ties); NA when there is none."""
    counts = column.dropna().value_counts(sort=True)
    return counts.index[0] if len(counts) else pd.NA
