"""The synthetic demo CRM: shape, consistency, realism of titles and activities."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from buying_groups_demo.crm import (
    DEMO_REFERENCE_DATE,
    SIZES,
    DemoCRM,
    UnknownDemoSizeError,
    generate_demo_crm,
)
from buying_groups_demo.title_noise import with_typo
from buying_groups_demo.titles import (
    FEMININE,
    INCLUSIVE,
    LANGUAGES,
    MASCULINE,
    clean_titles,
    gendered,
    title_pool,
)

TAXONOMY = yaml.safe_load(
    (Path(__file__).parents[2] / "buying_groups" / "data" / "taxonomy.yaml").read_text("utf-8")
)
COLUMNS = {
    "accounts": [
        "external_id", "name", "domain", "industry", "employees", "revenue", "country",
        "products_owned", "parent_external_id",
    ],
    "persons": [
        "external_id", "account_external_id", "first_name", "last_name", "email", "job_title",
        "department", "country", "phone",
    ],
    "activities": ["external_id", "person_external_id", "type", "occurred_at"],
    "truth": ["person_external_id", "function", "seniority", "language"],
}  # fmt: skip
ACTIVITY_TYPES = {
    "email_opened", "email_clicked", "link_clicked", "page_viewed", "form_filled",
    "event_registered", "event_attended", "interesting_moment",
}  # fmt: skip


@pytest.fixture(scope="module")
def crm() -> DemoCRM:
    return generate_demo_crm("small")


def _titles_of(crm: DemoCRM) -> pd.Series:
    return crm.persons.set_index("external_id")["job_title"]


def test_same_size_and_seed_give_identical_frames(crm: DemoCRM) -> None:
    again = generate_demo_crm("small", seed=7)
    for name in COLUMNS:
        pd.testing.assert_frame_equal(getattr(crm, name), getattr(again, name))


def test_another_seed_gives_other_data(crm: DemoCRM) -> None:
    other = generate_demo_crm("small", seed=8)
    assert not crm.persons["job_title"].equals(other.persons["job_title"])


def test_unknown_size_is_refused() -> None:
    with pytest.raises(UnknownDemoSizeError):
        generate_demo_crm("huge")


def test_tables_have_the_agreed_columns(crm: DemoCRM) -> None:
    for name, columns in COLUMNS.items():
        assert list(getattr(crm, name).columns) == columns


def test_columns_have_the_agreed_types(crm: DemoCRM) -> None:
    accounts, persons = crm.accounts, crm.persons
    assert accounts["employees"].dtype == np.int64
    assert accounts["revenue"].dtype == np.float64
    assert all(isinstance(p, list) for p in accounts["products_owned"])
    assert {type(p) for p in accounts["parent_external_id"]} == {str, type(None)}
    assert {type(d) for d in persons["department"]} == {str, type(None)}
    assert {type(p) for p in persons["phone"]} == {str, type(None)}
    for frame in (accounts, persons, crm.activities, crm.truth):
        text = frame.select_dtypes(exclude=["number", "datetimetz"])
        assert all(pd.api.types.is_object_dtype(dtype) for dtype in text.dtypes)
    occurred = crm.activities["occurred_at"].dtype
    assert isinstance(occurred, pd.DatetimeTZDtype) and str(occurred.tz) == "UTC"


def test_ids_follow_the_agreed_formats(crm: DemoCRM) -> None:
    assert crm.accounts["external_id"].str.fullmatch(r"ACC-\d{6}").all()
    assert crm.persons["external_id"].str.fullmatch(r"PER-\d{7}").all()
    assert crm.activities["external_id"].str.fullmatch(r"ACT-\d+").all()
    for frame in (crm.accounts, crm.persons, crm.activities):
        assert frame["external_id"].is_unique


def test_account_values_are_plausible(crm: DemoCRM) -> None:
    accounts = crm.accounts
    assert set(accounts["country"]) <= {"US", "GB", "IE", "DE", "AT", "CH", "FR", "BE", "NL", "LU"}
    assert (accounts["employees"] > 0).all() and (accounts["revenue"] > 0).all()
    assert accounts["domain"].is_unique
    assert accounts["products_owned"].map(len).sum() > 0


def test_every_parent_exists_and_no_cycle_deeper_than_two(crm: DemoCRM) -> None:
    accounts = crm.accounts
    parents = dict(zip(accounts["external_id"], accounts["parent_external_id"], strict=True))
    depths = []
    for account in parents:
        depth, current = 0, parents[account]
        while current is not None:
            assert current in parents
            depth += 1
            assert depth <= 2, f"{account} is deeper than two levels (or in a cycle)"
            current = parents[current]
        depths.append(depth)
    assert set(depths) == {0, 1, 2}


def test_every_person_belongs_to_an_existing_account(crm: DemoCRM) -> None:
    assert crm.persons["account_external_id"].isin(crm.accounts["external_id"]).all()
    assert crm.accounts["external_id"].isin(crm.persons["account_external_id"]).all()


def test_truth_covers_every_person_with_taxonomy_labels(crm: DemoCRM) -> None:
    truth = crm.truth
    assert truth["person_external_id"].tolist() == crm.persons["external_id"].tolist()
    assert set(truth["function"]) == set(TAXONOMY["functions"])
    assert set(truth["seniority"]) == set(TAXONOMY["seniorities"])
    assert set(truth["language"]) == {"en", "de", "fr", "nl"}


def test_seniority_mix_looks_like_a_b2b_crm(crm: DemoCRM) -> None:
    shares = crm.truth["seniority"].value_counts(normalize=True)
    assert shares["Professional"] > shares["Manager"] > shares["Director"] > shares["VP"]
    assert shares["C-level/Owner"] < 0.06


def test_title_language_mostly_follows_the_country(crm: DemoCRM) -> None:
    language = crm.truth.set_index("person_external_id")["language"]
    country = crm.persons.set_index("external_id")["country"]
    assert (language[country.isin(["US", "GB"])] == "en").all()
    assert (language[country == "DE"] == "de").mean() > 0.5
    assert (language[country == "NL"] == "nl").mean() > 0.5
    assert set(language[country == "BE"]) >= {"fr", "nl"}


def test_titles_appear_in_all_four_languages(crm: DemoCRM) -> None:
    titles = _titles_of(crm)
    language = crm.truth.set_index("person_external_id")["language"]
    cues = {
        "de": r"leiter|leitung|referent|sachbearbeiter|geschäftsführ|mitarbeiter|entwickler"
        r"|praktikant|werkstudent|einkäufer|buchhalter|berater",
        "fr": r"directeur|directrice|responsable|chargé|stagiaire|commercial",
        "nl": r"medewerker|hoofd|teamleider|beheerder|inkoper|adviseur",
        "en": r"manager|director|head of|engineer|analyst|specialist",
    }
    for lang, cue in cues.items():
        matches = titles[language == lang].str.contains(cue, case=False, regex=True)
        assert matches.mean() > 0.25, lang


def test_mixed_language_titles_appear(crm: DemoCRM) -> None:
    language = crm.truth.set_index("person_external_id")["language"]
    german_titles = _titles_of(crm)[language == "de"]
    assert german_titles.str.contains(r"^Head of|^Senior|^Lead", case=False).any()


def test_tricky_titles_appear(crm: DemoCRM) -> None:
    tricky = [
        "Internal Audit", "International Sales", "Intern - ", "Associate Director",
        "Product Owner", "Chief of Staff", "Account Executive", "Managing Director",
        "Interne Revision", "Audit Interne", "Interne Auditor", "General Manager",
    ]  # fmt: skip
    titles = _titles_of(crm).str.lower()
    found = [t for t in tricky if titles.str.contains(t.lower(), regex=False).any()]
    assert len(found) >= 6, found
    pool = set(title_pool().values)
    assert {"Internal Audit Manager", "International Sales Manager", "Intern - Marketing"} <= pool


def test_tricky_titles_keep_their_meaning() -> None:
    assert "Internal Audit Manager" in clean_titles("en", "Finance", "Manager")
    assert "International Sales Manager" in clean_titles("en", "Sales", "Manager")
    assert "Intern - Marketing" in clean_titles("en", "Marketing", "Entry")
    assert "Associate Director, Compliance" in clean_titles("en", "Legal", "Director")


def test_cxo_titles_belong_to_their_function() -> None:
    assert "CISO" in clean_titles("en", "Security", "C-level/Owner")
    assert "CFO" in clean_titles("en", "Finance", "C-level/Owner")
    assert "CEO" in clean_titles("en", "Executive", "C-level/Owner")
    assert "GF" in clean_titles("de", "Executive", "C-level/Owner")
    assert "PDG" in clean_titles("fr", "Executive", "C-level/Owner")


def test_each_composed_title_has_exactly_one_label() -> None:
    labels: dict[str, set[tuple[str, str]]] = {}
    for function in TAXONOMY["functions"]:
        for seniority in TAXONOMY["seniorities"]:
            for language in LANGUAGES:
                for title in clean_titles(language, function, seniority):
                    for form in (MASCULINE, FEMININE):
                        labels.setdefault(gendered(title, form), set()).add((function, seniority))
    ambiguous = {title: found for title, found in labels.items() if len(found) > 1}
    assert not ambiguous


def test_abbreviations_appear_among_the_titles() -> None:
    pool = " | ".join(title_pool().values)
    for abbreviation in [
        "VP ", "SVP ", "Sr. ", "Jr. ", "CISO", "CTO", "CIO", "CFO", "Dir. ", " Mgr", "GF",
        "Gesch.f.", "DG", "PDG",
    ]:  # fmt: skip
        assert abbreviation in pool, abbreviation


def test_gendered_forms_resolve_consistently() -> None:
    text = "Technische<r|> Geschäftsführer<|in>"
    assert gendered(text, MASCULINE) == "Technischer Geschäftsführer"
    assert gendered(text, FEMININE) == "Technische Geschäftsführerin"
    assert gendered("Leiter<|in> IT", INCLUSIVE, spelling=0) == "Leiter*in IT"
    assert gendered("<Directeur|Directrice> Commercial<|e>", FEMININE) == "Directrice Commerciale"


def test_gendered_and_inclusive_titles_appear(crm: DemoCRM) -> None:
    titles = _titles_of(crm)
    assert titles.str.contains(r"\w(?:in|erin)\b", regex=True).any()
    assert titles.str.contains(r"Directrice|Responsable|Chargée", regex=True).any()
    assert titles.str.contains(r"\*in|:in|\(in\)|\(e\)|/", regex=True).any()


def test_titles_are_messy(crm: DemoCRM) -> None:
    titles = _titles_of(crm)
    clean = set(title_pool().values)
    noisy = titles[~titles.isin(clean)]
    assert 0.15 < len(noisy) / len(titles) < 0.5
    assert noisy.str.contains(" @ | at | bei | chez | bij ", regex=True).any()
    assert noisy.str.contains(r"\b(?:19|20)\d\d\b", regex=True).any()
    assert noisy.str.contains("|", regex=False).any()
    assert (noisy == noisy.str.lower()).any() and (noisy == noisy.str.upper()).any()


def test_a_typo_changes_one_letter_of_one_word() -> None:
    rng = np.random.default_rng(0)
    title = "Director Information Security"
    typo = with_typo(title, rng)
    assert typo != title
    assert abs(len(typo) - len(title)) <= 1
    assert sum(a != b for a, b in zip(typo.split(), title.split(), strict=True)) == 1


def test_emails_use_the_account_domain(crm: DemoCRM) -> None:
    domains = crm.accounts.set_index("external_id")["domain"]
    persons = crm.persons
    expected = persons["account_external_id"].map(domains)
    assert (persons["email"].str.split("@").str[1] == expected).all()
    assert persons["email"].is_unique
    assert persons["email"].str.fullmatch(r"[a-z0-9._-]+@[a-z0-9.-]+").all()


def test_some_departments_and_phones_are_missing(crm: DemoCRM) -> None:
    for column in ("department", "phone"):
        missing = crm.persons[column].isna().mean()
        assert 0.2 < missing < 0.8, column


def test_activities_fall_inside_the_30_day_window(crm: DemoCRM) -> None:
    occurred = crm.activities["occurred_at"]
    assert (occurred < DEMO_REFERENCE_DATE).all()
    assert (occurred > DEMO_REFERENCE_DATE - timedelta(days=30)).all()
    assert set(crm.activities["type"]) == ACTIVITY_TYPES
    assert crm.activities["person_external_id"].isin(crm.persons["external_id"]).all()


def test_activity_is_skewed_with_bursts(crm: DemoCRM) -> None:
    activities = crm.activities
    per_person = activities["person_external_id"].value_counts()
    per_person = per_person.reindex(crm.persons["external_id"], fill_value=0)
    assert (per_person == 0).mean() > 0.4
    assert per_person.max() > 50
    assert 1 < per_person.mean() <= 10
    day = activities["occurred_at"].dt.floor("D")
    per_day = activities.groupby(["person_external_id", "type", day]).size()
    assert per_day.max() > 20


def test_reference_date_is_a_utc_midnight() -> None:
    assert DEMO_REFERENCE_DATE.utcoffset() == timedelta(0)
    assert (DEMO_REFERENCE_DATE.hour, DEMO_REFERENCE_DATE.minute) == (0, 0)


def test_medium_size_counts_are_in_range() -> None:
    medium = generate_demo_crm("medium", seed=1)
    assert len(medium.accounts) == SIZES["medium"].accounts
    assert len(medium.persons) == SIZES["medium"].persons
    assert len(medium.truth) == len(medium.persons)
    assert 2 * len(medium.persons) < len(medium.activities) < 10 * len(medium.persons)
    assert medium.persons["email"].is_unique
    assert re.fullmatch(r"PER-\d{7}", medium.persons["external_id"].iloc[-1])
