"""`train`, `predict` and `evaluate` answer bad files, unknown models and a missing MLflow
store with one line on stderr and exit code 2 (through the `buying-groups` command)."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from buying_groups_cli.main import app
from training.title_pipeline import TrainResult

runner = CliRunner()


def _run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def assert_one_line_error(result: Result, *words: str) -> None:
    """Exit 2, no traceback, exactly one line on stderr that holds every word."""
    assert result.exit_code == 2, (result.exception, result.output)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0]


def _file(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


BAD_FILES = [
    ("latin.csv", "title,function\nDirecteur général,Executive\n".encode("latin-1"), "line 2"),
    ("binary.csv", random.Random(3).randbytes(4096), "not valid UTF-8"),
    ("empty.csv", b"", "the file is empty"),
    ("header.csv", b"title,function\n", "no rows below the header"),
    ("no-title.csv", b"name,function\nCEO,Executive\n", "missing column 'title'"),
    ("ragged.csv", b"title,function\nCEO,Executive\nCFO,Finance,extra\n", "line 3"),
]


@pytest.mark.parametrize(("name", "data", "reason"), BAD_FILES)
def test_predict_names_the_bad_input_file(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    path = _file(tmp_path / name, data)
    output = str(tmp_path / "out.csv")
    result = _run("predict", "titles", "--input", path, "--output", output)
    assert_one_line_error(result, path, reason)


@pytest.mark.parametrize(("name", "data", "reason"), BAD_FILES)
def test_evaluate_and_train_name_the_bad_data_file(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    path = _file(tmp_path / name, data)
    evaluated = _run("evaluate", "titles", "--model", "models:/x@champion", "--data", path)
    assert_one_line_error(evaluated, path, reason)
    trained = _run("train", "titles", "--data", path, "--name", "x", "--targets", "function")
    assert_one_line_error(trained, path, reason)


def test_train_names_a_label_column_no_file_has(tmp_path: Path) -> None:
    path = _file(tmp_path / "t.csv", b"title,function\nCEO,Executive\n")
    result = _run("train", "titles", "--data", path, "--name", "x", "--targets", "function,rank")
    assert_one_line_error(result, path, "no file has the label column 'rank'")


def test_train_refuses_an_unknown_embedder_in_one_line(tmp_path: Path, store) -> None:
    path = _file(tmp_path / "t.csv", b"title,function\nCEO,Executive\nCFO,Finance\n")
    args = ["--data", path, "--name", "x", "--targets", "function", "--embedder", "nope"]
    result = _run("train", "titles", *args, "--tracking-uri", store.tracking_uri)
    assert_one_line_error(result, "unknown embedder 'nope'")


def test_reading_commands_do_not_create_a_missing_store(tmp_path: Path) -> None:
    store = tmp_path / "mlflow" / "mlflow.db"
    uri = ["--tracking-uri", f"sqlite:///{store}"]
    titles = _file(tmp_path / "t.csv", b"title,function\nCEO,Executive\n")
    output = str(tmp_path / "out.csv")
    predicted = _run("predict", "titles", "--input", titles, "--output", output, *uri)
    assert_one_line_error(predicted, f"no MLflow store at {store}", "train a model first")
    evaluated = _run("evaluate", "titles", "--model", "models:/x@champion", "--data", titles, *uri)
    assert_one_line_error(evaluated, f"no MLflow store at {store}")
    assert not store.parent.exists()


def test_unknown_model_uri_is_one_line(tmp_path: Path, store, trained: TrainResult) -> None:
    titles = _file(tmp_path / "t.csv", b"title\nCEO\n")
    output = str(tmp_path / "out.csv")
    uri = ["--tracking-uri", store.tracking_uri]
    for model in ("models:/nobody@champion", "runs:/0123abcd/model", str(tmp_path / "none")):
        args = ["--input", titles, "--output", output, "--model", model, *uri]
        result = _run("predict", "titles", *args)
        assert_one_line_error(result, "cannot load model", model)
    args = ["--model", "models:/nobody@champion", "--data", titles, *uri]
    result = _run("evaluate", "titles", *args)
    assert_one_line_error(result, "cannot load model 'models:/nobody@champion'")


def test_predict_into_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    titles = _file(tmp_path / "t.csv", b"title\nCEO\n")
    output = tmp_path / "no" / "out.csv"
    result = _run("predict", "titles", "--input", titles, "--output", str(output))
    assert_one_line_error(result, str(output), "no such folder")


def test_predict_reads_utf16_and_long_titles(tmp_path: Path, store, trained: TrainResult) -> None:
    text = "title\nDirecteur général\n" + "x" * 200_000 + "\n"
    titles = _file(tmp_path / "t.csv", text.encode("utf-16"))
    output = tmp_path / "out.csv"
    result = _run(
        *("predict", "titles", "--input", titles, "--output", str(output)),
        *("--model", trained.model_uri, "--tracking-uri", store.tracking_uri),
    )
    assert result.exit_code == 0, result.output
    assert pd.read_csv(output)["title"].str.len().tolist() == [17, 200_000]
