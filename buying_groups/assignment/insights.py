"""The one adapter from models to answers: per distinct job title, what the title model
infers (function, seniority, persona) and what the interest's role model answers.

A million persons share tens of thousands of titles, so each model is asked once per
distinct title (in batches of :data:`PREDICT_BATCH`) and the answers are kept for the run;
the nearest labelled titles, the costly part of the evidence, are looked up only for the
titles that need them (:meth:`TitleInsights.explain`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np
import pandas as pd

from buying_groups.assignment.facts import NO_INSIGHT, TitleInsight, persona_of, title_key

#: The role model's label for "this person plays no role in the group".
NO_ROLE: Final = "No role"
PREDICT_BATCH: Final = 4_096
TOP_PROBABILITIES: Final = 3
NEIGHBOURS: Final = 3
# Stored numbers are rounded: a rerun with the same model must compare equal.
DIGITS: Final = 4
_TITLE_TARGETS: Final = ("function", "seniority")


class ProbabilisticTitleModel(Protocol):
    """What the core needs of a title or role model (``TitleClassifier`` is one)."""

    targets_: list[str]
    abstain_threshold: float

    def predict_proba(self, X: Sequence[str]) -> dict[str, pd.DataFrame]:
        """target -> one row of class probabilities per title."""
        ...

    def nearest_titles(self, X: Sequence[str], k: int | None = None) -> list[list[dict[str, Any]]]:
        """Per title, the nearest labelled training titles."""
        ...


@dataclass(frozen=True)
class Thresholds:
    """The solution interest's thresholds on the role model's top probability."""

    accept: float
    review: float

    def confident(self, answer: ModelAnswer | None) -> bool:
        """Whether an answer is sure enough to assign (the one threshold rule)."""
        return answer is not None and answer.confidence >= self.accept


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    """The role model's top label for a title (a role or "No role"), its probability and
    the top few probabilities."""

    label: str
    confidence: float
    probabilities: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class LabelAnswer:
    """One title-model target's label (None when the model abstains) and its probability."""

    label: str | None
    confidence: float


@dataclass(frozen=True, slots=True)
class ModelMatch:
    """A confident model answer with its evidence, shaped like a rule's CardMatch."""

    role: str
    evidence: dict[str, Any]
    evidence_json: str
    confidence: float
    source: str = "model"


