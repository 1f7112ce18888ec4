"""Job-title normalisation: case, accents, noise, abbreviations and gendered forms.

Everything language-specific lives in CSV tables under ``buying_groups/data/`` so that a new
abbreviation or gendered form is a data change, not a code change:

- ``title_noise_patterns.csv``: ordered regular expressions applied to the raw title (gender
  markers such as "(m/w/d)" or "Leiter*in", "@ Company" and "| ..." tails, dates);
- ``title_abbreviations.csv``: language, abbreviation, expansion (matched on whole tokens);
- ``title_gendered_forms.csv``: language, form, base (whole tokens; an identity row protects a
  word from the suffix rules);
- ``title_gendered_suffixes.csv``: language, suffix, replacement, min_length;
- ``title_language_cues.csv``: language, word; only used to settle abbreviations that mean
  different things in different languages ("Dir." is director, Direktor or directeur).

Two outputs share one pipeline: :func:`normalise_title` folds accents (for matching, hashing
and TF-IDF features), :func:`clean_title` keeps them, because multilingual embedders read
"Geschäftsführer" better than "geschaeftsfuehrer".
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

__all__ = [
    "TitleNormaliser",
    "TitleTablesError",
    "clean_title",
    "fold_accents",
    "normalise_title",
]

_DATA_PACKAGE = "buying_groups"
_DATA_DIR = "data"
# Chunk separators: whitespace and punctuation that never sits inside an abbreviation.
_CHUNK_RE = re.compile(r"[^\s,;/|()\[\]{}\"“”„«»:!?*+<>=~^]+")
# Inside a chunk, anything but letters, digits and "&" (R&D, P&L) separates tokens.
_TOKEN_SPLIT_RE = re.compile(r"[^\w&]+|_")
# Zero-width joiner and variation selectors glue emoji sequences together.
_INVISIBLE = {"\u200d", "\ufe0e", "\ufe0f"}
_DROPPED_CATEGORIES = {"So", "Sk", "Cs", "Co", "Cn", "Cc", "Cf"}
# Letters that NFKD does not decompose into a base letter plus a mark.
_SPECIAL_FOLDS = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th"}
)
_GERMAN_UMLAUTS = {"ä": "ae", "ö": "oe", "ü": "ue"}
_VOWELS = set("aeiouy")
_CACHE_SIZE = 200_000


class TitleTablesError(ValueError):
    """A normalisation table is missing a column or holds an invalid pattern."""


@dataclass(frozen=True)
class _NoisePattern:
    name: str
    regex: re.Pattern[str]
    replacement: str


@dataclass(frozen=True)
class _SuffixRule:
    suffix: str
    replacement: str
    min_length: int


def fold_accents(text: str) -> str:
    """Fold accents to ASCII-like letters, writing German umlauts as digraphs.

    "ä" after a consonant becomes "ae" (Geschäftsführer -> geschaeftsfuehrer, the usual spelling
    when umlauts are unavailable); after a vowel it is a Dutch/French diaeresis and only loses
    its dots (coördinator -> coordinator).

    Args:
        text: lower-case text.

    Returns:
        The text without combining marks.
    """
    chars: list[str] = []
    previous = ""
    for char in text.translate(_SPECIAL_FOLDS):
        if char in _GERMAN_UMLAUTS and previous not in _VOWELS:
            chars.append(_GERMAN_UMLAUTS[char])
        else:
            chars.append(char)
        previous = char
    decomposed = unicodedata.normalize("NFD", "".join(chars))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _strip_symbols(text: str) -> str:
    """Drop emojis, pictographs and control characters, keeping letters and punctuation."""
    return "".join(
        " " if unicodedata.category(c) in _DROPPED_CATEGORIES or c in _INVISIBLE else c
        for c in text
    )


def _read_table(directory: Path | None, name: str, columns: Sequence[str]) -> list[dict[str, str]]:
    """Read one CSV table from ``directory`` or from the package data.

    Raises:
        TitleTablesError: when a column is missing.
    """
    if directory is None:
        text = resources.files(_DATA_PACKAGE).joinpath(_DATA_DIR, name).read_text("utf-8")
    else:
        text = (directory / name).read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    missing = set(columns) - set(rows[0] if rows else columns)
    if missing:
        raise TitleTablesError(f"{name} lacks columns {sorted(missing)}")
    return rows


def _compile_noise(rows: Iterable[dict[str, str]]) -> tuple[_NoisePattern, ...]:
    """Compile the noise table in file order (order matters: gender markers before tails)."""
    patterns = []
    for row in rows:
        flags = re.IGNORECASE if row["ignore_case"].strip().lower() == "true" else 0
        try:
            regex = re.compile(row["pattern"], flags)
        except re.error as exc:
            raise TitleTablesError(f"noise pattern {row['name']!r}: {exc}") from exc
        patterns.append(_NoisePattern(row["name"], regex, row["replacement"]))
    return tuple(patterns)


class TitleNormaliser:
    """Table-driven job-title normaliser with a per-instance cache.

    Args:
        languages: languages whose tables are used, in priority order (the first wins when an
            abbreviation is ambiguous and the title gives no language cue).
        expand_abbreviations: replace abbreviations such as "VP", "GF" or "DG".
        fold_gender: map gendered forms to one base form (Leiterin -> leiter).
        tables_dir: directory holding the CSV tables; ``None`` uses the packaged ones.
    """

    def __init__(
        self,
        languages: Sequence[str] = ("en", "de", "fr", "nl"),
        expand_abbreviations: bool = True,
        fold_gender: bool = True,
        tables_dir: str | Path | None = None,
    ) -> None:
        self.languages = tuple(languages)
        self.expand_abbreviations = expand_abbreviations
        self.fold_gender = fold_gender
        self.tables_dir = None if tables_dir is None else Path(tables_dir)
        self._load_tables()
        self._cache: dict[tuple[str, bool], str] = {}

    def _load_tables(self) -> None:
        """Load and index the CSV tables for the configured languages."""
        directory = self.tables_dir
        self._noise = _compile_noise(
            _read_table(directory, "title_noise_patterns.csv", ("name", "pattern", "replacement"))
        )
        self._abbreviations = self._index_abbreviations(
            _read_table(directory, "title_abbreviations.csv", ("language", "abbreviation"))
        )
        self._gendered = {
            fold_accents(row["form"]): row["base"]
            for row in _read_table(directory, "title_gendered_forms.csv", ("language", "form"))
            if row["language"] in self.languages
        }
        self._suffixes = tuple(
            _SuffixRule(row["suffix"], row["replacement"], int(row["min_length"]))
            for row in _read_table(directory, "title_gendered_suffixes.csv", ("suffix",))
            if row["language"] in self.languages
        )
        self._cues = {
            fold_accents(row["word"]): row["language"]
            for row in _read_table(directory, "title_language_cues.csv", ("language", "word"))
            if row["language"] in self.languages
        }

    def _index_abbreviations(self, rows: Iterable[dict[str, str]]) -> dict[str, dict[str, str]]:
        """Index expansions by folded abbreviation, then language, in priority order."""
        index: dict[str, dict[str, str]] = {}
        ranked = sorted(
            (row for row in rows if row["language"] in self.languages),
            key=lambda row: self.languages.index(row["language"]),
        )
        for row in ranked:
            key = fold_accents(row["abbreviation"].strip().lower())
            index.setdefault(key, {}).setdefault(row["language"], row["expansion"].lower())
        return index

    def __getstate__(self) -> dict[str, object]:
        """Pickle only the parameters; compiled tables are rebuilt on load."""
        return {
            "languages": self.languages,
            "expand_abbreviations": self.expand_abbreviations,
            "fold_gender": self.fold_gender,
            "tables_dir": self.tables_dir,
        }

    def __setstate__(self, state: dict[str, object]) -> None:
        """Restore parameters and rebuild the tables."""
        self.__dict__.update(state)
        self._load_tables()
        self._cache = {}

    def __call__(self, title: str) -> str:
        """Normalise a title with accents folded (see :meth:`normalise`)."""
        return self.normalise(title)

    def normalise(self, title: str, keep_accents: bool = False) -> str:
        """Normalise one job title.

        Args:
            title: the raw title, as typed in a CRM or on a CV.
            keep_accents: keep accented letters (for embedders) instead of folding them.

        Returns:
            Lower-case words separated by single spaces; "" for an empty or noise-only title.
        """
        key = (title, keep_accents)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._normalise_uncached(title, keep_accents)
            if len(self._cache) >= _CACHE_SIZE:
                # Crude but bounded: titles repeat within a batch, rarely across batches.
                self._cache.clear()
            self._cache[key] = cached
        return cached

    def _normalise_uncached(self, title: str, keep_accents: bool) -> str:
        """Run the full pipeline without the cache."""
        # NFKC: ligatures, full-width and other compatibility forms become plain letters.
        text = unicodedata.normalize("NFKC", _strip_symbols(str(title)))
        for pattern in self._noise:
            text = pattern.regex.sub(pattern.replacement, text)
        text = text.lower()
        chunks = _CHUNK_RE.findall(text)
        language = self._guess_language(chunks)
        words = [word for chunk in chunks for word in self._chunk_words(chunk, language)]
        result = " ".join(words)
        return result if keep_accents else fold_accents(result)

    def _guess_language(self, chunks: Sequence[str]) -> str | None:
        """Guess the title's language from cue words; ``None`` when nothing gives it away."""
        votes = Counter(
            self._cues[word]
            for chunk in chunks
            for word in _TOKEN_SPLIT_RE.split(fold_accents(chunk))
            if word in self._cues
        )
        if not votes:
            return None
        best = max(votes.values())
        # Ties go to the language that comes first in the configured priority.
        return next(lang for lang in self.languages if votes.get(lang) == best)

    def _chunk_words(self, chunk: str, language: str | None) -> list[str]:
        """Turn one punctuation-delimited chunk into normalised words."""
        expanded = self._expand(chunk.strip(".-'’&"), language)
        if expanded is not None:
            return expanded
        words: list[str] = []
        for token in _TOKEN_SPLIT_RE.split(chunk):
            token = token.strip("&")
            if not token:
                continue
            expansion = self._expand(token, language)
            words.extend(expansion if expansion is not None else [self._degender(token)])
        return words

    def _expand(self, token: str, language: str | None) -> list[str] | None:
        """Expand an abbreviation (with or without its dots); ``None`` if it is not one."""
        if not self.expand_abbreviations or not token:
            return None
        folded = fold_accents(token)
        meanings = self._abbreviations.get(folded) or self._abbreviations.get(
            folded.replace(".", "")
        )
        if not meanings:
            return None
        # Dict order is language priority, so the first entry is the default meaning.
        expansion = meanings.get(language or "", next(iter(meanings.values())))
        return expansion.split()

    def _degender(self, token: str) -> str:
        """Map a gendered form to its base form, by table first, then by suffix rule."""
        if not self.fold_gender:
            return token
        base = self._gendered.get(fold_accents(token))
        if base is not None:
            return base
        for rule in self._suffixes:
            if len(token) >= rule.min_length and token.endswith(rule.suffix):
                return token[: -len(rule.suffix)] + rule.replacement
        return token


@lru_cache(maxsize=1)
def _default_normaliser() -> TitleNormaliser:
    """The process-wide normaliser built from the packaged tables."""
    return TitleNormaliser()


@lru_cache(maxsize=_CACHE_SIZE)
def normalise_title(title: str) -> str:
    """Normalise a job title for matching and features (lower case, accents folded).

    Args:
        title: the raw title.

    Returns:
        The normalised title, e.g. "Sr. VP Sales @ Acme" -> "senior vice president sales".
    """
    return _default_normaliser().normalise(title)


@lru_cache(maxsize=_CACHE_SIZE)
def clean_title(title: str) -> str:
    """Normalise a job title but keep accents, for embedders.

    Args:
        title: the raw title.

    Returns:
        The normalised title with accents, e.g. "Geschäftsführerin" -> "geschäftsführer".
    """
    return _default_normaliser().normalise(title, keep_accents=True)
