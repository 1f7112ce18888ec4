"""Synthetic demo persons with messy multilingual job titles, and their true labels.

Every draw is vectorised: a person's attributes are indices into small vocabularies
(`GroupedChoices`), so the output columns mostly hold shared references to a few thousand
distinct strings; only ids, emails, phones and "@ Company" titles are built per person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from buying_groups_demo.accounts import GeneratedAccounts, countries, country_weights, slug
from buying_groups_demo.grouped_choices import GroupedChoices
from buying_groups_demo.title_noise import add_title_noise
from buying_groups_demo.titles import (
    FEMININE,
    INCLUSIVE,
    LANGUAGES,
    MASCULINE,
    department_pool,
    title_key,
    title_pool,
)
from buying_groups_demo.vocabulary import load_demo_vocabulary, load_taxonomy

PERSON_COLUMNS: tuple[str, ...] = (
    "external_id", "account_external_id", "first_name", "last_name", "email", "job_title",
    "department", "country", "phone",
)  # fmt: skip
TRUTH_COLUMNS: tuple[str, ...] = ("person_external_id", "function", "seniority", "language")
_ENGLISH = LANGUAGES.index("en")
# Most people work in their account's country; some are remote or at a foreign office.
_SAME_COUNTRY_SHARE = 0.92
_DEPARTMENT_SHARE = 0.45
_PHONE_SHARE = 0.6
# Gender-inclusive spellings ("Leiter*in", "Commercial(e)") among German and French titles.
_INCLUSIVE_SHARE = 0.05
# Bigger companies have more people in the CRM, but far from proportionally.
_SIZE_EXPONENT = 0.5
_EMAIL_FORMATS: tuple[str, ...] = ("first.last", "f.last", "firstlast", "first_last", "last")
_EMAIL_FORMAT_SHARES: tuple[float, ...] = (0.6, 0.15, 0.1, 0.1, 0.05)


@dataclass(frozen=True)
class GeneratedPersons:
    """The persons table and, kept apart, each person's true function/seniority/language."""

    persons: pd.DataFrame
    truth: pd.DataFrame


@dataclass(frozen=True)
class _People:
    """Per-person indices: account row, country, languages, sex, function, seniority."""

    account: npt.NDArray[np.int64]
    country: npt.NDArray[np.int64]
    native_language: npt.NDArray[np.int64]
    title_language: npt.NDArray[np.int64]
    female: npt.NDArray[np.bool_]
    function: npt.NDArray[np.int64]
    seniority: npt.NDArray[np.int64]


