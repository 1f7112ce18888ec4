"""Behaviour of the job-title normaliser."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from buying_groups.ml.title_normaliser import (
    TitleNormaliser,
    TitleTablesError,
    clean_title,
    fold_accents,
    normalise_title,
)


def test_associate_director_keeps_both_words() -> None:
    assert normalise_title("Associate Director") == "associate director"


def test_intern_and_internal_stay_different_tokens() -> None:
    assert normalise_title("Marketing Intern").split() == ["marketing", "intern"]
    assert normalise_title("Internal Auditor").split() == ["internal", "auditor"]


def test_it_manager_keeps_it_and_manager() -> None:
    assert normalise_title("IT Manager") == "it manager"
    assert normalise_title("Head of IT") == "head of it"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Sr. VP Sales", "senior vice president sales"),
        ("SVP Marketing", "senior vice president marketing"),
        ("EVP, Global Ops", "executive vice president global operations"),
        ("Jr. Developer", "junior developer"),
        ("Mgr. IT-Infrastruktur", "manager it infrastruktur"),
        ("Hd. of Sales", "head of sales"),
        ("R&D Manager", "research and development manager"),
        ("CISO", "ciso"),
        ("C.E.O.", "ceo"),
        ("GF", "geschaeftsfuehrer"),
        ("Gesch.f. Vertrieb", "geschaeftsfuehrer vertrieb"),
        ("Stv. Leitung Marketing", "stellvertretender leitung marketing"),
        ("PDG", "president directeur general"),
        ("DG adjoint", "directeur general adjoint"),
        ("DRH", "directeur des ressources humaines"),
        ("Hfd. verkoop", "hoofd verkoop"),
    ],
)
def test_abbreviations_expand_in_four_languages(title: str, expected: str) -> None:
    assert normalise_title(title) == expected


def test_ambiguous_abbreviation_follows_the_title_language() -> None:
    assert normalise_title("Dir. Marketing") == "director marketing"
    assert normalise_title("Dir. des ventes") == "directeur des ventes"
    assert normalise_title("Dir. Vertrieb und Einkauf") == "direktor vertrieb und einkauf"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Leiterin Marketing", "leiter marketing"),
        ("Managerin Vertrieb", "manager vertrieb"),
        ("Geschäftsführerin", "geschaeftsfuehrer"),
        ("Referentin", "referent"),
        ("Industriekauffrau", "industriekaufmann"),
        ("Directrice Commerciale", "directeur commercial"),
        ("Chargée de mission", "charge de mission"),
        ("Vendeuse", "vendeur"),
        ("Medewerkster verkoop", "medewerker verkoop"),
        ("Leiter*in IT", "leiter it"),
        ("Mitarbeiter:innen Einkauf", "mitarbeiter einkauf"),
        ("LeiterIn Vertrieb", "leiter vertrieb"),
        ("Chargé(e) de projet", "charge de projet"),
        ("Directeur·rice des RH", "directeur des ressources humaines"),
    ],
)
def test_gendered_forms_fold_to_one_base_form(title: str, expected: str) -> None:
    assert normalise_title(title) == expected


def test_camel_case_in_is_not_a_gender_marker_in_linkedin() -> None:
    assert normalise_title("LinkedIn Marketing Manager") == "linkedin marketing manager"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Head of Sales @ Acme GmbH", "head of sales"),
        ("Head of Sales at Acme Corp", "head of sales"),
        ("Vertriebsleiter bei Siemens AG", "vertriebsleiter"),
        ("CEO 🚀 | Founder | Speaker", "ceo"),
        ("Chargée de projets Marketing | Groupe international", "charge de projets marketing"),
        ("Software Engineer (2019 - present)", "software engineer"),
        ("Sales Manager since 2020", "sales manager"),
        ("Jan 2020 - Dec 2021 Sales Manager", "sales manager"),
        ("Sales Manager (m/w/d)", "sales manager"),
        ("Ingénieur commercial H/F", "ingenieur commercial"),
        ("  ", ""),
    ],
)
def test_noise_is_removed(title: str, expected: str) -> None:
    assert normalise_title(title) == expected


def test_country_code_at_is_not_taken_for_the_word_at() -> None:
    assert normalise_title("Country Manager AT & CH") == "country manager at ch"


def test_accents_fold_for_matching_but_stay_for_embedders() -> None:
    assert normalise_title("Responsable Clientèle") == "responsable clientele"
    assert clean_title("Geschäftsführerin Vertrieb") == "geschäftsführer vertrieb"
    assert fold_accents("coördinator") == "coordinator"
    assert fold_accents("straße") == "strasse"


def test_module_function_is_cached() -> None:
    normalise_title("Cached Title For The Cache Test")
    hits = normalise_title.cache_info().hits
    normalise_title("Cached Title For The Cache Test")
    assert normalise_title.cache_info().hits == hits + 1


def _copy_tables(source: Path, target: Path) -> None:
    """Copy the packaged tables so a test can edit one."""
    for path in source.glob("title_*.csv"):
        (target / path.name).write_text(path.read_text("utf-8"), "utf-8")


def test_tables_drive_the_abbreviations(tmp_path: Path) -> None:
    packaged = Path(__file__).resolve().parents[2] / "buying_groups" / "data"
    _copy_tables(packaged, tmp_path)
    with (tmp_path / "title_abbreviations.csv").open("a", encoding="utf-8") as table:
        table.write("en,cmo2,chief marketing officer\n")
    assert TitleNormaliser(tables_dir=tmp_path).normalise("CMO2") == "chief marketing officer"
    assert normalise_title("CMO2") == "cmo2"


def test_invalid_noise_pattern_is_reported(tmp_path: Path) -> None:
    packaged = Path(__file__).resolve().parents[2] / "buying_groups" / "data"
    _copy_tables(packaged, tmp_path)
    (tmp_path / "title_noise_patterns.csv").write_text(
        "name,pattern,replacement,ignore_case\nbroken,(unclosed,,false\n", "utf-8"
    )
    with pytest.raises(TitleTablesError, match="broken"):
        TitleNormaliser(tables_dir=tmp_path)


def test_options_switch_steps_off() -> None:
    plain = TitleNormaliser(expand_abbreviations=False, fold_gender=False)
    assert plain.normalise("Sr. Leiterin") == "sr leiterin"


def test_normaliser_pickles_without_its_cache() -> None:
    normaliser = TitleNormaliser()
    normaliser.normalise("VP Sales")
    restored = pickle.loads(pickle.dumps(normaliser))
    assert restored.normalise("VP Sales") == "vice president sales"


@given(st.text(max_size=60))
def test_output_is_lower_case_words_separated_by_single_spaces(title: str) -> None:
    result = normalise_title(title)
    assert result == result.strip()
    assert "  " not in result
    assert all(word.replace("&", "").isalnum() for word in result.split())