class TitleInsights:
    """Answers of a title model and a role model (either may be absent) per distinct title.

    Args:
        title_model: infers function and seniority (and so the persona); None: absent.
        role_model: the solution interest's role model (its first target is the role).
        role_model_version: kept in the model's evidence.
        batch_size: titles per model call.
    """

    def __init__(
        self,
        title_model: ProbabilisticTitleModel | None = None,
        role_model: ProbabilisticTitleModel | None = None,
        *,
        role_model_version: str | None = None,
        batch_size: int = PREDICT_BATCH,
    ) -> None:
        self.title_model = title_model
        self.role_model = role_model
        self.role_model_version = role_model_version
        self.batch_size = batch_size
        self._labels: dict[str, dict[str, LabelAnswer]] = {}
        self._insights: dict[str, TitleInsight] = {}
        self._answers: dict[str, ModelAnswer] = {}
        self._evidence: dict[str, dict[str, Any]] = {}
        self._matches: dict[str, ModelMatch] = {}

    @property
    def has_models(self) -> bool:
        """Whether any model answers (without one, every insight is empty)."""
        return self.title_model is not None or self.role_model is not None

    def predict(self, titles: Iterable[str | None]) -> None:
        """Ask the models about the titles they have not answered yet, in batches."""
        if not self.has_models:
            return
        keys = {title_key(t) for t in titles}
        new = sorted(k for k in keys if k is not None and k not in self._insights)
        for start in range(0, len(new), self.batch_size):
            self._predict_batch(new[start : start + self.batch_size])

    def insight(self, title: str | None) -> TitleInsight:
        """What the models infer from ``title`` (asked now if it was not predicted)."""
        key = title_key(title)
        if key is None or not self.has_models:
            return NO_INSIGHT
        if key not in self._insights:
            self._predict_batch([key])
        return self._insights[key]

    def labels(self, title: str | None) -> dict[str, LabelAnswer]:
        """The title model's label and probability per target (empty without one)."""
        key = title_key(title)
        if key is None or self.title_model is None:
            return {}
        self.insight(key)
        return self._labels.get(key, {})

    def answer(self, title: str | None) -> ModelAnswer | None:
        """The role model's answer for ``title``; None without a role model or a title."""
        key = title_key(title)
        if key is None or self.role_model is None:
            return None
        self.insight(key)
        return self._answers[key]

    def explain(self, titles: Iterable[str | None]) -> None:
        """Look up the role model's nearest labelled titles of those that need evidence."""
        if self.role_model is None:
            return
        keys = {title_key(t) for t in titles}
        new = sorted(k for k in keys if k is not None and k not in self._evidence)
        self.predict(new)
        target = self.role_model.targets_[0]
        for start in range(0, len(new), self.batch_size):
            chunk = new[start : start + self.batch_size]
            nearest = self.role_model.nearest_titles(chunk, NEIGHBOURS)
            for title, neighbours in zip(chunk, nearest, strict=True):
                self._evidence[title] = self._describe(self._answers[title], neighbours, target)

    def evidence(self, title: str | None) -> dict[str, Any]:
        """Probabilities, model version and nearest titles (after :meth:`explain`)."""
        key = title_key(title)
        return self._evidence[key] if key is not None else {}

    def match(self, title: str | None) -> ModelMatch:
        """The model member of a title (after :meth:`explain`), serialised once per title."""
        key = title_key(title)
        assert key is not None
        found = self._matches.get(key)
        if found is None:
            answer, evidence = self._answers[key], self._evidence[key]
            found = ModelMatch(answer.label, evidence, json.dumps(evidence), answer.confidence)
            self._matches[key] = found
        return found

    # ------------------------------------------------------------------------ internals

    def _predict_batch(self, titles: list[str]) -> None:
        labels: list[dict[str, LabelAnswer]] = [{} for _ in titles]
        if self.title_model is not None:
            labels = _labels(self.title_model, titles)
        answers: list[ModelAnswer | None] = [None] * len(titles)
        distributions: list[Mapping[str, float]] = [{} for _ in titles]
        if self.role_model is not None:
            frame = self.role_model.predict_proba(titles)[self.role_model.targets_[0]]
            answers, distributions = _answers(frame.to_numpy(), frame.columns)  # type: ignore[assignment]
        for index, title in enumerate(titles):
            found = labels[index]
            function = found["function"].label if "function" in found else None
            seniority = found["seniority"].label if "seniority" in found else None
            self._labels[title] = found
            self._insights[title] = TitleInsight(
                function, seniority, persona_of(function, seniority), distributions[index]
            )
            answer = answers[index]
            if answer is not None:
                self._answers[title] = answer

    def _describe(
        self, answer: ModelAnswer, neighbours: list[dict[str, Any]], target: str
    ) -> dict[str, Any]:
        return {
            "model_version": self.role_model_version,
            "role": answer.label,
            "confidence": round(answer.confidence, DIGITS),
            "probabilities": dict(answer.probabilities),
            "nearest_titles": [
                {
                    "title": n["title"],
                    "similarity": round(float(n["similarity"]), DIGITS),
                    "role": n.get(target),
                }
                for n in neighbours
            ],
        }


def _labels(model: ProbabilisticTitleModel, titles: list[str]) -> list[dict[str, LabelAnswer]]:
    """Per title, each target's top label (None below the abstain threshold)."""
    found: list[dict[str, LabelAnswer]] = [{} for _ in titles]
    for target, frame in model.predict_proba(titles).items():
        values = frame.to_numpy()
        best = values.argmax(axis=1)
        names = [str(c) for c in frame.columns]
        for row, index in enumerate(best):
            confidence = float(values[row, index])
            label = names[index] if confidence >= model.abstain_threshold else None
            found[row][target] = LabelAnswer(label, confidence)
    return found


def _answers(
    values: np.ndarray[Any, Any], classes: Iterable[Any]
) -> tuple[list[ModelAnswer], list[Mapping[str, float]]]:
    """Top label, its probability and the top few probabilities of each row; and each row's
    whole distribution (what ``role_probability`` conditions read)."""
    names = [str(c) for c in classes]
    order = np.argsort(-values, axis=1, kind="stable")[:, :TOP_PROBABILITIES]
    answers: list[ModelAnswer] = []
    distributions: list[Mapping[str, float]] = []
    for row, top in zip(values, order, strict=True):
        probabilities = {names[i]: round(float(row[i]), DIGITS) for i in top}
        answers.append(ModelAnswer(names[top[0]], float(row[top[0]]), probabilities))
        distributions.append(dict(zip(names, (float(v) for v in row), strict=True)))
    return answers, distributions
