"""The one place that decides which role a person gets (pure: no SQL, no web, no MLflow).

- :mod:`facts`: what rules and models see of a person (:func:`person_facts`, the only
  builder of :class:`~buying_groups.domain.conditions.PersonFacts` outside tests).
- :mod:`insights`: the one adapter from title and role models to answers, per distinct title.
- :mod:`rules`: the template's cards, first match wins, cached per class of persons.
- :mod:`choice`: rules, model or hybrid: which source assigns a person, and what a reviewer
  should see.

Generation jobs, recommendations, comparisons, reviews and the prediction route all call it.
"""

from buying_groups.assignment.choice import NOTHING, Mode, Outcome, decide
from buying_groups.assignment.facts import (
    CRM_TEXT_ATTRIBUTES,
    INFERRED_ATTRIBUTES,
    NO_INSIGHT,
    PersonRecord,
    TitleInsight,
    email_domain,
    person_facts,
    persona_of,
    title_key,
)
from buying_groups.assignment.insights import (
    NO_ROLE,
    PREDICT_BATCH,
    ModelAnswer,
    ProbabilisticTitleModel,
    Thresholds,
    TitleInsights,
)
from buying_groups.assignment.rules import RULE_CONFIDENCE, CardMatch, RuleMatcher

__all__ = [
    "CRM_TEXT_ATTRIBUTES",
    "INFERRED_ATTRIBUTES",
    "NOTHING",
    "NO_INSIGHT",
    "NO_ROLE",
    "PREDICT_BATCH",
    "RULE_CONFIDENCE",
    "CardMatch",
    "Mode",
    "ModelAnswer",
    "Outcome",
    "PersonRecord",
    "ProbabilisticTitleModel",
    "RuleMatcher",
    "Thresholds",
    "TitleInsight",
    "TitleInsights",
    "decide",
    "email_domain",
    "person_facts",
    "persona_of",
    "title_key",
]
