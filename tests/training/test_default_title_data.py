"""The shippable default training set: taxonomy labels only, every source's licence recorded."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from buying_groups.settings import PROJECT_ROOT
from training.default_title_data import (
    COLUMNS,
    build_default_titles,
    expand_seed_titles,
    load_rules,
    load_taxonomy,
    match_function,
    match_seniority,
    source_manifest,
)

SHIPPED = PROJECT_ROOT / "data" / "default-titles"


@pytest.fixture(scope="module")
def built() -> pd.DataFrame:
    return build_default_titles()


def test_only_taxonomy_labels_and_the_expected_columns(built):
    taxonomy = load_taxonomy()
    assert list(built.columns) == COLUMNS
    assert set(built["function"]) == set(taxonomy["functions"])
    assert set(built["seniority"]) == set(taxonomy["seniorities"])
    assert set(built["language"]) == {"en", "de", "fr", "nl"}


def test_titles_are_distinct_and_every_source_contributes(built):
    assert not built["title"].str.casefold().duplicated().any()
    assert set(built["source"]) == {"seed", "ons-soc2010", "bls-ooh"}


def test_every_source_has_a_recorded_licence(built):
    manifest = source_manifest()
    for source in built["source"].unique():
        assert manifest[source]["licence"]
    shipped = yaml.safe_load((SHIPPED / "sources.yaml").read_text("utf-8"))
    assert set(shipped) == set(manifest)
    readme = (SHIPPED / "README.md").read_text("utf-8")
    for phrase in ("Open Government Licence", "public domain", "Apache-2.0"):
        assert phrase.lower() in readme.lower()


def test_shipped_csv_is_what_the_script_builds(built):
    shipped = pd.read_csv(SHIPPED / "titles.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(shipped, built.astype(str), check_dtype=False)
    assert (SHIPPED / "titles.csv").stat().st_size < 5_000_000


def test_rules_match_on_word_boundaries():
    rules = load_rules()
    assert match_function("Fitter", rules) is None  # "it" inside a word is not IT
    assert match_function("Head of IT", rules) == "IT"
    assert match_seniority("Internal Auditor", rules) == "Professional"
    assert match_seniority("Marketing Intern", rules) == "Entry"
    assert match_seniority("Crop Picker", rules) == "Professional"  # "cro" is not C-level


def test_seed_titles_cover_every_function_and_language():
    seeds = expand_seed_titles()
    assert set(seeds["function"]) == set(load_taxonomy()["functions"])
    assert seeds.groupby("language")["function"].nunique().min() >= 14
