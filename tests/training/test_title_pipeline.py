"""Training, registry promotion, pyfunc prediction and evaluation of title models."""

from __future__ import annotations

import subprocess
from importlib import metadata

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from buying_groups.ml.embedders import HashingEmbedder
from buying_groups.ml.registry import champion_uri, champion_version
from buying_groups.settings import PROJECT_ROOT
from training.title_pipeline import (
    TrainingDataError,
    data_fingerprint,
    evaluate_titles,
    held_out_split,
    misclassified,
    model_versions,
    predict_titles,
    promote_version,
    train_titles,
)

TARGETS = ["function", "seniority"]


def test_first_version_becomes_champion(trained, store):
    client = MlflowClient(tracking_uri=store.tracking_uri, registry_uri=store.tracking_uri)
    assert trained.version == "1"
    assert trained.promoted and trained.reason == "no champion yet"
    assert str(champion_version(client, "persona-test").version) == "1"


def test_run_logs_params_metrics_plots_and_fingerprint(trained, store):
    client = MlflowClient(tracking_uri=store.tracking_uri)
    run = client.get_run(trained.run_id)
    assert len(run.data.params["data_sha256"]) == 64
    assert run.data.params["targets"] == "function,seniority"
    assert 0.0 <= run.data.metrics["function_macro_f1"] <= 1.0
    assert any(k.startswith("seniority.") and k.endswith(".f1") for k in run.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(trained.run_id, "plots")}
    assert {"plots/confusion_function.png", "plots/reliability_seniority.png"} <= artifacts


def test_worse_challenger_is_kept_out_better_one_promoted_and_promote_forces(
    titles, store, train_in_store, embedder_of_size
):
    name = "persona-promotion"
    weak = train_in_store(titles, name, embedder=embedder_of_size(8), log_plots=False)
    poor, quick = {"C": 1e-4}, {"log_plots": False}
    worse = train_in_store(
        titles, name, embedder=embedder_of_size(8), classifier_params=poor, **quick
    )
    better = train_in_store(titles, name, embedder=embedder_of_size(512), **quick)
    forced = train_in_store(
        titles, name, embedder=embedder_of_size(8), classifier_params=poor, promote=True, **quick
    )
    assert weak.promoted
    assert not worse.promoted and worse.previous_champion == "1"
    assert worse.metrics["mean_macro_f1"] < worse.champion_metrics["mean_macro_f1"]
    assert better.promoted and better.previous_champion == "1"
    assert forced.promoted and forced.reason.startswith("promoted on request")
    client = MlflowClient(tracking_uri=store.tracking_uri, registry_uri=store.tracking_uri)
    assert str(champion_version(client, name).version) == forced.version == "4"


def test_challenger_and_champion_are_scored_on_the_same_rows(
    trained, titles, train_in_store, embedder_of_size
):
    again = train_in_store(titles, "persona-test", embedder=embedder_of_size(256), log_plots=False)
    comparison = again.comparison()
    assert list(comparison["target"]) == TARGETS
    # Same data, seed and embedder: the same model, so the same scores on the same rows.
    assert again.champion_metrics == again.metrics
    assert not again.promoted


def test_champion_alias_loads_as_pyfunc_with_title_and_target_columns(trained, store):
    mlflow.set_tracking_uri(store.tracking_uri)
    model = mlflow.pyfunc.load_model(champion_uri("persona-test"))
    out = model.predict(pd.DataFrame({"title": ["Head of IT", "Einkäuferin"]}))
    assert list(out.columns) == [
        "title",
        "function",
        "function_confidence",
        "seniority",
        "seniority_confidence",
    ]
    assert out["title"].tolist() == ["Head of IT", "Einkäuferin"]
    assert out["function_confidence"].between(0, 1).all()


def test_predict_titles_keeps_order_across_batches(trained, store):
    titles = pd.DataFrame({"title": ["CFO", "Data Scientist", "Stagiaire marketing"] * 3})
    out = predict_titles(
        champion_uri("persona-test"), titles, tracking_uri=store.tracking_uri, batch_size=4
    )
    assert out["title"].tolist() == titles["title"].tolist()
    assert out["function"].notna().all() and out["seniority"].notna().all()


def test_evaluate_returns_accuracy_macro_f1_and_per_class(trained, titles, store):
    scores = evaluate_titles(trained.model_uri, titles, tracking_uri=store.tracking_uri)
    assert set(scores["targets"]) == set(TARGETS)
    function = scores["targets"]["function"]
    assert 0.5 < function["accuracy"] <= 1.0  # mostly seen titles
    assert set(function["per_class"]["IT"]) == {"precision", "recall", "f1", "support"}
    assert scores["mean_macro_f1"] == pytest.approx(
        (function["macro_f1"] + scores["targets"]["seniority"]["macro_f1"]) / 2
    )


