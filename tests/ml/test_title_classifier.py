"""Behaviour of the multi-target title classifier."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from buying_groups.ml.embedders import (
    HashingEmbedder,
    SentenceTransformerEmbedder,
    SparseTfidfEmbedder,
)
from buying_groups.ml.title_classifier import TitleClassifier, TitleLabelsError

Data = tuple[list[str], pd.DataFrame]


@pytest.fixture(scope="module")
def fitted(labelled_titles: Data) -> TitleClassifier:
    titles, labels = labelled_titles
    return TitleClassifier(embedder=HashingEmbedder()).fit(titles, labels)


def test_label_sets_come_only_from_the_data() -> None:
    titles = ["Zoo Keeper", "Head Zoo Keeper", "Penguin Feeder", "Chief Penguin Feeder"]
    labels = pd.DataFrame({"animal": ["Zebra", "Zebra", "Quokka", "Quokka"]})
    model = TitleClassifier(embedder=HashingEmbedder()).fit(titles, labels)
    assert model.targets_ == ["animal"]
    assert list(model.classes_["animal"]) == ["Quokka", "Zebra"]
    assert set(model.predict(["Zoo Keeper"])["animal"]) <= {"Quokka", "Zebra"}


def test_each_target_trains_on_the_rows_carrying_its_label(labelled_titles: Data) -> None:
    titles, labels = labelled_titles
    labels = labels.copy()
    labels.loc[::2, "seniority"] = np.nan
    labels.loc[1::4, "seniority"] = ""
    model = TitleClassifier(embedder=HashingEmbedder()).fit(titles, labels)
    kept = labels["seniority"].replace("", np.nan).dropna()
    assert set(model.classes_["seniority"]) == set(kept)
    assert set(model.classes_["function"]) == set(labels["function"])


def test_probabilities_sum_to_one_with_classes_as_columns(fitted: TitleClassifier) -> None:
    probabilities = fitted.predict_proba(["Vertriebsleiterin", "Head of IT", "Praktikantin"])
    assert set(probabilities) == {"function", "seniority"}
    for target, frame in probabilities.items():
        assert list(frame.columns) == list(fitted.classes_[target])
        np.testing.assert_allclose(frame.sum(axis=1), 1.0, rtol=1e-6)


def test_predicts_unseen_variants_of_training_titles(fitted: TitleClassifier) -> None:
    predicted = fitted.predict(["Sales Manager DACH", "Head of IT Infrastructure", "CEO & Founder"])
    assert list(predicted["function"]) == ["Sales", "IT", "Executive"]


def test_abstains_below_the_threshold(labelled_titles: Data) -> None:
    titles, labels = labelled_titles
    unsure = TitleClassifier(embedder=HashingEmbedder(), abstain_threshold=1.01)
    predicted = unsure.fit(titles, labels).predict(["Sales Manager"])
    assert predicted.isna().all().all()
    confident = TitleClassifier(embedder=HashingEmbedder(), abstain_threshold=0.0)
    assert confident.fit(titles, labels).predict(["Sales Manager"]).notna().all().all()


def test_confidence_columns_follow_each_target(fitted: TitleClassifier) -> None:
    result = fitted.predict_with_confidence(["Marketing Manager"])
    assert list(result.columns) == [
        "function",
        "function_confidence",
        "seniority",
        "seniority_confidence",
    ]
    top = fitted.predict_proba(["Marketing Manager"])["function"].max(axis=1).iloc[0]
    assert result["function_confidence"].iloc[0] == pytest.approx(top)


def test_nearest_titles_are_evidence_with_labels(fitted: TitleClassifier) -> None:
    [evidence] = fitted.nearest_titles(["Vertriebsleiter"], k=2)
    assert len(evidence) == 2
    assert evidence[0]["title"] == "Vertriebsleiter"
    assert evidence[0]["similarity"] == pytest.approx(1.0, abs=1e-5)
    assert evidence[0]["function"] == "Sales"
    assert evidence[0]["similarity"] >= evidence[1]["similarity"]
    assert len(fitted.nearest_titles(["CEO"])[0]) == fitted.n_neighbours


def test_sparse_embeddings_train_predict_and_give_evidence(labelled_titles: Data) -> None:
    titles, labels = labelled_titles
    model = TitleClassifier(embedder=SparseTfidfEmbedder(), class_weight="balanced")
    model.fit(titles, labels)
    assert all(head.fast is not None for head in model.heads_.values())
    predicted = model.predict(["Sales Manager DACH", "Head of IT Infrastructure", "CEO & Founder"])
    assert list(predicted["function"]) == ["Sales", "IT", "Executive"]
    [evidence] = model.nearest_titles(["Vertriebsleiter"], k=2)
    assert evidence[0]["title"] == "Vertriebsleiter"
    assert evidence[0]["similarity"] == pytest.approx(1.0, abs=1e-5)
    assert model.nearest_titles([]) == []
    restored = pickle.loads(pickle.dumps(model))
    pd.testing.assert_frame_equal(restored.predict(titles), model.predict(titles))


def test_balanced_class_weight_favours_a_rare_class() -> None:
    titles = [f"Sales Rep {i}" for i in range(30)] + ["Sales Director", "Sales Director EMEA"]
    labels = pd.DataFrame({"seniority": ["Professional"] * 30 + ["Director"] * 2})
    probe = ["Sales Director Nordics"]
    plain = TitleClassifier(embedder=HashingEmbedder(), calibration="none").fit(titles, labels)
    balanced = TitleClassifier(
        embedder=HashingEmbedder(), calibration="none", class_weight="balanced"
    ).fit(titles, labels)
    director_plain = plain.predict_proba(probe)["seniority"]["Director"].iloc[0]
    director_balanced = balanced.predict_proba(probe)["seniority"]["Director"].iloc[0]
    assert director_balanced > director_plain


def test_per_target_regularisation_changes_only_that_target(labelled_titles: Data) -> None:
    titles, labels = labelled_titles
    params = {"embedder": HashingEmbedder(), "calibration": "none"}
    shared = TitleClassifier(**params).fit(titles, labels)
    stronger = TitleClassifier(**params, C_per_target={"seniority": 0.01}).fit(titles, labels)
    probe = ["Vertriebsleiterin", "Head of IT", "Praktikantin"]
    before, after = shared.predict_proba(probe), stronger.predict_proba(probe)
    pd.testing.assert_frame_equal(before["function"], after["function"])
    # A strong penalty flattens the seniority probabilities towards the class shares.
    assert after["seniority"].max(axis=1).mean() < before["seniority"].max(axis=1).mean()


def test_nearest_titles_never_ask_for_more_than_exists() -> None:
    model = TitleClassifier(embedder=HashingEmbedder()).fit(
        ["CEO", "CTO"], pd.DataFrame({"f": ["Executive", "IT"]})
    )
    assert len(model.nearest_titles(["CFO"], k=10)[0]) == 2


def test_a_class_with_one_title_falls_back_to_uncalibrated(labelled_titles: Data) -> None:
    titles, labels = labelled_titles
    titles = [*titles, "Chief Happiness Officer"]
    labels = pd.concat([labels, pd.DataFrame({"function": ["Culture"], "seniority": [None]})])
    model = TitleClassifier(embedder=HashingEmbedder()).fit(titles, labels)
    assert model.calibration_["function"].startswith("none")
    assert model.calibration_["seniority"].startswith("sigmoid")
    assert "Culture" in model.classes_["function"]


def test_a_target_with_one_class_predicts_it_with_certainty() -> None:
    model = TitleClassifier(embedder=HashingEmbedder()).fit(
        ["CEO", "CTO", "CFO"], pd.DataFrame({"tier": ["Top", "Top", "Top"]})
    )
    result = model.predict_with_confidence(["Intern"])
    assert result["tier"].iloc[0] == "Top"
    assert result["tier_confidence"].iloc[0] == 1.0


def test_pickling_round_trip_keeps_predictions(fitted: TitleClassifier) -> None:
    titles = ["Leiterin Vertrieb", "Responsable Marketing", "Directeur Informatique"]
    restored = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(
        restored.predict_with_confidence(titles), fitted.predict_with_confidence(titles)
    )


def test_predict_before_fit_raises_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        TitleClassifier().predict(["CEO"])


def test_misaligned_labels_are_rejected() -> None:
    with pytest.raises(TitleLabelsError, match="rows"):
        TitleClassifier(embedder=HashingEmbedder()).fit(["CEO"], pd.DataFrame({"f": ["a", "b"]}))


def test_a_target_without_labels_is_rejected() -> None:
    labels = pd.DataFrame({"f": ["a", "b"], "empty": [None, ""]})
    with pytest.raises(TitleLabelsError, match="empty"):
        TitleClassifier(embedder=HashingEmbedder()).fit(["CEO", "CTO"], labels)


def test_sample_weights_decide_between_conflicting_labels() -> None:
    # The same titles labelled both ways: the heavier rows win.
    titles = ["IT Manager", "IT Lead", "Head of IT", "IT Director"] * 2
    labels = pd.DataFrame({"role": ["Influencer"] * 4 + ["Decision Maker"] * 4})
    weights = [1.0] * 4 + [0.1] * 4
    model = TitleClassifier(embedder=HashingEmbedder(), calibration="none")
    predicted = model.fit(titles, labels, sample_weight=weights).predict(titles[:4])
    assert set(predicted["role"]) == {"Influencer"}
    with pytest.raises(TitleLabelsError):
        model.fit(titles, labels, sample_weight=[1.0, -1.0] * 4)


def test_scikit_learn_parameter_conventions() -> None:
    # check_estimator itself feeds numeric arrays and 1-D targets; these checks don't fit.
    model = TitleClassifier(embedder=HashingEmbedder())
    check_no_attributes_set_in_init("TitleClassifier", model)
    check_parameters_default_constructible("TitleClassifier", TitleClassifier())
    check_get_params_invariance("TitleClassifier", model)
    check_set_params("TitleClassifier", model)


def test_fit_does_not_change_the_given_embedder(labelled_titles: Data) -> None:
    titles, labels = labelled_titles
    embedder = HashingEmbedder()
    model = TitleClassifier(embedder=embedder).fit(titles, labels)
    assert model.embedder is embedder
    assert not hasattr(embedder, "n_features_out_")


@pytest.mark.slow
def test_minilm_classifier_generalises_to_paraphrases(
    labelled_titles: Data, minilm_embedder: SentenceTransformerEmbedder
) -> None:
    titles, labels = labelled_titles
    model = TitleClassifier(embedder=minilm_embedder).fit(titles, labels)
    predicted = model.predict(["VP of Sales", "Chief Technology Officer", "Social Media Marketer"])
    assert list(predicted["function"]) == ["Sales", "IT", "Marketing"]


@pytest.mark.parametrize("n_classes", [2, 4])
def test_fast_probabilities_match_scikit_learn(labelled_titles: Data, n_classes: int) -> None:
    titles, labels = labelled_titles
    keep = labels["function"].isin(sorted(set(labels["function"]))[:n_classes]).to_numpy()
    chosen = [title for title, kept in zip(titles, keep, strict=True) if kept]
    model = TitleClassifier(embedder=HashingEmbedder()).fit(chosen, labels[keep][["function"]])
    head = model.heads_["function"]
    assert head.fast is not None
    embeddings = model.embedder_.transform(["Leiterin Vertrieb", "CTO", "Brand Lead"])
    np.testing.assert_allclose(
        head.fast.predict_proba(embeddings), head.model.predict_proba(embeddings), atol=1e-5
    )


def test_derived_evidence_caches_are_not_pickled_and_follow_a_refit() -> None:
    titles = ["Head of Sales", "Sales Manager", "CFO", "Finance Director"]
    model = TitleClassifier(embedder=SparseTfidfEmbedder(), calibration=None)
    model.fit(titles, pd.DataFrame({"function": ["Sales", "Sales", "Finance", "Finance"]}))
    [first] = model.nearest_titles(["Sales Director"], k=1)
    assert first[0]["function"] == "Sales"
    state = pickle.loads(pickle.dumps(model)).__dict__
    assert "_transposed" not in state and "_records" not in state
    model.fit(["Data Engineer", "Data Scientist"], pd.DataFrame({"function": ["Data", "Data"]}))
    [again] = model.nearest_titles(["Data Engineer"], k=1)
    assert again[0] == {
        "title": "Data Engineer",
        "function": "Data",
        "similarity": again[0]["similarity"],
    }
    assert again[0]["similarity"] == pytest.approx(1.0, abs=1e-5)


def test_a_model_pickled_before_per_target_c_existed_still_works(fitted: TitleClassifier) -> None:
    old = pickle.loads(pickle.dumps(fitted))
    del old.__dict__["C_per_target"]  # as models pickled before the parameter load
    restored = pickle.loads(pickle.dumps(old))
    assert restored.get_params()["C_per_target"] is None
    assert "TitleClassifier" in repr(restored)
    assert clone(restored).C_per_target is None
    probe = ["Vertriebsleiter", "CFO"]
    pd.testing.assert_frame_equal(restored.predict(probe), fitted.predict(probe))
