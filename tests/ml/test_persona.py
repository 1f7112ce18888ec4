"""Persona features: a fitted title model's probabilities as an embedder for role models."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from buying_groups.ml.embedders import ConcatEmbedder, HashingEmbedder
from buying_groups.ml.persona import FittedModel, PersonaEmbedder, PersonaModelError
from buying_groups.ml.title_classifier import TitleClassifier

from .conftest import TITLES

Data = tuple[list[str], pd.DataFrame]


@pytest.fixture(scope="module")
def title_model(labelled_titles: Data) -> TitleClassifier:
    titles, labels = labelled_titles
    return TitleClassifier(embedder=HashingEmbedder(n_features=512)).fit(titles, labels)


def test_columns_are_the_title_models_classes(title_model: TitleClassifier) -> None:
    embedder = PersonaEmbedder(FittedModel(title_model)).fit(TITLES)
    expected = [f"{t}={c}" for t in title_model.targets_ for c in title_model.classes_[t]]
    assert list(embedder.get_feature_names_out()) == expected
    rows = embedder.transform(["Vertriebsleiter", "CFO"])
    assert rows.shape == (2, len(expected))
    # Each block is the title model's probabilities (rows are then L2-normalised).
    probabilities = title_model.predict_proba(["Vertriebsleiter"])
    raw = np.hstack([probabilities[t].to_numpy() for t in title_model.targets_])[0]
    np.testing.assert_allclose(rows[0], raw / np.linalg.norm(raw), rtol=1e-5)


def test_a_chosen_target_only(title_model: TitleClassifier) -> None:
    embedder = PersonaEmbedder(FittedModel(title_model), targets=["seniority"]).fit(TITLES)
    assert all(n.startswith("seniority=") for n in embedder.get_feature_names_out())
    with pytest.raises(PersonaModelError, match="colour"):
        PersonaEmbedder(FittedModel(title_model), targets=["colour"]).fit(TITLES)


def test_clones_share_the_fitted_title_model(title_model: TitleClassifier) -> None:
    held = FittedModel(title_model, "v1")
    cloned = clone(ConcatEmbedder([("t", HashingEmbedder()), ("p", PersonaEmbedder(held))]))
    cloned.fit(TITLES)
    assert cloned.embedders_[1][1].title_model.model is title_model
    assert repr(held) == "FittedModel(v1)"


def test_without_a_fitted_title_model_fit_says_so() -> None:
    with pytest.raises(PersonaModelError, match="fitted title model"):
        PersonaEmbedder().fit(TITLES)
    with pytest.raises(PersonaModelError, match="fitted title model"):
        PersonaEmbedder(FittedModel(TitleClassifier())).fit(TITLES)


def test_a_role_model_with_persona_features_pickles_and_reads_titles_only(
    title_model: TitleClassifier,
) -> None:
    titles = ["Head of Sales", "Sales Director", "Software Engineer", "Backend Developer"] * 3
    roles = pd.DataFrame({"role": (["Decision Maker"] * 2 + ["Practitioner"] * 2) * 3})
    embedder = ConcatEmbedder(
        [("title", HashingEmbedder()), ("persona", PersonaEmbedder(FittedModel(title_model)))]
    )
    model = TitleClassifier(embedder=embedder, calibration=None).fit(titles, roles)
    restored = pickle.loads(pickle.dumps(model))
    probe = ["Vertriebsleiter", "Data Engineer"]
    pd.testing.assert_frame_equal(
        restored.predict_proba(probe)["role"], model.predict_proba(probe)["role"]
    )
