"""Compose clean job titles from the per-language vocabulary in `titles.yaml`.

Titles are built once per (function, seniority, language, grammatical form) by filling the
seniority's patterns with the function's units, roles, stems and chief titles, plus a few
whole "special" titles (mostly the tricky ones). The result is a `GroupedChoices` pool, so the
generator draws a title for a million persons with two array look-ups.
"""

from __future__ import annotations

import re
import string
from functools import cache
from itertools import product
from typing import Any

import numpy as np
import numpy.typing as npt

from buying_groups_demo.grouped_choices import GroupedChoices
from buying_groups_demo.vocabulary import Taxonomy, load_demo_vocabulary, load_taxonomy

LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "nl")
# Grammatical forms of a title: "Leiter", "Leiterin", "Leiter*in".
FORMS: tuple[str, ...] = ("masculine", "feminine", "inclusive")
MASCULINE, FEMININE, INCLUSIVE = 0, 1, 2
# Specials are single titles among dozens of composed ones; without extra weight the tricky
# cases would almost never show up in the small demo.
SPECIAL_WEIGHT = 4

_GENDER_MARK = re.compile(r"<([^<>|]*)\|([^<>|]*)>")
# How each language writes both forms of a suffix at once ("Leiter*in", "Directeur·rice" is
# rarer in CRMs than "Commercial(e)").
_INCLUSIVE_SUFFIX_FORMATS = {"de": ("*{}", ":{}", "({})", "/-{}"), "fr": ("({})", "·{}", ".{}")}
_PLACEHOLDERS = {"unit": "units", "role": "roles", "stem": "stems", "chief": "chiefs"}


class DemoVocabularyError(ValueError):
    """The demo title vocabulary names a label that is not in the taxonomy."""


def gendered(text: str, form: int, spelling: int = 0, language: str = "de") -> str:
    """Resolve every `<masculine|feminine>` marker of `text` to one grammatical form.

    Args:
        text: a vocabulary string such as "Leiter<|in> {unit}".
        form: MASCULINE, FEMININE or INCLUSIVE.
        spelling: picks one of the language's inclusive spellings ("*in", ":in", "(in)", ...).
        language: whose inclusive spellings to use.
    """

    def pick(match: re.Match[str]) -> str:
        masculine, feminine = match.group(1), match.group(2)
        if form == MASCULINE:
            return masculine
        if form == FEMININE:
            return feminine
        return _inclusive(masculine, feminine, spelling, language)

    return _GENDER_MARK.sub(pick, text)


def _inclusive(masculine: str, feminine: str, spelling: int, language: str) -> str:
    """Write both forms at once, the way German and French inclusive titles do."""
    if masculine and feminine:
        return f"{masculine}/{feminine}"
    formats = _INCLUSIVE_SUFFIX_FORMATS.get(language, ("({})",))
    suffix_format = formats[spelling % len(formats)]
    return suffix_format.format(masculine or feminine)


def _fill(pattern: str, fillers: dict[str, list[str]]) -> list[str]:
    """Every title a pattern yields; none when the function lacks one of its placeholders."""
    names = [field for _, field, _, _ in string.Formatter().parse(pattern) if field]
    if not all(fillers.get(_PLACEHOLDERS[name]) for name in names):
        return []
    choices = product(*(fillers[_PLACEHOLDERS[name]] for name in names))
    return [pattern.format(**dict(zip(names, combo, strict=True))) for combo in choices]


def clean_titles(language: str, function: str, seniority: str) -> list[str]:
    """All unresolved titles (gender markers kept) for one language, function and seniority."""
    vocabulary = load_demo_vocabulary("titles")["languages"][language]
    fillers = vocabulary["functions"][function]
    titles = [t for p in vocabulary["patterns"][seniority] for t in _fill(p, fillers)]
    specials = [t for f, s, t in vocabulary["specials"] if (f, s) == (function, seniority)]
    return titles + specials * SPECIAL_WEIGHT


def _check_labels(taxonomy: Taxonomy) -> None:
    """Fail early when the vocabulary uses a function or seniority the taxonomy lacks."""
    for language, vocabulary in load_demo_vocabulary("titles")["languages"].items():
        used = set(vocabulary["functions"]) | {f for f, _, _ in vocabulary["specials"]}
        used_seniorities = set(vocabulary["patterns"]) | {s for _, s, _ in vocabulary["specials"]}
        unknown = (used - set(taxonomy.functions)) | (used_seniorities - set(taxonomy.seniorities))
        if unknown:
            raise DemoVocabularyError(f"{language}: labels not in taxonomy: {sorted(unknown)}")


def title_key(
    function: npt.NDArray[np.int64],
    seniority: npt.NDArray[np.int64],
    language: npt.NDArray[np.int64],
    form: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Key of the title pool group for arrays of taxonomy, language and form indices."""
    n_seniorities = len(load_taxonomy().seniorities)
    return ((function * n_seniorities + seniority) * len(LANGUAGES) + language) * len(FORMS) + form


@cache
def title_pool() -> GroupedChoices:
    """Every title per (function, seniority, language, form) group, keyed by `title_key`."""
    taxonomy = load_taxonomy()
    _check_labels(taxonomy)
    groups: list[list[str]] = []
    for function in taxonomy.functions:
        for seniority in taxonomy.seniorities:
            for language in LANGUAGES:
                titles = clean_titles(language, function, seniority)
                for form in range(len(FORMS)):
                    groups.append([gendered(t, form, i, language) for i, t in enumerate(titles)])
    return GroupedChoices.from_groups(groups)


@cache
def department_pool() -> GroupedChoices:
    """Department names per (function, language) group, key `function * 4 + language`."""
    titles: dict[str, Any] = load_demo_vocabulary("titles")["languages"]
    groups = [
        [gendered(unit, MASCULINE) for unit in titles[language]["functions"][function]["units"]]
        for function in load_taxonomy().functions
        for language in LANGUAGES
    ]
    return GroupedChoices.from_groups(groups)
