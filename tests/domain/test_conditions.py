"""The condition language: parsing, validation with JSON paths, matching, evidence."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from buying_groups.domain.conditions import (
    MAX_DEPTH,
    AllCondition,
    AttributeCondition,
    Condition,
    ConditionError,
    PersonFacts,
    compile_condition,
    condition_to_json,
    describe,
    evaluate,
    fold_text,
    parse_condition,
    parse_condition_json,
)
from buying_groups.domain.errors import DomainError, InvariantError


def leaf(attribute: str, operator: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    """A leaf condition as JSON."""
    data: dict[str, Any] = {"attribute": attribute, "operator": operator, **extra}
    if value is not None:
        data["value"] = value
    return data


def title_matches(operator: str, value: Any, title: str | None) -> bool:
    """Whether a job_title leaf matches a person with ``title``."""
    condition = parse_condition(leaf("job_title", operator, value))
    return compile_condition(condition).matches(PersonFacts(job_title=title))


def error_paths(data: Any) -> list[str]:
    """The paths a ConditionError names for ``data``."""
    with pytest.raises(ConditionError) as caught:
        parse_condition(data)
    return [path for path, _ in caught.value.errors]


# ------------------------------------------------------------------ word boundaries


@pytest.mark.parametrize("title", ["Internal Auditor", "International Sales", "Internship lead"])
def test_intern_does_not_match_internal(title: str) -> None:
    assert not title_matches("contains", "intern", title)


@pytest.mark.parametrize("title", ["Marketing Intern", "Intern - Security", "IT (intern)"])
def test_intern_matches_the_word_intern(title: str) -> None:
    assert title_matches("contains", "intern", title)


def test_cto_does_not_match_director() -> None:
    assert not title_matches("contains", "CTO", "Director of Engineering")
    assert title_matches("contains", "CTO", "CTO & Co-founder")


def test_multi_word_value_matches_as_a_phrase() -> None:
    assert title_matches("contains", "vice president", "Senior Vice  President, Sales")
    assert not title_matches("contains", "vice president", "President and Vice Chair")


def test_punctuation_separates_words() -> None:
    assert title_matches("contains", "security", "Head of IT/Security")
    assert title_matches("contains", "c-level", "C Level Executive")


def test_starts_with_and_ends_with_respect_word_boundaries() -> None:
    assert title_matches("starts_with", "head of", "Head of Security")
    assert not title_matches("starts_with", "head", "Headmaster")
    assert title_matches("ends_with", "officer", "Chief Security Officer")
    assert not title_matches("ends_with", "officer", "Chief Security Officers")


# ------------------------------------------------------------------ accents and case


def test_accents_and_case_are_ignored() -> None:
    assert title_matches("contains", "geschaftsfuhrer", "Geschäftsführer")
    assert title_matches("contains", "Geschäftsführer", "GESCHAFTSFUHRER")
    assert title_matches("equals", "directeur general", "Directeur Général")


def test_sharp_s_matches_double_s() -> None:
    assert title_matches("contains", "strasse", "Leiter Straße")
    assert title_matches("contains", "straße", "Leiter Strasse")


def test_fold_text_strips_marks_and_strokes() -> None:
    assert fold_text("  Główny   Księgowy ") == "glowny ksiegowy"


# ------------------------------------------------------------------ every operator


@pytest.mark.parametrize(
    ("operator", "value", "title", "expected"),
    [
        ("contains", "security", "Head of Security", True),
        ("contains", "security", "Head of IT", False),
        ("not_contains", "intern", "Internal Auditor", True),
        ("not_contains", "intern", "Marketing Intern", False),
        ("starts_with", "chief", "Chief Executive Officer", True),
        ("starts_with", "officer", "Chief Executive Officer", False),
        ("ends_with", "executive officer", "Chief Executive Officer", True),
        ("ends_with", "chief", "Chief Executive Officer", False),
        ("equals", "cto", "CTO", True),
        ("equals", "cto", "CTO & founder", False),
        ("not_equals", "cto", "CIO", True),
        ("not_equals", "cto", "C.T.O", True),
        ("not_equals", "cto", "cto", False),
        ("in_list", ["cto", "cio", "chief technology officer"], "Chief Technology Officer", True),
        ("in_list", ["cto", "cio"], "Deputy CTO", False),
        ("matches", "head of (it|security)", "Head of Security, EMEA", True),
        ("matches", "head of (it|security)", "Head of Sales", False),
        ("matches", "^vp\\b", "VP Engineering", True),
        ("matches", "gesch[aä]ftsf", "Geschäftsführerin", True),
        ("is_empty", None, "   ", True),
        ("is_empty", None, "--", True),
        ("is_empty", None, "Engineer", False),
        ("is_not_empty", None, "Engineer", True),
        ("is_not_empty", None, "", False),
    ],
)
def test_text_operator(operator: str, value: Any, title: str, expected: bool) -> None:
    assert title_matches(operator, value, title) is expected


@pytest.mark.parametrize(
    ("operator", "value", "score", "expected"),
    [
        ("eq", 40, 40.0, True),
        ("eq", 40, 40.5, False),
        ("ne", 40, 41.0, True),
        ("ne", 40, 40.0, False),
        ("lt", 40, 39.9, True),
        ("lt", 40, 40.0, False),
        ("lte", 40, 40.0, True),
        ("lte", 40, 40.1, False),
        ("gt", 40, 40.1, True),
        ("gt", 40, 40.0, False),
        ("gte", 40, 40.0, True),
        ("gte", 40, 39.9, False),
        ("between", [40, 60], 40.0, True),
        ("between", [40, 60], 60.0, True),
        ("between", [40, 60], 60.1, False),
        ("is_empty", None, 0.0, False),
        ("is_not_empty", None, 0.0, True),
    ],
)
def test_numeric_operator(operator: str, value: Any, score: float, expected: bool) -> None:
    condition = compile_condition(parse_condition(leaf("engagement_score", operator, value)))
    assert condition.matches(PersonFacts(engagement_score=score)) is expected


def test_role_probability_reads_the_named_role() -> None:
    data = leaf("role_probability", "gte", 0.7, role="Decision Maker")
    condition = compile_condition(parse_condition(data))
    assert condition.matches(PersonFacts(role_probabilities={"Decision Maker": 0.7}))
    assert not condition.matches(PersonFacts(role_probabilities={"Influencer": 0.9}))


def test_inferred_attributes_are_text_attributes() -> None:
    condition = compile_condition(parse_condition(leaf("function", "equals", "Security")))
    assert condition.matches(PersonFacts(function="security"))
    assert not condition.matches(PersonFacts(function="IT"))


# ------------------------------------------------------------------ missing values


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("contains", "x", False),
        ("starts_with", "x", False),
        ("ends_with", "x", False),
        ("equals", "x", False),
        ("not_equals", "x", False),
        ("in_list", ["x"], False),
        ("matches", "x", False),
        ("not_contains", "x", True),
        ("is_empty", None, True),
        ("is_not_empty", None, False),
    ],
)
def test_missing_text_fails_all_but_negative_operators(
    operator: str, value: Any, expected: bool
) -> None:
    # function is inferred by the models: None means the models have not run.
    condition = compile_condition(parse_condition(leaf("function", operator, value)))
    assert condition.matches(PersonFacts()) is expected


@pytest.mark.parametrize("operator", ["eq", "ne", "lt", "lte", "gt", "gte"])
def test_missing_number_fails_comparisons(operator: str) -> None:
    condition = compile_condition(parse_condition(leaf("engagement_score", operator, 0)))
    assert not condition.matches(PersonFacts())
    assert not condition.matches(PersonFacts(engagement_score=float("nan")))


def test_missing_role_probability_is_empty() -> None:
    data = leaf("role_probability", "is_empty", role="Champion")
    assert compile_condition(parse_condition(data)).matches(PersonFacts())


# ------------------------------------------------------------------ combinators and evidence


SECURITY_LEAD = {
    "all": [
        leaf("job_title", "contains", "security"),
        {"not": leaf("job_title", "contains", "intern")},
        {"any": [leaf("job_title", "starts_with", "head"), leaf("engagement_score", "gte", 40)]},
    ]
}


def test_all_any_not_combine() -> None:
    condition = compile_condition(parse_condition(SECURITY_LEAD))
    assert condition.matches(PersonFacts(job_title="Head of Security"))
    assert condition.matches(PersonFacts(job_title="Security Analyst", engagement_score=50))
    assert not condition.matches(PersonFacts(job_title="Security Analyst", engagement_score=10))
    assert not condition.matches(PersonFacts(job_title="Head of Security Intern"))


def test_evidence_names_the_leaves_that_fired_and_their_paths() -> None:
    facts = PersonFacts(job_title="Security Analyst", engagement_score=50)
    result = evaluate(parse_condition(SECURITY_LEAD), facts)
    assert result is not None
    assert [(f.path, f.description) for f in result.fired] == [
        ("all[0]", 'job_title contains "security"'),
        ("all[1]", 'not (job_title contains "intern")'),
        ("all[2].any[1]", "engagement_score gte 40"),
    ]
    assert result.summary.startswith('job_title contains "security" and not (')


def test_no_match_gives_no_evidence() -> None:
    assert evaluate(parse_condition(SECURITY_LEAD), PersonFacts(job_title="CFO")) is None


def test_describe_reads_like_the_json() -> None:
    data = leaf("role_probability", "gte", 0.7, role="Decision Maker")
    assert describe(parse_condition(data)) == 'role_probability["Decision Maker"] gte 0.7'
    many = leaf("job_title", "in_list", ["cto", "cio", "ciso", "cdo", "cpo"])
    assert (
        describe(parse_condition(many)) == 'job_title in_list ["cto", "cio", "ciso", "... 2 more"]'
    )


# ------------------------------------------------------------------ validation with paths


def test_error_names_a_deeply_nested_path() -> None:
    data = {
        "all": [
            leaf("job_title", "contains", "it"),
            {"any": [leaf("job_title", "matches", "a" * 250)]},
        ]
    }
    with pytest.raises(ConditionError) as caught:
        parse_condition(data)
    assert str(caught.value) == "all[1].any[0].value: regex too long (250 > 200)"
    assert caught.value.errors == [("all[1].any[0].value", "regex too long (250 > 200)")]


def test_condition_error_is_a_domain_error_with_a_field() -> None:
    with pytest.raises(InvariantError) as caught:
        parse_condition({"not": leaf("country", "in_list", [])})
    assert isinstance(caught.value, DomainError)
    assert caught.value.field == "not.value"


def test_all_errors_are_reported_field_by_field() -> None:
    data = {
        "any": [
            leaf("shoe_size", "contains", "x"),
            {"not": leaf("job_title", "gte", 3)},
            leaf("engagement_score", "between", [60, 40]),
            {"all": []},
        ]
    }
    assert error_paths(data) == [
        "any[0].attribute",
        "any[1].not.operator",
        "any[2].value",
        "any[3].all",
    ]


@pytest.mark.parametrize(
    ("data", "path", "reason_part"),
    [
        (leaf("job_title", "sounds_like", "x"), "operator", "Input should be"),
        (leaf("engagement_score", "contains", "x"), "operator", "needs a text attribute"),
        (leaf("job_title", "contains", 3), "value", "must be a string"),
        (leaf("job_title", "contains"), "value", "required for contains"),
        (leaf("job_title", "contains", "--"), "value", "letter or digit"),
        (leaf("job_title", "in_list", ["cto", 4]), "value", "item 1: must be a string"),
        (leaf("job_title", "in_list", "cto"), "value", "must be a list"),
        (leaf("engagement_score", "gte", True), "value", "must be a number"),
        (leaf("engagement_score", "gte", 140), "value", "between 0 and 100"),
        (leaf("engagement_score", "between", [1]), "value", "[low, high]"),
        (leaf("department", "is_empty", "x"), "value", "takes no value"),
        (leaf("role_probability", "gte", 0.5), "role", "required for role_probability"),
        (leaf("job_title", "contains", "x", role="Champion"), "role", "only allowed with"),
        ({**leaf("job_title", "contains", "x"), "colour": 1}, "colour", "unknown key"),
        ({"attribute": "job_title"}, "operator", "required"),
        ({"any": [{"foo": 1}]}, "any[0]", "expected an object"),
        ({"all": [leaf("job_title", "contains", "x")] * 101}, "all", "too many"),
        ([1, 2], "", "expected an object"),
    ],
)
def test_invalid_condition_is_reported_at_its_path(data: Any, path: str, reason_part: str) -> None:
    with pytest.raises(ConditionError) as caught:
        parse_condition(data)
    assert caught.value.errors[0][0] == path
    assert reason_part in caught.value.errors[0][1]


@pytest.mark.parametrize(
    ("pattern", "reason_part"),
    [
        ("(a+)+", "nested quantifiers"),
        ("(\\w+\\s?)*$", "nested quantifiers"),
        ("(a|aa)+", "alternation under an unbounded quantifier"),
        ("(a)\\1", "backreferences"),
        ("(?=head)head", "lookarounds"),
        ("(?<!vice )president", "lookarounds"),
        ("(a)?(?(1)b|c)", "conditional groups"),
        (".*.*.*x", "too many unbounded quantifiers"),
        ("head of (it", "does not compile"),
        ("x" * 201, "regex too long (201 > 200)"),
    ],
)
def test_dangerous_regex_is_refused(pattern: str, reason_part: str) -> None:
    with pytest.raises(ConditionError, match=r"^value: ") as caught:
        parse_condition(leaf("job_title", "matches", pattern))
    assert reason_part in caught.value.errors[0][1]


@pytest.mark.parametrize(
    "pattern",
    [
        "head of (it|security)",
        "(senior\\s+)?engineer.*",
        "^(vp|svp)\\b",
        "dir\\.?",
        "\\w+\\s+\\w+\\s+of\\s+(it|security)",
    ],
)
def test_ordinary_regex_is_accepted(pattern: str) -> None:
    parse_condition(leaf("job_title", "matches", pattern))


def nested_nots(levels: int) -> dict[str, Any]:
    """A leaf under ``levels - 1`` nots: ``levels`` levels of nodes."""
    data: dict[str, Any] = leaf("department", "is_empty")
    for _ in range(levels - 1):
        data = {"not": data}
    return data


def test_nesting_up_to_the_limit_is_accepted() -> None:
    parse_condition(nested_nots(MAX_DEPTH))


def test_nesting_beyond_the_limit_names_the_first_node_too_deep() -> None:
    with pytest.raises(ConditionError) as caught:
        parse_condition({"all": [leaf("country", "equals", "de"), nested_nots(MAX_DEPTH)]})
    assert caught.value.errors == [
        ("all[1]" + ".not" * (MAX_DEPTH - 1), f"nesting deeper than {MAX_DEPTH} levels")
    ]


def test_very_deep_json_fails_fast_with_a_condition_error() -> None:
    with pytest.raises(ConditionError):
        parse_condition(nested_nots(5000))


def test_depth_is_checked_when_embedded_in_another_model() -> None:
    class Card(BaseModel):
        conditions: Condition | None = None

    with pytest.raises(ValueError, match="nesting deeper than 8"):
        Card.model_validate({"conditions": nested_nots(MAX_DEPTH + 1)})


def test_invalid_json_text_is_a_condition_error() -> None:
    with pytest.raises(ConditionError, match=r"^\(root\): invalid JSON"):
        parse_condition_json("{not json")


# ------------------------------------------------------------------ round trip


ROUND_TRIP_EXAMPLES = [
    SECURITY_LEAD,
    leaf("job_title", "in_list", ["cto", "cio", "chief technology officer"]),
    leaf("job_title", "matches", "head of (it|security)"),
    leaf("department", "is_empty"),
    leaf("engagement_score", "gte", 40),
    leaf("engagement_score", "between", [40, 80.5]),
    leaf("function", "equals", "Security"),
    leaf("role_probability", "gte", 0.7, role="Decision Maker"),
]


@pytest.mark.parametrize("data", ROUND_TRIP_EXAMPLES)
def test_model_dump_round_trips_to_the_same_json(data: dict[str, Any]) -> None:
    condition = parse_condition(data)
    assert condition.model_dump() == data
    assert json.loads(condition_to_json(condition)) == data
    assert parse_condition_json(condition_to_json(condition)) == condition


def test_conditions_can_be_built_in_code() -> None:
    built = AllCondition(
        conditions=[AttributeCondition(attribute="country", operator="equals", value="DE")]
    )
    assert built.model_dump() == {"all": [leaf("country", "equals", "DE")]}
    assert parse_condition(built) is built


# ------------------------------------------------------------------ properties

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüé", min_size=1, max_size=8)
SEPARATOR = st.sampled_from([" ", ", ", " - ", "/", " & ", " ("])


@given(
    before=st.lists(WORD, max_size=3),
    value=st.lists(WORD, min_size=1, max_size=3),
    after=st.lists(WORD, max_size=3),
    separator=SEPARATOR,
)
def test_text_containing_the_value_as_separate_words_matches_contains(
    before: list[str], value: list[str], after: list[str], separator: str
) -> None:
    needle = " ".join(value)
    title = separator.join([*before, needle.upper(), *after])
    assert title_matches("contains", needle, title)


@given(word=WORD, suffix=WORD)
def test_a_longer_word_does_not_match_contains(word: str, suffix: str) -> None:
    assert not title_matches("contains", word, f"senior {word}{suffix} lead") or (
        # The value may still occur as a whole word elsewhere in the title.
        word in {"senior", "lead"}
    )


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["all", "any", "not", "attribute", "operator", "value", "role", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)
ATTRIBUTE_LEAF = st.fixed_dictionaries(
    {
        "attribute": st.sampled_from(
            ["job_title", "engagement_score", "role_probability", "function", "nope"]
        ),
        "operator": st.sampled_from(["contains", "in_list", "matches", "between", "gte", "x"]),
    },
    optional={"value": JSON | st.text(max_size=30), "role": st.text(max_size=5)},
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(data=JSON | ATTRIBUTE_LEAF | st.lists(ATTRIBUTE_LEAF).map(lambda xs: {"any": xs}))
def test_random_json_raises_nothing_but_condition_error(data: Any) -> None:
    try:
        condition = parse_condition(data)
    except ConditionError as exc:
        assert exc.errors
        return
    # Whatever parses must dump back to something that parses to the same condition.
    assert parse_condition(condition.model_dump()) == condition


# ------------------------------------------------------------------ speed


def test_compiled_leaf_is_fast_on_repeated_titles() -> None:
    titles = [f"Head of Security {i % 500}" for i in range(50_000)]
    persons = [PersonFacts(job_title=t) for t in titles]
    condition = compile_condition(parse_condition(leaf("job_title", "contains", "security")))
    started = time.perf_counter()
    assert all(condition.matches(p) for p in persons)
    # Generous bound (>= 100k leaf evaluations/s) so slow CI machines do not flake.
    assert time.perf_counter() - started < 0.5


def test_bounded_quantifier_blowup_matches_in_linear_time() -> None:
    pattern = "[a-z]{0,50}" * 4 + "!"
    condition = compile_condition(parse_condition(leaf("job_title", "matches", pattern)))
    outcome: list[bool] = []
    worker = threading.Thread(
        target=lambda: outcome.append(condition.matches(PersonFacts(job_title="a" * 300))),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=5)  # Python's backtracking engine needed about 43 s
    assert outcome == [False]
    assert condition.matches(PersonFacts(job_title="abc!"))
