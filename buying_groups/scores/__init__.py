"""Scores of buying groups: completeness per role and group, engagement per person and group."""

from buying_groups.scores.completeness import (
    CardRequirement,
    CardRequirementLike,
    GroupCompleteness,
    group_completeness,
    role_completeness,
)
from buying_groups.scores.engagement import (
    DEFAULT_ACTIVITY_WEIGHTS,
    group_engagement,
    person_engagement,
)

__all__ = [
    "DEFAULT_ACTIVITY_WEIGHTS",
    "CardRequirement",
    "CardRequirementLike",
    "GroupCompleteness",
    "group_completeness",
    "group_engagement",
    "person_engagement",
    "role_completeness",
]
