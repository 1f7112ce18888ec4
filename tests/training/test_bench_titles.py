"""The title benchmark's data handling, cross-validation and ``--register`` (tiny corpora)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from training import bench_titles
from training.bench_titles import (
    CV_SOURCE,
    CorporaNotFoundError,
    FileWeights,
    MlflowStore,
    cross_validate,
    load_all_rows,
    load_splits,
    register_config,
)
from training.title_pipeline import evaluate_titles

DEPARTMENT_WORDS = {
    "Sales": ["Sales", "Vertrieb", "Account", "Verkauf"],
    "Marketing": ["Marketing", "Brand", "Kommunikation", "Content"],
    "Information Technology": ["IT", "Software", "Developer", "Informatik"],
    "Other": ["Nurse", "Teacher", "Lawyer", "Pilot"],
}
SENIORITY_WORDS = {
    "Junior": "Junior",
    "Senior": "Senior",
    "Lead": "Head of",
    "Professional": "",
}


def _titles(words: list[str], prefix: str) -> list[str]:
    return [f"{prefix} {word} {suffix}".strip() for word in words for suffix in ("", "Team")]


def _write_corpora(directory: Path) -> Path:
    """Three small files shaped like the title corpora (the CV file carries both labels)."""
    department = [
        {"title": title, "department": dept}
        for dept, words in DEPARTMENT_WORDS.items()
        for title in _titles(words, "Manager")
    ]
    seniority = [
        {"title": title, "seniority": level}
        for level, prefix in SENIORITY_WORDS.items()
        if level != "Professional"  # as in the real list
        for title in _titles(["Analyst", "Engineer", "Consultant", "Designer"], prefix)
    ]
    cv = [
        {"title": f"{prefix} {word}".strip(), "department": dept, "seniority": level}
        for dept, words in DEPARTMENT_WORDS.items()
        for word in words
        for level, prefix in SENIORITY_WORDS.items()
    ]
    pd.DataFrame(department).to_csv(directory / "department.csv", index=False)
    pd.DataFrame(seniority).to_csv(directory / "seniority.csv", index=False)
    pd.DataFrame(cv).to_csv(directory / "cv-titles-llm-labelled.csv", index=False)
    return directory


@pytest.fixture
def corpora(tmp_path: Path) -> Path:
    return _write_corpora(tmp_path)


def test_training_table_is_weighted_and_tagged_by_file(corpora: Path) -> None:
    weights = FileWeights(department_list=1.0, seniority_list=0.25, cv=5.0)
    splits = load_splits(corpora, None, weights)
    train = splits.train
    by_source = train.groupby("source")["weight"].unique()
    assert {source: list(w) for source, w in by_source.items()} == {
        "department.csv": [1.0],
        "seniority.csv": [0.25],
        CV_SOURCE: [5.0],
    }
    assert train.loc[train["source"] == "department.csv", "seniority"].isna().all()
    assert set(splits.slices) == {"curated", "cv"}


def test_all_rows_table_holds_every_row_of_every_file(corpora: Path) -> None:
    table = load_all_rows(corpora)
    sizes = {name: len(pd.read_csv(corpora / name)) for name in bench_titles._FILES}
    assert table["source"].value_counts().to_dict() == sizes
    assert list(table.columns) == ["title", "department", "seniority", "weight", "source"]


def test_missing_corpora_raise_a_named_error(tmp_path: Path) -> None:
    with pytest.raises(CorporaNotFoundError):
        load_all_rows(tmp_path)


def test_cross_validation_scores_every_cv_training_row_once(corpora: Path) -> None:
    splits = load_splits(corpora, None)
    scores = cross_validate("tfidf-sparse", splits, folds=2)
    n_cv = int((splits.train["source"] == CV_SOURCE).sum())
    assert list(scores["target"]) == ["department", "seniority"]
    assert set(scores["slice"]) == {"cv-2fold"}
    assert (scores["n"] == n_cv).all()
    assert scores["accuracy"].between(0, 1).all() and scores["macro_f1"].between(0, 1).all()


def test_seniority_head_is_regularised_more_than_department() -> None:
    model = bench_titles.make_classifier("tfidf-sparse")
    assert model._regularisation("seniority") < model._regularisation("department")


def test_registered_recipe_is_champion_and_scores_a_hold_out_file(
    corpora: Path, tmp_path: Path
) -> None:
    store = MlflowStore(f"sqlite:///{tmp_path / 'mlflow.db'}", str(tmp_path / "artifacts"))
    result = register_config("corpora-recipe", "tfidf-sparse", corpora, store=store)
    assert result.promoted
    hold_out = pd.DataFrame(
        {
            "title": ["Head of Vertrieb", "Junior Software", "Marketing"],
            "department": ["Sales", "Information Technology", "Marketing"],
            "seniority": ["Lead", "Junior", "Professional"],
        }
    )
    scores = evaluate_titles(
        "models:/corpora-recipe@champion", hold_out, tracking_uri=store.tracking_uri
    )
    assert set(scores["targets"]) == {"department", "seniority"}
    assert scores["targets"]["department"]["n"] == 3


def test_register_option_trains_on_all_rows_instead_of_benchmarking(
    corpora: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    argv = ["--corpora", str(corpora), "--register", "cli-recipe", "--tracking-uri", uri]
    assert bench_titles.main([*argv, "--artifact-root", str(tmp_path / "art")]) is None
    out = capsys.readouterr().out
    assert "models:/cli-recipe@champion" in out and "(tfidf-sparse, all rows)" in out