def _people_per_account(
    employees: npt.NDArray[np.int64], n_persons: int, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """At least one person per account, the rest spread by a sub-linear share of headcount."""
    weights = employees.astype(float) ** _SIZE_EXPONENT
    extra = rng.multinomial(n_persons - len(employees), weights / weights.sum())
    counts: npt.NDArray[np.int64] = extra.astype(np.int64) + 1
    return counts


def _native_languages(
    country: npt.NDArray[np.int64], rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Draw each person's language from their country's mix (e.g. BE: 60 % nl, 40 % fr)."""
    spec = load_demo_vocabulary("companies")["countries"]
    shares = np.array(
        [[spec[code]["languages"].get(lang, 0.0) for lang in LANGUAGES] for code in countries()]
    )
    cumulative = np.cumsum(shares / shares.sum(axis=1, keepdims=True), axis=1)
    drawn = (rng.random(len(country))[:, None] > cumulative[country]).sum(axis=1)
    return np.minimum(drawn, len(LANGUAGES) - 1).astype(np.int64)


def _personas(
    n_persons: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Draw (function, seniority) indices from P(function) x P(seniority | function)."""
    taxonomy, people = load_taxonomy(), load_demo_vocabulary("people")
    seniority_weights = people["seniority_weights"]
    joint = np.array(
        [
            [
                people["function_weights"][function]
                * seniority_weights.get(function, seniority_weights["default"])[seniority]
                for seniority in taxonomy.seniorities
            ]
            for function in taxonomy.functions
        ]
    )
    flat = rng.choice(joint.size, size=n_persons, p=(joint / joint.sum()).ravel())
    n_seniorities = len(taxonomy.seniorities)
    return flat // n_seniorities, flat % n_seniorities


def _people(accounts: GeneratedAccounts, n_persons: int, rng: np.random.Generator) -> _People:
    """Place persons in accounts and draw their country, languages, sex and persona."""
    employees = accounts.frame["employees"].to_numpy()
    account = np.repeat(np.arange(len(employees)), _people_per_account(employees, n_persons, rng))
    elsewhere = rng.choice(len(countries()), size=n_persons, p=country_weights())
    stays = rng.random(n_persons) < _SAME_COUNTRY_SHARE
    country = np.where(stays, accounts.country_index[account], elsewhere)
    native = _native_languages(country, rng)
    english_share = load_demo_vocabulary("people")["english_title_share"]
    in_english = rng.random(n_persons) < english_share
    function, seniority = _personas(n_persons, rng)
    return _People(
        account=account,
        country=country,
        native_language=native,
        title_language=np.where(in_english, _ENGLISH, native),
        female=rng.random(n_persons) < 0.5,
        function=function,
        seniority=seniority,
    )


def _forms(people: _People, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Grammatical form of each title: feminine for most women, some inclusive spellings."""
    masculine_share = load_demo_vocabulary("people")["masculine_form_share"]
    n_persons = len(people.female)
    feminine = people.female & (rng.random(n_persons) >= masculine_share)
    form = np.where(feminine, FEMININE, MASCULINE)
    inclusive = (people.title_language != _ENGLISH) & (rng.random(n_persons) < _INCLUSIVE_SHARE)
    return np.where(inclusive, INCLUSIVE, form).astype(np.int64)


def _job_titles(
    people: _People, accounts: GeneratedAccounts, rng: np.random.Generator
) -> npt.NDArray[np.object_]:
    """Draw a title of the person's persona, language and form, then add CRM noise."""
    pool = title_pool()
    key = title_key(people.function, people.seniority, people.title_language,
                    _forms(people, rng))  # fmt: skip
    index = pool.sample_index(key, rng)
    companies = accounts.short_names[people.account]
    return add_title_noise(index, pool.values, people.title_language, companies, rng)


def _names(
    people: _People, rng: np.random.Generator
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
    """First name by native language and sex, last name by native language."""
    vocabulary = load_demo_vocabulary("people")
    first = GroupedChoices.from_groups(
        [vocabulary["first_names"][lang][sex] for lang in LANGUAGES for sex in ("male", "female")]
    )
    last = GroupedChoices.from_groups([vocabulary["last_names"][lang] for lang in LANGUAGES])
    first_names = first.sample(people.native_language * 2 + people.female, rng)
    return first_names, last.sample(people.native_language, rng)


def _email_locals(
    first: npt.NDArray[np.object_], last: npt.NDArray[np.object_], style: npt.NDArray[np.int64]
) -> npt.NDArray[np.object_]:
    """Local part of each email in its account's style: "anna.mueller", "a.mueller", ..."""
    slugs = {name: slug(name) for name in set(first) | set(last)}
    firsts = np.array([slugs[name] for name in first], dtype=object)
    lasts = np.array([slugs[name] for name in last], dtype=object)
    initials = np.array([name[:1] for name in firsts], dtype=object)
    composed = {
        "first.last": lambda m: firsts[m] + "." + lasts[m],
        "f.last": lambda m: initials[m] + "." + lasts[m],
        "firstlast": lambda m: firsts[m] + lasts[m],
        "first_last": lambda m: firsts[m] + "_" + lasts[m],
        "last": lambda m: lasts[m] + "." + firsts[m],
    }
    local = np.empty(len(first), dtype=object)
    for index, name in enumerate(_EMAIL_FORMATS):
        chosen = style == index
        local[chosen] = composed[name](chosen)
    return local


def _emails(
    people: _People,
    first: npt.NDArray[np.object_],
    last: npt.NDArray[np.object_],
    domains: npt.NDArray[np.object_],
    rng: np.random.Generator,
) -> npt.NDArray[np.object_]:
    """Unique email at the account's domain; namesakes get a number ("anna.mueller2@")."""
    account_style = rng.choice(len(_EMAIL_FORMATS), size=len(domains), p=_EMAIL_FORMAT_SHARES)
    local = pd.Series(_email_locals(first, last, account_style[people.account]), dtype=object)
    at_domain = "@" + pd.Series(domains[people.account], dtype=object)
    emails = local + at_domain
    repeat = emails.groupby(emails, sort=False).cumcount()
    numbered = local + (repeat + 1).astype(str).astype(object) + at_domain
    unique: npt.NDArray[np.object_] = np.where(repeat > 0, numbered, emails).astype(object)
    return unique


def _phones(country: npt.NDArray[np.int64], rng: np.random.Generator) -> npt.NDArray[np.object_]:
    """A phone number with the country's calling code for some persons, None for the rest."""
    spec = load_demo_vocabulary("companies")["countries"]
    prefixes = [spec[code]["phone"] for code in countries()]
    has_phone = np.flatnonzero(rng.random(len(country)) < _PHONE_SHARE)
    areas = rng.integers(20, 999, len(has_phone)).tolist()
    numbers = rng.integers(100_000, 9_999_999, len(has_phone)).tolist()
    phones = np.full(len(country), None, dtype=object)
    phones[has_phone] = [
        f"{prefixes[c]} {area} {number}"
        for c, area, number in zip(country[has_phone].tolist(), areas, numbers, strict=True)
    ]
    return phones


def _departments(people: _People, rng: np.random.Generator) -> npt.NDArray[np.object_]:
    """A department of the person's true function for some persons, None for the rest."""
    key = people.function * len(LANGUAGES) + people.title_language
    names = department_pool().sample(key, rng)
    departments = np.full(len(key), None, dtype=object)
    kept = rng.random(len(key)) < _DEPARTMENT_SHARE
    departments[kept] = names[kept]
    return departments


def _object_frame(columns: dict[str, npt.NDArray[np.object_]]) -> pd.DataFrame:
    """DataFrame of object columns: Python str or None in pandas 2 and 3 alike."""
    return pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in columns.items()})


def generate_persons(
    accounts: GeneratedAccounts, n_persons: int, rng: np.random.Generator
) -> GeneratedPersons:
    """Draw `n_persons` persons (at least one per account), ordered by account and id."""
    people = _people(accounts, n_persons, rng)
    first, last = _names(people, rng)
    ids = np.array([f"PER-{i:07d}" for i in range(1, n_persons + 1)], dtype=object)
    taxonomy, country_codes = load_taxonomy(), np.array(countries(), dtype=object)
    persons = _object_frame(
        {
            "external_id": ids,
            "account_external_id": accounts.frame["external_id"].to_numpy()[people.account],
            "first_name": first,
            "last_name": last,
            "email": _emails(people, first, last, accounts.domains, rng),
            "job_title": _job_titles(people, accounts, rng),
            "department": _departments(people, rng),
            "country": country_codes[people.country],
            "phone": _phones(people.country, rng),
        }
    )
    truth = _object_frame(
        {
            "person_external_id": ids,
            "function": np.array(taxonomy.functions, dtype=object)[people.function],
            "seniority": np.array(taxonomy.seniorities, dtype=object)[people.seniority],
            "language": np.array(LANGUAGES, dtype=object)[people.title_language],
        }
    )
    return GeneratedPersons(persons=persons, truth=truth)
