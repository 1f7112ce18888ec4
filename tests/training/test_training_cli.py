"""The train / predict / evaluate ``titles`` commands, through Typer's test runner."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from training.cli import app, evaluate_app, predict_app, train_app

runner = CliRunner()


def test_train_predict_evaluate_titles_from_csv_files(titles, store, tmp_path):
    # Two files labelling different targets, as with separately labelled corpora.
    functions, seniorities = tmp_path / "functions.csv", tmp_path / "seniorities.csv"
    titles[["title", "function"]].to_csv(functions, index=False)
    titles[["title", "seniority"]].to_csv(seniorities, index=False)
    uri = ["--tracking-uri", store.tracking_uri]
    trained = runner.invoke(
        app,
        [
            "train",
            "titles",
            "--data",
            str(functions),
            "--data",
            str(seniorities),
            "--targets",
            "function,seniority",
            "--name",
            "persona-cli",
            "--embedder",
            "hashing",
            "--artifact-root",
            store.artifact_root,
            "--json",
            *uri,
        ],
    )
    assert trained.exit_code == 0, trained.output
    summary = json.loads(trained.stdout[trained.stdout.index("{") :])
    assert summary["promoted"] and summary["version"] == "1"

    inputs, outputs = tmp_path / "in.csv", tmp_path / "out.csv"
    pd.DataFrame({"title": ["Head of Procurement", "Junior Data Analyst"]}).to_csv(
        inputs, index=False
    )
    predicted = runner.invoke(
        predict_app,
        [
            "titles",
            "--model",
            "models:/persona-cli@champion",
            "--input",
            str(inputs),
            "--output",
            str(outputs),
            *uri,
        ],
    )
    assert predicted.exit_code == 0, predicted.output
    assert pd.read_csv(outputs).columns.tolist() == [
        "title",
        "function",
        "function_confidence",
        "seniority",
        "seniority_confidence",
    ]

    labelled = tmp_path / "labelled.csv"
    titles.to_csv(labelled, index=False)
    evaluated = runner.invoke(
        evaluate_app,
        [
            "titles",
            "--model",
            "models:/persona-cli@champion",
            "--data",
            str(labelled),
            "--json",
            *uri,
        ],
    )
    assert evaluated.exit_code == 0, evaluated.output
    scores = json.loads(evaluated.stdout[evaluated.stdout.index("{") :])
    assert set(scores["targets"]) == {"function", "seniority"}


def test_each_sub_app_has_a_titles_command():
    for sub_app in (train_app, predict_app, evaluate_app):
        result = runner.invoke(sub_app, ["titles", "--help"])
        assert result.exit_code == 0, result.output


def test_unknown_embedder_is_an_error(titles, store, tmp_path):
    data = tmp_path / "t.csv"
    titles.to_csv(data, index=False)
    result = runner.invoke(
        train_app,
        [
            "titles",
            "--data",
            str(data),
            "--name",
            "x",
            "--embedder",
            "nope",
            "--tracking-uri",
            store.tracking_uri,
        ],
    )
    assert result.exit_code != 0


def test_cli_embedder_names_match_the_pipeline() -> None:
    from training.cli import DEFAULT_EMBEDDER as CLI_DEFAULT
    from training.cli import EMBEDDER_NAMES
    from training.title_pipeline import DEFAULT_EMBEDDER, EMBEDDERS

    assert set(EMBEDDER_NAMES) == set(EMBEDDERS) and CLI_DEFAULT == DEFAULT_EMBEDDER
