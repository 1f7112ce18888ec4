"""The condition language of role cards: typed JSON, validated on parse, compiled to evaluate.

A condition is a tree of ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": ...}`` nodes over
leaves such as ``{"attribute": "job_title", "operator": "contains", "value": "security"}``.
Text matching is case- and accent-insensitive and works on whole words, so ``contains
"intern"`` does not match "internal". Conditions are compiled once and then evaluated over
millions of persons, so the hot path is a cached normalisation plus a substring test.

Modules, each depending only on those listed after it: ``compiler`` (conditions to fast
predicates), ``description`` (readings), ``schema`` (models, parsing, limits), ``regex_guard``
(what ``matches`` may use), ``text_folding`` (normalised text and its caches).
"""

from buying_groups.domain.conditions.compiler import (
    CompiledCondition,
    FiredLeaf,
    PersonFacts,
    compile_condition,
    evaluate,
)
from buying_groups.domain.conditions.description import describe
from buying_groups.domain.conditions.schema import (
    MAX_DEPTH,
    AllCondition,
    AnyCondition,
    AttributeCondition,
    Condition,
    ConditionError,
    condition_to_json,
    parse_condition,
    parse_condition_json,
    uses_patterns,
)
from buying_groups.domain.conditions.text_folding import fold_text

__all__ = [
    "MAX_DEPTH",
    "AllCondition",
    "AnyCondition",
    "AttributeCondition",
    "CompiledCondition",
    "Condition",
    "ConditionError",
    "FiredLeaf",
    "PersonFacts",
    "compile_condition",
    "condition_to_json",
    "describe",
    "evaluate",
    "fold_text",
    "parse_condition",
    "parse_condition_json",
    "uses_patterns",
]
