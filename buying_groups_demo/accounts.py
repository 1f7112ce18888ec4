"""Synthetic demo accounts: made-up companies with divisions, industries and products owned.

Layout of the hierarchy, in "logical" order before ids are shuffled: parent companies first,
then their divisions (level 1), then divisions of divisions (level 2), then standalone
companies. A child always points to an earlier row, so no cycle can form.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from buying_groups_demo.grouped_choices import GroupedChoices
from buying_groups_demo.vocabulary import load_demo_vocabulary

ACCOUNT_COLUMNS: tuple[str, ...] = (
    "external_id", "name", "domain", "industry", "employees", "revenue", "country",
    "products_owned", "parent_external_id",
)  # fmt: skip
# Shares of accounts that head a group, are a division, or a division of a division.
_PARENT_SHARE, _DIVISION_SHARE, _SUBDIVISION_SHARE = 0.08, 0.15, 0.05
# Half the divisions sit in their parent's country, the rest abroad.
_SAME_COUNTRY_SHARE = 0.5
_ASCII_FOLDS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ı": "i"})


@dataclass(frozen=True)
class GeneratedAccounts:
    """The accounts table plus per-account arrays (in table order) the persons need."""

    frame: pd.DataFrame
    short_names: npt.NDArray[np.object_]
    country_index: npt.NDArray[np.int64]
    domains: npt.NDArray[np.object_]


@dataclass(frozen=True)
class _Hierarchy:
    """Parent (logical index, -1 for none) and level (0, 1, 2) of every account."""

    parent: npt.NDArray[np.int64]
    level: npt.NDArray[np.int64]


def slug(text: str) -> str:
    """Lower-case ASCII letters, digits and dashes: "Société Générale" -> "societegenerale"."""
    folded = unicodedata.normalize("NFKD", text.lower().translate(_ASCII_FOLDS))
    return re.sub(r"[^a-z0-9-]", "", folded.encode("ascii", "ignore").decode())


@cache
def countries() -> tuple[str, ...]:
    """ISO-2 codes of the demo countries, in vocabulary order."""
    return tuple(load_demo_vocabulary("companies")["countries"])


def country_weights() -> npt.NDArray[np.float64]:
    """Probability of each country in `countries()`."""
    spec = load_demo_vocabulary("companies")["countries"]
    weights = np.array([spec[code]["weight"] for code in countries()], dtype=float)
    return weights / weights.sum()


def _hierarchy(n_accounts: int, rng: np.random.Generator) -> _Hierarchy:
    """Pick which accounts are parents, divisions and sub-divisions (at least one of each)."""
    n_parents = max(1, round(_PARENT_SHARE * n_accounts))
    n_divisions = max(2, round(_DIVISION_SHARE * n_accounts))
    n_subdivisions = max(1, round(_SUBDIVISION_SHARE * n_accounts))
    parent = np.full(n_accounts, -1, dtype=np.int64)
    level = np.zeros(n_accounts, dtype=np.int64)
    divisions = slice(n_parents, n_parents + n_divisions)
    subdivisions = slice(divisions.stop, divisions.stop + n_subdivisions)
    parent[divisions] = rng.integers(0, n_parents, n_divisions)
    parent[subdivisions] = n_parents + rng.integers(0, n_divisions, n_subdivisions)
    level[divisions], level[subdivisions] = 1, 2
    return _Hierarchy(parent=parent, level=level)


def _inherit(values: npt.NDArray[Any], hierarchy: _Hierarchy) -> npt.NDArray[Any]:
    """Copy each parent's value to its children, level by level (parents come first)."""
    inherited = values.copy()
    for level in (1, 2):
        children = np.flatnonzero(hierarchy.level == level)
        inherited[children] = inherited[hierarchy.parent[children]]
    return inherited


