"""The regex guard of ``matches``: structural checks and compilation on RE2."""

from __future__ import annotations

import re
from collections.abc import Iterator
from re import _parser as sre_parser  # type: ignore[attr-defined]
from types import MappingProxyType
from typing import Any, Final, Protocol

import re2

from buying_groups.domain.conditions.text_folding import _strip_accents

MAX_REGEX_LENGTH: Final = 200
# More than two unbounded quantifiers make backtracking polynomial of degree >= 3:
# ".*.*.*x" takes seconds on 500 characters.
MAX_UNBOUNDED_QUANTIFIERS: Final = 2
# A bounded quantifier this large backtracks like an unbounded one.
LARGE_REPEAT: Final = 50


# RE2 matches in time linear in the text, whatever the pattern: a bounded quantifier such as
# "[a-z]{0,50}" four times over took Python's backtracking engine 43 s on a 300-character
# title. Its program size is capped, so a pattern cannot claim much memory either.
_RE2_OPTIONS: Final = re2.Options()
_RE2_OPTIONS.case_sensitive = False
_RE2_OPTIONS.log_errors = False
_RE2_OPTIONS.max_mem = 8 << 20


class CompiledPattern(Protocol):
    """What the matcher needs of a compiled pattern."""

    def search(self, text: str) -> object | None:
        """A match anywhere in ``text``, or None."""
        ...


def compile_pattern(pattern: str) -> CompiledPattern:
    """Compile a ``matches`` pattern (RE2, case-insensitive) for use on folded text.

    Raises:
        re2.error: the pattern is not valid RE2 syntax or too large a program.
    """
    compiled: CompiledPattern = re2.compile(_strip_accents(pattern), _RE2_OPTIONS)
    return compiled


# --------------------------------------------------------------------------- regex safety


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not allowed in ``matches``, or None if it may be used.

    Matching runs on RE2 (linear time), so no pattern can stall a request; the structural
    checks below still refuse what backtracks on Python's engine (and RE2 lacks anyway:
    backreferences, lookarounds) with a reason a template author can act on.
    """
    if len(pattern) > MAX_REGEX_LENGTH:
        return f"regex too long ({len(pattern)} > {MAX_REGEX_LENGTH})"
    try:
        parsed = sre_parser.parse(_strip_accents(pattern))
    except (re.error, RecursionError, OverflowError) as exc:
        return f"regex does not compile ({exc})"
    problems = list(_structure_problems(parsed, under_repeat=False))
    unbounded = sum(1 for p in problems if p is None)
    problems = [p for p in problems if p is not None]
    if not problems and unbounded > MAX_UNBOUNDED_QUANTIFIERS:
        problems.append(
            f"regex has too many unbounded quantifiers ({unbounded} > {MAX_UNBOUNDED_QUANTIFIERS})"
        )
    if problems:
        return problems[0]
    try:
        compile_pattern(pattern)
    except re2.error as exc:
        return f"regex is not supported ({_re2_reason(exc)})"
    return None


def _re2_reason(exc: Exception) -> str:
    """RE2's message, as text (it raises bytes)."""
    reason = exc.args[0] if exc.args else exc
    return reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)


_REPEATS: Final = frozenset(
    {sre_parser.MAX_REPEAT, sre_parser.MIN_REPEAT, sre_parser.POSSESSIVE_REPEAT}
)
_FORBIDDEN: Final = MappingProxyType(
    {
        sre_parser.GROUPREF: "regex backreferences are not allowed",
        sre_parser.GROUPREF_EXISTS: "regex conditional groups are not allowed",
        sre_parser.ASSERT: "regex lookarounds are not allowed",
        sre_parser.ASSERT_NOT: "regex lookarounds are not allowed",
    }
)


def _structure_problems(parsed: Any, *, under_repeat: bool) -> Iterator[str | None]:
    """Yield a reason per dangerous construct, and None per unbounded quantifier.

    Backtracking blows up on nested quantifiers (``(a+)+``) and on alternation under an
    unbounded quantifier (``(a|a)*``); backreferences and lookarounds are refused outright.
    """
    for op, arg in parsed:
        if op in _FORBIDDEN:
            yield _FORBIDDEN[op]
        elif op in _REPEATS:
            yield from _repeat_problems(arg, under_repeat=under_repeat)
        else:
            for child in _subpatterns(op, arg):
                yield from _structure_problems(child, under_repeat=under_repeat)


def _repeat_problems(arg: Any, *, under_repeat: bool) -> Iterator[str | None]:
    """Problems of one quantifier ``(min, max, body)``."""
    _, high, body = arg
    repeats = high > 1
    unbounded = high == sre_parser.MAXREPEAT or high > LARGE_REPEAT
    if repeats and under_repeat:
        yield "regex nested quantifiers are not allowed"
        return
    if unbounded:
        if not _only_whitespace(body):
            # Folded text has single spaces, so "\s+" cannot compete with other quantifiers.
            yield None
        if any(op == sre_parser.BRANCH for op, _ in _flatten(body)):
            yield "regex alternation under an unbounded quantifier is not allowed"
            return
    yield from _structure_problems(body, under_repeat=under_repeat or repeats)


def _only_whitespace(body: Any) -> bool:
    """Whether a quantifier's body matches nothing but whitespace (``\\s``, a space)."""
    space = (sre_parser.CATEGORY, sre_parser.CATEGORY_SPACE)
    return all(
        (op == sre_parser.LITERAL and chr(arg).isspace())
        or (op == sre_parser.IN and all(item == space for item in arg))
        for op, arg in body
    )


def _subpatterns(op: Any, arg: Any) -> list[Any]:
    """The sub-patterns nested in one parsed item (groups, atomic groups, branches)."""
    if op == sre_parser.SUBPATTERN:
        return [arg[3]]
    if op == sre_parser.ATOMIC_GROUP:
        return [arg]
    if op == sre_parser.BRANCH:
        return list(arg[1])
    return []


def _flatten(parsed: Any) -> Iterator[tuple[Any, Any]]:
    """Every parsed item, depth first, through groups and branches."""
    for op, arg in parsed:
        yield op, arg
        nested = [arg[2]] if op in _REPEATS else _subpatterns(op, arg)
        for child in nested:
            yield from _flatten(child)
