"""Make clean demo titles look like a real CRM's: random case, typos, taglines, years, company.

Each person gets at most one kind of noise. Noise that does not depend on the person (case,
typo, year, tagline, spacing) is computed once per distinct (title, kind, variant) and shared,
so a million titles need only a few ten thousand string operations; only the "@ Company" kind
is built per person.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from buying_groups_demo.titles import LANGUAGES
from buying_groups_demo.vocabulary import load_demo_vocabulary

NOISE_KINDS: tuple[str, ...] = (
    "none", "lower", "upper", "typo", "year", "tagline", "company", "spacing",
)  # fmt: skip
# About a third of CRM titles carry some noise; typos stay a small share on purpose.
NOISE_SHARES: tuple[float, ...] = (0.68, 0.08, 0.03, 0.04, 0.03, 0.04, 0.06, 0.04)
_COMPANY = NOISE_KINDS.index("company")
# Distinct random variants per (title, kind): enough variety without one string per person.
_VARIANTS = 4


def add_title_noise(
    title_index: npt.NDArray[np.int64],
    pool: npt.NDArray[np.object_],
    languages: npt.NDArray[np.int64],
    companies: npt.NDArray[np.object_],
    rng: np.random.Generator,
) -> npt.NDArray[np.object_]:
    """Return one title per person, about a third of them with one kind of noise.

    Args:
        title_index: index into `pool` of each person's clean title.
        pool: the distinct clean titles.
        languages: index into LANGUAGES per person (picks "@", "bei", "chez", "bij").
        companies: short company name per person, for "Director IT @ Acme".
        rng: the random generator to draw from.
    """
    kinds = rng.choice(len(NOISE_KINDS), size=len(title_index), p=NOISE_SHARES)
    noisy = pool[title_index]
    shared = (kinds != 0) & (kinds != _COMPANY)
    noisy[shared] = _shared_noise(title_index[shared], kinds[shared], pool, rng)
    at_company = np.flatnonzero(kinds == _COMPANY)
    noisy[at_company] = _company_noise(
        noisy[at_company], languages[at_company], companies[at_company], rng
    )
    return noisy


def _shared_noise(
    title_index: npt.NDArray[np.int64],
    kinds: npt.NDArray[np.int64],
    pool: npt.NDArray[np.object_],
    rng: np.random.Generator,
) -> npt.NDArray[np.object_]:
    """Apply person-independent noise once per distinct (title, kind, variant)."""
    variants = rng.integers(0, _VARIANTS, size=len(title_index))
    keys = (title_index * len(NOISE_KINDS) + kinds) * _VARIANTS + variants
    unique_keys, inverse = np.unique(keys, return_inverse=True)
    distinct = np.empty(len(unique_keys), dtype=object)
    n_per_title = len(NOISE_KINDS) * _VARIANTS
    distinct[:] = [
        _noisy(pool[key // n_per_title], int(key // _VARIANTS % len(NOISE_KINDS)), rng)
        for key in unique_keys
    ]
    result: npt.NDArray[np.object_] = distinct[inverse]
    return result


def _noisy(title: str, kind: int, rng: np.random.Generator) -> str:
    """One noisy spelling of `title` for a person-independent noise kind."""
    name = NOISE_KINDS[kind]
    if name == "lower":
        return title.lower()
    if name == "upper":
        return title.upper()
    if name == "typo":
        return with_typo(title, rng)
    if name in ("year", "tagline"):
        # Plain integer draws: rng.choice on a list costs ~10x more per call.
        suffixes = load_demo_vocabulary("titles")["noise"][f"{name}s"]
        return f"{title} {suffixes[int(rng.integers(len(suffixes)))]}"
    return _respaced(title, rng)


def with_typo(title: str, rng: np.random.Generator) -> str:
    """Swap two neighbouring letters or drop one, inside a word of at least four letters."""
    words = title.split(" ")
    candidates = [i for i, word in enumerate(words) if len(word) >= 4 and word.isalpha()]
    if not candidates:
        return title
    index = candidates[int(rng.integers(len(candidates)))]
    word = words[index]
    at = int(rng.integers(1, len(word) - 2))
    if rng.random() < 0.5 and word[at] != word[at + 1]:
        words[index] = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    else:
        words[index] = word[:at] + word[at + 1 :]
    return " ".join(words)


def _respaced(title: str, rng: np.random.Generator) -> str:
    """Sloppy typing: doubled or stray spaces, a trailing comma, random case."""
    choice = int(rng.integers(4))
    if choice == 0:
        return title.replace(" ", "  ", 1)
    if choice == 1:
        return f" {title} "
    if choice == 2:
        return f"{title},"
    return title.swapcase()


def _company_noise(
    titles: npt.NDArray[np.object_],
    languages: npt.NDArray[np.int64],
    companies: npt.NDArray[np.object_],
    rng: np.random.Generator,
) -> list[str]:
    """Append the employer the way people do on profiles: "Director IT @ Acme"."""
    connectors = load_demo_vocabulary("titles")["noise"]["company_connectors"]
    per_language = [connectors[language] for language in LANGUAGES]
    picks = rng.random(len(titles))
    return [
        f"{title}{per_language[lang][int(pick * len(per_language[lang]))]}{company}"
        for title, lang, pick, company in zip(titles, languages, picks, companies, strict=True)
    ]