def _countries(hierarchy: _Hierarchy, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Country index per account; divisions often in their parent's country."""
    drawn = rng.choice(len(countries()), size=len(hierarchy.level), p=country_weights())
    own = np.where(rng.random(len(drawn)) < _SAME_COUNTRY_SHARE, -1, drawn)
    own[hierarchy.level == 0] = drawn[hierarchy.level == 0]
    country = own.copy()
    for level in (1, 2):
        children = np.flatnonzero((hierarchy.level == level) & (own < 0))
        country[children] = country[hierarchy.parent[children]]
    return country


def _short_names(
    industry: npt.NDArray[np.int64], rng: np.random.Generator
) -> npt.NDArray[np.object_]:
    """Made-up brand + industry word per account: "Nordtec Logistics", "Alpenia Pharma"."""
    vocabulary = load_demo_vocabulary("companies")
    prefixes = np.array(vocabulary["name_prefixes"], dtype=object)
    endings = np.array(vocabulary["name_endings"], dtype=object)
    cores = GroupedChoices.from_groups(list(vocabulary["industries"].values()))
    brand = (
        prefixes[rng.integers(0, len(prefixes), len(industry))]
        + endings[rng.integers(0, len(endings), len(industry))]
    )
    names: npt.NDArray[np.object_] = brand + " " + cores.sample(industry, rng)
    return names


def _country_column(key: str, country: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
    """Look up a per-country vocabulary field ("label", "tld", ...) for every account."""
    spec = load_demo_vocabulary("companies")["countries"]
    values = np.array([spec[code][key] for code in countries()], dtype=object)
    looked_up: npt.NDArray[np.object_] = values[country]
    return looked_up


def _qualifiers(
    country: npt.NDArray[np.int64], hierarchy: _Hierarchy, rng: np.random.Generator
) -> npt.NDArray[np.object_]:
    """What sets a division apart from its parent: " Deutschland", " Healthcare France"."""
    units = np.array(load_demo_vocabulary("companies")["division_units"], dtype=object)
    labels = _country_column("label", country)
    unit = units[rng.integers(0, len(units), len(country))]
    sub_qualifier = " " + unit + " " + labels
    qualifier: npt.NDArray[np.object_] = np.where(
        hierarchy.level == 0, "", np.where(hierarchy.level == 1, " " + labels, sub_qualifier)
    )
    return qualifier


def _names(
    short_names: npt.NDArray[np.object_],
    qualifiers: npt.NDArray[np.object_],
    country: npt.NDArray[np.int64],
    rng: np.random.Generator,
) -> npt.NDArray[np.object_]:
    """Full legal name: short name, division qualifier and a legal form of the country."""
    spec = load_demo_vocabulary("companies")["countries"]
    legal_forms = GroupedChoices.from_groups([spec[code]["legal_forms"] for code in countries()])
    names: npt.NDArray[np.object_] = (
        short_names + qualifiers + " " + legal_forms.sample(country, rng)
    )
    return names


def _domains(
    short_names: npt.NDArray[np.object_],
    qualifiers: npt.NDArray[np.object_],
    country: npt.NDArray[np.int64],
) -> npt.NDArray[np.object_]:
    """Unique web domain per account; a number tells apart companies with the same name."""
    # Dashes keep "Healthcare France" readable in the domain: "acme-healthcare-france.fr".
    slugs = {text: slug(text.strip().replace(" ", "-")) for text in set(qualifiers)}
    slugs.update({text: slug(text) for text in set(short_names)})
    stems = pd.Series(
        [slugs[s] + ("-" + slugs[q] if q else "") for s, q in
         zip(short_names, qualifiers, strict=True)],
        dtype=object,
    )  # fmt: skip
    tlds = "." + pd.Series(_country_column("tld", country), dtype=object)
    domains = stems + tlds
    repeat = domains.groupby(domains).cumcount()
    numbered = stems + (repeat + 1).astype(str) + tlds
    unique: npt.NDArray[np.object_] = np.where(repeat > 0, numbered, domains).astype(object)
    return unique


def _employees(hierarchy: _Hierarchy, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Log-normal company size; a division holds 5-50 % of its parent's staff."""
    size = np.exp(rng.normal(5.3, 1.7, len(hierarchy.level))).clip(5, 400_000)
    share = rng.uniform(0.05, 0.5, len(size))
    for level in (1, 2):
        children = np.flatnonzero(hierarchy.level == level)
        size[children] = size[hierarchy.parent[children]] * share[children]
    return np.maximum(size, 5).round().astype(np.int64)


def _revenue(employees: npt.NDArray[np.int64], rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """Revenue in USD, rounded to thousands: about 180k per employee, widely spread."""
    per_employee = np.exp(rng.normal(np.log(180_000), 0.6, len(employees)))
    revenue: npt.NDArray[np.float64] = np.round(employees * per_employee, -3)
    return revenue


def _products_owned(n_accounts: int, rng: np.random.Generator) -> list[list[str]]:
    """Products of the catalogue each account owns (a fresh list per account)."""
    catalogue: dict[str, float] = load_demo_vocabulary("companies")["products"]
    names = list(catalogue)
    owned = rng.random((n_accounts, len(names))) < np.array(list(catalogue.values()))
    masks = owned @ (1 << np.arange(len(names)))
    # At most 2**len(names) distinct combinations: build each once, copy per account.
    combos = {m: tuple(n for j, n in enumerate(names) if m >> j & 1) for m in set(masks.tolist())}
    return [list(combos[m]) for m in masks.tolist()]


def _as_object_array(lists: list[list[str]]) -> npt.NDArray[np.object_]:
    """A 1-d object array holding the lists themselves (np.array would make it 2-d)."""
    array = np.empty(len(lists), dtype=object)
    array[:] = lists
    return array


def generate_accounts(n_accounts: int, rng: np.random.Generator) -> GeneratedAccounts:
    """Draw `n_accounts` accounts, sorted by external id (parents not necessarily first)."""
    hierarchy = _hierarchy(n_accounts, rng)
    industries = np.array(list(load_demo_vocabulary("companies")["industries"]), dtype=object)
    industry = _inherit(rng.integers(0, len(industries), n_accounts), hierarchy)
    short_names = _inherit(_short_names(industry, rng), hierarchy)
    country = _countries(hierarchy, rng)
    qualifiers = _qualifiers(country, hierarchy, rng)
    employees = _employees(hierarchy, rng)
    ids = np.array([f"ACC-{i + 1:06d}" for i in rng.permutation(n_accounts)], dtype=object)
    parent_ids = np.full(n_accounts, None, dtype=object)
    children = np.flatnonzero(hierarchy.parent >= 0)
    parent_ids[children] = ids[hierarchy.parent[children]]
    order = np.argsort(ids)
    columns = {
        "external_id": ids,
        "name": _names(short_names, qualifiers, country, rng),
        "domain": _domains(short_names, qualifiers, country),
        "industry": industries[industry],
        "employees": employees,
        "revenue": _revenue(employees, rng),
        "country": np.array(countries(), dtype=object)[country],
        "products_owned": _as_object_array(_products_owned(n_accounts, rng)),
        "parent_external_id": parent_ids,
    }
    frame = pd.DataFrame(
        {name: pd.Series(values[order], dtype=values.dtype) for name, values in columns.items()}
    )
    return GeneratedAccounts(
        frame=frame,
        short_names=short_names[order],
        country_index=country[order],
        domains=columns["domain"][order],
    )