def test_held_out_split_is_deterministic_and_keeps_titles_apart(titles):
    doubled = pd.concat([titles, titles.assign(title=titles["title"].str.upper())])
    train, test = held_out_split(doubled, TARGETS, 0.2, seed=3)
    _, again_test = held_out_split(doubled.sample(frac=1, random_state=1), TARGETS, 0.2, 3)
    assert set(train["title"].str.casefold()).isdisjoint(set(test["title"].str.casefold()))
    assert sorted(test["title"]) == sorted(again_test["title"])
    assert set(test["function"]) == set(titles["function"])  # stratified


def test_fingerprint_ignores_row_order_but_not_content(titles):
    shuffled = titles.sample(frac=1, random_state=0)
    assert data_fingerprint(titles) == data_fingerprint(shuffled)
    changed = titles.assign(function=titles["function"].replace("IT", "Data"))
    assert data_fingerprint(titles) != data_fingerprint(changed)


def test_missing_target_column_is_refused(titles, train_in_store):
    with pytest.raises(TrainingDataError):
        train_in_store(titles.drop(columns="seniority"), "persona-bad")


def test_misclassified_lists_wrong_rows_only(trained):
    wrong = misclassified(trained.held_out, "function")
    assert (wrong["true_function"] != wrong["function"]).all()


def test_run_is_tagged_with_the_git_commit_and_package_version(trained, store):
    tags = MlflowClient(tracking_uri=store.tracking_uri).get_run(trained.run_id).data.tags
    assert tags["buying_groups.version"] == metadata.version("buying-groups")
    checkout = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse"], capture_output=True)
    if checkout.returncode == 0:
        commit = tags["mlflow.source.git.commit"]
        # An ancestor rather than HEAD itself: the tree may have moved on since the run.
        ancestor = ["git", "-C", str(PROJECT_ROOT), "merge-base", "--is-ancestor", commit, "HEAD"]
        assert len(commit) == 40 and subprocess.run(ancestor).returncode == 0
        assert tags["buying_groups.git_dirty"] in {"true", "false"}


def test_registered_model_and_its_versions_are_described(trained, store):
    client = MlflowClient(tracking_uri=store.tracking_uri, registry_uri=store.tracking_uri)
    model = client.get_registered_model("persona-test")
    assert (
        model.description == "Predicts function, seniority from a job title (input column 'title')."
    )
    version = client.get_model_version("persona-test", trained.version)
    assert "training rows" in version.description and "no champion yet" in version.description


def test_a_losing_version_becomes_challenger_and_model_versions_lists_the_aliases(
    titles, store, train_in_store, embedder_of_size
):
    name = "persona-aliases"
    quick = {"log_plots": False}
    train_in_store(titles, name, embedder=embedder_of_size(256), **quick)
    lost = train_in_store(
        titles, name, embedder=embedder_of_size(8), classifier_params={"C": 1e-4}, **quick
    )
    assert not lost.promoted
    versions = model_versions(name, tracking_uri=store.tracking_uri)
    assert versions[["version", "aliases"]].to_dict("records") == [
        {"version": 1, "aliases": "champion"},
        {"version": 2, "aliases": "challenger"},
    ]
    assert versions["description"].str.contains("champion kept").tolist() == [False, True]
    promote_version(name, lost.version, tracking_uri=store.tracking_uri)
    after = model_versions(name, tracking_uri=store.tracking_uri)
    assert after["aliases"].tolist() == ["", "champion"]


def test_versions_are_registered_in_a_registry_store_apart_from_the_runs(titles, tmp_path):
    tracking, registry = f"sqlite:///{tmp_path / 'runs.db'}", f"sqlite:///{tmp_path / 'reg.db'}"
    result = train_titles(
        titles,
        TARGETS,
        "persona-apart",
        embedder=HashingEmbedder(n_features=64),
        tracking_uri=tracking,
        registry_uri=registry,
        artifact_root=str(tmp_path / "artifacts"),
        log_plots=False,
        progress=False,
    )
    registry_client = MlflowClient(tracking_uri=tracking, registry_uri=registry)
    assert str(champion_version(registry_client, "persona-apart").version) == result.version
    runs_only = MlflowClient(tracking_uri=tracking, registry_uri=tracking)
    assert runs_only.search_registered_models() == []
    assert model_versions("persona-apart", tracking_uri=tracking, registry_uri=registry)[
        "aliases"
    ].tolist() == ["champion"]
