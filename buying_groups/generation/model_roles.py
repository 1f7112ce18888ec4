"""The role model in generation jobs: one answer per distinct title, and what it decides.

A million persons share tens of thousands of titles, so the model is asked once per
distinct title (in batches) and the answer is cached for the whole job; the nearest
labelled titles, the costly part of the evidence, are looked up only for titles that end
up as members or review items.

How a person's rule match and model answer combine (``choose``):

- model mode: a role (not "No role") at or above the interest's accept threshold makes a
  model member; between the review and accept thresholds, a low-confidence review item.
- hybrid mode: a firing rule wins; a confident model answer that says something else
  (another role, or "No role") becomes a disagreement review item. Without a rule, the
  model fills in as in model mode.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from buying_groups.domain.groups import MemberSource
from buying_groups.domain.reviews import ReviewReason
from buying_groups.generation.matching import CardMatch
from buying_groups.ml.role_predictions import NO_ROLE
from buying_groups.ml.title_classifier import TitleClassifier

PREDICT_BATCH: Final = 4_096
TOP_PROBABILITIES: Final = 3
NEIGHBOURS: Final = 3
# Stored numbers are rounded: a rerun with the same model must compare equal.
DIGITS: Final = 4


@dataclass(frozen=True)
class Thresholds:
    """The solution interest's thresholds on the model's top probability."""

    accept: float
    review: float


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    """The role model's top label for a title (a role or "No role") and its probability."""

    label: str
    confidence: float
    probabilities: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class ModelMatch:
    """A confident model answer, shaped like a CardMatch for reconcile_members."""

    role: str
    evidence: dict[str, Any]
    evidence_json: str
    confidence: float
    source: str = MemberSource.MODEL.value


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one person gets: which source assigns them (if any) and a review reason."""

    assign: str | None
    review: ReviewReason | None = None


NOTHING: Final = Outcome(None)


def _title_key(title: str | None) -> str | None:
    """The cache key of a title; blank titles have no answer."""
    if title is None:
        return None
    stripped = title.strip()
    return stripped or None


class ModelRoles:
    """A role model's answers and evidence per distinct title, cached for one job."""

    def __init__(
        self, classifier: TitleClassifier, version: str | None, batch_size: int = PREDICT_BATCH
    ) -> None:
        self.classifier = classifier
        self.version = version
        self.batch_size = batch_size
        self._target = classifier.targets_[0]
        self._answers: dict[str, ModelAnswer] = {}
        self._evidence: dict[str, dict[str, Any]] = {}
        self._matches: dict[str, ModelMatch] = {}

    def predict(self, titles: Iterable[str | None]) -> None:
        """Ask the model about the titles it has not seen yet, in batches."""
        keys = {_title_key(t) for t in titles}
        new = sorted(k for k in keys if k is not None and k not in self._answers)
        for start in range(0, len(new), self.batch_size):
            chunk = new[start : start + self.batch_size]
            frame = self.classifier.predict_proba(chunk)[self._target]
            self._answers.update(zip(chunk, _answers(frame.to_numpy(), frame.columns), strict=True))

    def answer(self, title: str | None) -> ModelAnswer | None:
        """The cached answer for a title (after ``predict``); None for a blank title."""
        key = _title_key(title)
        return None if key is None else self._answers.get(key)

    def explain(self, titles: Iterable[str | None]) -> None:
        """Look up the nearest labelled titles of those that need evidence, in batches."""
        keys = {_title_key(t) for t in titles}
        new = sorted(k for k in keys if k is not None and k not in self._evidence)
        for start in range(0, len(new), self.batch_size):
            chunk = new[start : start + self.batch_size]
            nearest = self.classifier.nearest_titles(chunk, NEIGHBOURS)
            for title, neighbours in zip(chunk, nearest, strict=True):
                self._evidence[title] = self._describe(self._answers[title], neighbours)

    def evidence(self, title: str | None) -> dict[str, Any]:
        """Probabilities, model version and nearest titles (after ``explain``)."""
        key = _title_key(title)
        return self._evidence[key] if key is not None else {}

    def match(self, title: str | None) -> ModelMatch:
        """The model member of a title (after ``explain``), serialised once per title."""
        key = _title_key(title)
        assert key is not None
        found = self._matches.get(key)
        if found is None:
            answer, evidence = self._answers[key], self._evidence[key]
            found = ModelMatch(answer.label, evidence, json.dumps(evidence), answer.confidence)
            self._matches[key] = found
        return found

    def _describe(self, answer: ModelAnswer, neighbours: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "model_version": self.version,
            "role": answer.label,
            "confidence": round(answer.confidence, DIGITS),
            "probabilities": dict(answer.probabilities),
            "nearest_titles": [
                {
                    "title": n["title"],
                    "similarity": round(float(n["similarity"]), DIGITS),
                    "role": n.get(self._target),
                }
                for n in neighbours
            ],
        }


def _answers(values: np.ndarray[Any, Any], classes: Iterable[Any]) -> list[ModelAnswer]:
    """Top label, its probability and the top few probabilities of each row."""
    names = [str(c) for c in classes]
    order = np.argsort(-values, axis=1, kind="stable")[:, :TOP_PROBABILITIES]
    answers = []
    for row, top in zip(values, order, strict=True):
        probabilities = {names[i]: round(float(row[i]), DIGITS) for i in top}
        answers.append(ModelAnswer(names[top[0]], float(row[top[0]]), probabilities))
    return answers


def choose(
    rule: CardMatch | None,
    answer: ModelAnswer | None,
    thresholds: Thresholds,
    assignable: Mapping[str, int],
) -> Outcome:
    """Who assigns a person, and whether a reviewer should look (see the module docstring).

    Args:
        rule: the rule's match (always None in model mode, where rules are not evaluated).
        answer: the model's answer for the person's title, None without a title.
        thresholds: the interest's accept and review thresholds.
        assignable: role name -> id of the template's roles (a model role outside the
            template cannot make a member).
    """
    confident = answer is not None and answer.confidence >= thresholds.accept
    if rule is not None:
        if confident and answer is not None and answer.label != rule.role:
            return Outcome(MemberSource.RULE.value, ReviewReason.DISAGREEMENT)
        return Outcome(MemberSource.RULE.value)
    if answer is None or answer.label == NO_ROLE or answer.label not in assignable:
        return NOTHING
    if confident:
        return Outcome(MemberSource.MODEL.value)
    if answer.confidence >= thresholds.review:
        return Outcome(None, ReviewReason.LOW_CONFIDENCE)
    return NOTHING
