"""The title classifier in scikit-learn's model selection: one target, score, checks, progress."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import check_estimator

from buying_groups.ml import TitleClassifier
from buying_groups.ml.embedders import HashingEmbedder, SparseTfidfEmbedder

Data = tuple[list[str], pd.DataFrame]

#: Checks that fail through the numeric-rows-as-text adapter, and why.
EXPECTED_FAILED_CHECKS = {
    "check_estimators_overwrite_params": "Pipeline fits its steps in place (any Pipeline)",
    "check_dont_overwrite_parameters": "Pipeline fits its steps in place (any Pipeline)",
    "check_n_features_in_after_fitting": "titles have no number of features to check",
    "check_estimators_empty_data_messages": "the text vectoriser names an empty vocabulary",
    "check_estimators_nan_inf": "the adapter writes NaN and inf as tokens; titles have neither",
    "check_estimator_sparse_tag": "titles are never sparse matrices",
    "check_estimator_sparse_array": "titles are never sparse arrays",
    "check_estimator_sparse_matrix": "titles are never sparse matrices",
    "check_classifier_data_not_an_array": "the adapter needs numbers, the check passes text",
    "check_classifier_multioutput": "several targets come as a DataFrame and predict one",
    "check_supervised_y_2d": "a 2-D y is several targets: predict answers a DataFrame",
    "check_classifiers_train": "rounded numbers as tokens do not reach the 83 % it asks on "
    "blobs (0.63)",
    "check_supervised_y_no_nan": "a missing label means 'not labelled for this target'",
    "check_fit1d": "the adapter needs rows of numbers",
    "check_fit2d_predict1d": "the adapter needs rows of numbers",
}


def _rows_as_text(X: np.ndarray) -> np.ndarray:
    """Each numeric row as a 'title' of tokens, so that the numeric checks reach the model."""
    values = np.asarray(X, dtype=float)
    return np.array(
        [" ".join(f"f{j}_{round(v)}" for j, v in enumerate(row)) for row in values], dtype=object
    )


@pytest.fixture(scope="module")
def functions(labelled_titles: Data) -> tuple[list[str], pd.Series]:
    titles, labels = labelled_titles
    return titles, labels["function"]


def test_one_target_as_series_or_array_answers_like_a_scikit_learn_classifier(functions):
    titles, function = functions
    for y in (function, function.to_numpy(), function.tolist()):
        model = TitleClassifier(embedder=HashingEmbedder()).fit(titles, y)
        predicted = model.predict(["Head of Sales", "CTO"])
        assert isinstance(predicted, np.ndarray) and predicted.shape == (2,)
        proba = model.predict_proba(["Head of Sales", "CTO"])
        assert proba.shape == (2, 4) and list(model.classes_) == sorted(set(function))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert list(predicted) == list(model.classes_[proba.argmax(axis=1)])


def test_integer_labels_stay_integers(functions):
    titles, function = functions
    codes = function.astype("category").cat.codes.to_numpy()
    model = TitleClassifier(embedder=HashingEmbedder()).fit(titles, codes)
    assert model.predict(titles).dtype == codes.dtype
    assert model.score(titles, codes) > 0.9


def test_score_is_the_mean_accuracy_over_the_targets(labelled_titles: Data):
    titles, labels = labelled_titles
    model = TitleClassifier(embedder=HashingEmbedder()).fit(titles, labels)
    predicted = model.predict(titles)
    per_target = [(predicted[t] == labels[t]).mean() for t in labels.columns]
    assert model.score(titles, labels) == pytest.approx(np.mean(per_target))
    assert model.score(titles, labels[["seniority"]]) == pytest.approx(per_target[1])


def test_cross_validation_grid_search_and_pipeline_use_the_default_score(functions):
    titles, function = functions
    model = TitleClassifier(embedder=HashingEmbedder(), calibration="none")
    folds = KFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(model, titles, function, cv=folds)
    assert scores.shape == (3,) and ((scores >= 0) & (scores <= 1)).all()
    search = GridSearchCV(model, {"C": [0.01, 10.0]}, cv=folds).fit(titles, function)
    assert search.best_params_ == {"C": 10.0}
    assert search.predict(["Vertriebsleiterin"]).shape == (1,)
    stripped = make_pipeline(FunctionTransformer(lambda x: [t.strip() for t in x]), model)
    assert cross_val_score(stripped, titles, function, cv=folds).mean() == scores.mean()


@pytest.mark.slow  # about a minute: some fifty checks, each fitting several times
def test_scikit_learns_estimator_checks_pass_but_the_listed_ones() -> None:
    adapted = make_pipeline(
        FunctionTransformer(_rows_as_text), TitleClassifier(embedder=SparseTfidfEmbedder())
    )
    results = check_estimator(adapted, expected_failed_checks=EXPECTED_FAILED_CHECKS)
    passed = {r["check_name"] for r in results if r["status"] == "passed"}
    assert {"check_classifiers_classes", "check_fit_check_is_fitted", "check_fit_idempotent"} <= (
        passed
    )


def test_calibration_folds_cap_the_folds(labelled_titles: Data):
    titles, labels = labelled_titles
    default = TitleClassifier(embedder=HashingEmbedder()).fit(titles, labels)
    assert default.calibration_["function"] == "sigmoid (3 folds)"
    two = TitleClassifier(embedder=HashingEmbedder(), calibration_folds=2).fit(titles, labels)
    assert two.calibration_["function"] == "sigmoid (2 folds)"


def test_fit_shows_progress_only_when_asked(labelled_titles: Data, capsys):
    titles, labels = labelled_titles
    TitleClassifier(embedder=HashingEmbedder()).fit(titles, labels)
    assert capsys.readouterr().err == ""
    TitleClassifier(embedder=HashingEmbedder(), progress=True).fit(titles, labels)
    shown = capsys.readouterr().err
    assert "fit" in shown and "seniority: regression and calibration" in shown
