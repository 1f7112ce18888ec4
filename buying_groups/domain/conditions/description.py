"""Human readings of conditions, e.g. ``job_title contains "security"``."""

from __future__ import annotations

import json
from typing import Any, Final

from buying_groups.domain.conditions.schema import (
    AllCondition,
    AnyCondition,
    AttributeCondition,
    Condition,
    NotCondition,
)

_LIST_PREVIEW: Final = 3


def describe(condition: Condition) -> str:
    """A short human reading, e.g. ``job_title contains "security"``."""
    if isinstance(condition, AllCondition):
        return "(" + " and ".join(describe(c) for c in condition.conditions) + ")"
    if isinstance(condition, AnyCondition):
        return "(" + " or ".join(describe(c) for c in condition.conditions) + ")"
    if isinstance(condition, NotCondition):
        inner = condition.condition
        reading = describe(inner)
        # Composite readings are already parenthesised.
        return f"not ({reading})" if isinstance(inner, AttributeCondition) else f"not {reading}"
    return _describe_leaf(condition)


def _describe_leaf(leaf: AttributeCondition) -> str:
    """Describe one leaf; long lists are shortened."""
    subject: str = leaf.attribute
    if leaf.role is not None:
        subject = f"{subject}[{json.dumps(leaf.role, ensure_ascii=False)}]"
    if leaf.value is None:
        return f"{subject} {leaf.operator}"
    shown: Any = leaf.value
    if isinstance(shown, list) and len(shown) > _LIST_PREVIEW:
        shown = [*shown[:_LIST_PREVIEW], f"... {len(shown) - _LIST_PREVIEW} more"]
    return f"{subject} {leaf.operator} {json.dumps(shown, ensure_ascii=False)}"
