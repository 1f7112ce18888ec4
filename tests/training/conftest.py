"""Fixtures for the training tests: small labelled titles, a temporary MLflow store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from buying_groups.ml.embedders import HashingEmbedder
from training.default_title_data import expand_seed_titles
from training.title_pipeline import TrainResult, train_titles

TARGETS = ["function", "seniority"]


@dataclass(frozen=True)
class Store:
    """A throw-away MLflow tracking/registry store and artifact folder."""

    tracking_uri: str
    artifact_root: str


def small_titles(per_function: int = 14) -> pd.DataFrame:
    """A few seed titles of every function, in four languages (deterministic)."""
    seeds = expand_seed_titles()
    return seeds.groupby("function", sort=True).head(per_function).reset_index(drop=True)


def fast_embedder(n_features: int = 256) -> HashingEmbedder:
    """The deterministic hashing embedder, small enough to fit in a second."""
    return HashingEmbedder(n_features=n_features)


@pytest.fixture(scope="session")
def embedder_of_size():
    """Factory of hashing embedders with a given number of features."""
    return fast_embedder


@pytest.fixture(scope="session")
def train_in_store(store):
    """Train into the session's store without a progress bar."""

    def train(titles: pd.DataFrame, name: str, **kwargs: object) -> TrainResult:
        return train_titles(
            titles,
            TARGETS,
            name,
            tracking_uri=store.tracking_uri,
            artifact_root=store.artifact_root,
            progress=False,
            **kwargs,  # type: ignore[arg-type]
        )

    return train


@pytest.fixture(scope="session")
def titles() -> pd.DataFrame:
    return small_titles()


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root: Path = tmp_path_factory.mktemp("mlflow")
    return Store(f"sqlite:///{root / 'mlflow.db'}", str(root / "artifacts"))


@pytest.fixture(scope="session")
def trained(titles: pd.DataFrame, store: Store) -> TrainResult:
    """Version 1 of "persona-test", trained once for the tests that only read it."""
    return train_titles(
        titles,
        TARGETS,
        "persona-test",
        embedder=fast_embedder(),
        tracking_uri=store.tracking_uri,
        artifact_root=store.artifact_root,
        progress=False,
    )
