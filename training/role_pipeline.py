"""Train a solution interest's buying-group role model (title -> role), tracked in MLflow.

The data comes from :func:`training.role_data.role_training_data`; fitting, logging,
registration and promotion are those of the title models
(:func:`training.title_pipeline.fit_and_register`). What differs is the held-out set:

- with at least :data:`MIN_CONFIRMED_TO_EVALUATE` confirmed rows, the held-out rows are
  confirmed rows only (distinct titles, stratified by role); weak rows never score a model,
  and weak rows sharing a held-out title are not trained on;
- with fewer, a slice of the weak rows is held out instead and the run says so: tag and
  param ``evaluation_set=weak``, a :class:`WeakEvaluationWarning`, and the result's
  ``evaluation_set``. Such a score measures agreement with the rules, not correctness.

::

    result = train_roles(engine, "Secure Edge")       # registers "role-secure-edge"
    predict_titles(champion_uri(result.name), pd.DataFrame({"title": ["CISO"]}))
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd
from sqlalchemy import Engine

from buying_groups.ml.embedders import ConcatEmbedder, TitleEmbedder
from buying_groups.ml.persona import FittedModel, PersonaEmbedder
from buying_groups.ml.pyfunc_model import TITLE_COLUMN
from buying_groups.ml.registry import role_model_name
from buying_groups.ml.title_classifier import TitleClassifier
from training.role_data import CONFIRMED, WEAK, role_training_data
from training.title_pipeline import (
    DEFAULT_EMBEDDER,
    RunSetup,
    TrainingDataError,
    TrainResult,
    fit_and_register,
    held_out_split,
    make_embedder,
)

__all__ = [
    "MIN_CONFIRMED_TO_EVALUATE",
    "ROLE_TARGET",
    "RoleTrainResult",
    "WeakEvaluationWarning",
    "role_embedder",
    "role_model_name",
    "split_role_data",
    "train_roles",
]

ROLE_TARGET: Final = "role"
#: Fewer confirmed rows than this cannot give a held-out set worth reporting.
MIN_CONFIRMED_TO_EVALUATE: Final = 20
_MIN_ROWS: Final = 5


class WeakEvaluationWarning(UserWarning):
    """The model was scored on weak (rule) labels: agreement with the rules, not accuracy."""


@dataclass
class RoleTrainResult(TrainResult):
    """A role model's training run, with where its score comes from."""

    solution_interest: str = ""
    evaluation_set: str = CONFIRMED
    label_counts: dict[str, dict[str, int]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (without the held-out rows)."""
        return {
            **super().to_dict(),
            "solution_interest": self.solution_interest,
            "evaluation_set": self.evaluation_set,
            "labels": self.label_counts,
        }


def split_role_data(
    data: pd.DataFrame, test_size: float = 0.2, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Hold out confirmed rows when there are enough, else weak rows.

    Args:
        data: rows of :func:`role_training_data`.
        test_size: share of the evaluated source's distinct titles held out.
        seed: split seed.

    Returns:
        ``(train, held_out, evaluation_set)`` with ``evaluation_set`` "confirmed" or
        "weak". No title (case-insensitive) is on both sides.
    """
    confirmed = data[data["label_source"] == CONFIRMED]
    evaluated = CONFIRMED if len(confirmed) >= MIN_CONFIRMED_TO_EVALUATE else WEAK
    source = data[data["label_source"] == evaluated].reset_index(drop=True)
    if len(source) < _MIN_ROWS:
        raise TrainingDataError(f"only {len(source)} {evaluated} rows: too few to hold any out")
    kept, held_out = held_out_split(source, [ROLE_TARGET], test_size, seed)
    others = data[data["label_source"] != evaluated]
    train = pd.concat([kept, _without_titles(others, held_out)], ignore_index=True)
    return train, held_out, evaluated


def _without_titles(frame: pd.DataFrame, held_out: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``frame`` whose title (case-insensitive) is not held out."""
    keys = set(held_out[TITLE_COLUMN].str.casefold().str.strip())
    return frame[~frame[TITLE_COLUMN].str.casefold().str.strip().isin(keys)]


def train_roles(
    engine: Engine,
    solution_interest: str,
    *,
    name: str | None = None,
    embedder: str | TitleEmbedder = DEFAULT_EMBEDDER,
    promote: bool = False,
    tracking_uri: str | None = None,
    artifact_root: str | None = None,
    registry_uri: str | None = None,
    seed: int = 0,
    min_confirmed: int = 200,
    weak_weight: float = 0.5,
    test_size: float = 0.2,
    abstain_threshold: float = 0.0,
    classifier_params: dict[str, Any] | None = None,
    persona_model: FittedModel | None = None,
    persona_weight: float = 0.5,
    persona_min_confirmed: int = 200,
    log_plots: bool = True,
    progress: bool = True,
) -> RoleTrainResult:
    """Train the role model of a solution interest, register it, promote it if it wins.

    Args:
        engine: the buying-groups database.
        solution_interest: the interest's name.
        name: registered model name; default ``role-<interest slug>``.
        embedder: a key of ``training.title_pipeline.EMBEDDERS``, or an embedder.
        promote: move ``@champion`` to the new version even when it does not win.
        tracking_uri: MLflow tracking store (default: the settings').
        artifact_root: folder for the experiment's artifacts when it is created (default:
            the settings').
        registry_uri: MLflow registry store (default: the tracking store if one is given,
            else the settings').
        seed: seed of the samples, the split and the classifier.
        min_confirmed: below this many confirmed rows, weak rule labels are added.
        weak_weight: sample weight of a weak row (a confirmed row weighs 1).
        test_size: share of the evaluated rows' distinct titles held out.
        abstain_threshold: the classifier abstains below this top probability.
        classifier_params: further :class:`TitleClassifier` parameters.
        persona_model: a fitted title model (function, seniority) whose probabilities join
            the title's own features (:func:`role_embedder`); it is pickled inside the role
            model, so serving and generation still hand the role model titles only.
        persona_weight: weight of the persona features; the title's weigh 1. On the medium
            demo CRM with 30 % confirmed members (`make bench-roles`, 3 seeds) 0.5 gave the
            best mean macro-F1 (0.25 and 1 were close; see the README).
        persona_min_confirmed: use the persona features only with at least this many
            confirmed labels. With 150 confirmed labels and weak rule labels they lowered
            the mean macro-F1 on both demo interests (0.600 -> 0.546, 0.834 -> 0.643, about
            30 held-out rows each), with 30 % confirmed they raised it (0.928 -> 0.966,
            0.686 -> 0.820); 0 uses them always.
        log_plots: log the confusion-matrix and reliability plots.
        progress: show a progress bar.

    Returns:
        The new version, its held-out metrics (and the champion's on the same rows), the
        promotion decision and which labels it was evaluated on.

    Raises:
        TrainingDataError: fewer than two roles, or too few rows to hold any out.
        NotFoundError: the solution interest does not exist.
    """
    data = role_training_data(
        engine, solution_interest, min_confirmed=min_confirmed, weak_weight=weak_weight, seed=seed
    )
    if data[ROLE_TARGET].nunique() < 2:
        raise TrainingDataError(
            f"{solution_interest!r} has labels for {data[ROLE_TARGET].nunique()} role(s); "
            "a role model needs at least two"
        )
    train, held_out, evaluation_set = split_role_data(data, test_size, seed)
    if evaluation_set == WEAK:
        warnings.warn(
            f"{solution_interest!r}: fewer than {MIN_CONFIRMED_TO_EVALUATE} confirmed labels, "
            "so the model is scored on held-out weak (rule) labels",
            WeakEvaluationWarning,
            stacklevel=2,
        )
    n_confirmed = int((data["label_source"] == CONFIRMED).sum())
    persona_used = persona_model if n_confirmed >= persona_min_confirmed else None
    classifier = TitleClassifier(
        embedder=role_embedder(embedder, persona_used, persona_weight),
        abstain_threshold=abstain_threshold,
        random_state=seed,
        **(classifier_params or {}),
    )
    counts = _label_counts(data)
    setup = RunSetup(
        name=name or role_model_name(solution_interest),
        targets=[ROLE_TARGET],
        seed=seed,
        test_size=test_size,
        promote=promote,
        log_plots=log_plots,
        tracking_uri=tracking_uri,
        artifact_root=artifact_root,
        registry_uri=registry_uri,
        progress=progress,
        description=f"Buying-group role in the solution interest {solution_interest!r} "
        f"from a job title (input column {TITLE_COLUMN!r}).",
        weight_column="weight",
        extra_params=_run_params(solution_interest, evaluation_set, counts, min_confirmed)
        | {
            "weak_weight": weak_weight,
            "persona_model": _persona_param(persona_model, persona_used, persona_min_confirmed),
            "persona_weight": persona_weight if persona_used else 0.0,
        },
        tags={"solution_interest": solution_interest, "evaluation_set": evaluation_set},
    )
    result = fit_and_register(classifier, data, train, held_out, setup)
    return RoleTrainResult(
        **vars(result),
        solution_interest=solution_interest,
        evaluation_set=evaluation_set,
        label_counts=counts,
    )


def role_embedder(
    embedder: str | TitleEmbedder,
    persona_model: FittedModel | None = None,
    persona_weight: float = 0.5,
) -> TitleEmbedder:
    """The title's features, and beside them the persona a title model infers, if given.

    Args:
        embedder: a key of ``training.title_pipeline.EMBEDDERS``, or an embedder.
        persona_model: a fitted title model; ``None`` reads the title only.
        persona_weight: weight of the persona part (the title's part weighs 1).

    Returns:
        The embedder of the role classifier.
    """
    title = make_embedder(embedder)
    if persona_model is None:
        return title
    return ConcatEmbedder(
        [("title", title), ("persona", PersonaEmbedder(persona_model))],
        weights={"title": 1.0, "persona": persona_weight},
    )


def _persona_param(
    offered: FittedModel | None, used: FittedModel | None, min_confirmed: int
) -> str:
    """What the run logs about persona features: the model used, or why none was."""
    if used is not None:
        return used.description or "yes"
    if offered is None:
        return "none"
    return f"none (fewer than {min_confirmed} confirmed labels)"


def _label_counts(data: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Rows per label source and role, e.g. ``{"confirmed": {"Influencer": 12}}``."""
    grouped = data.groupby(["label_source", ROLE_TARGET]).size()
    counts: dict[str, dict[str, int]] = {}
    for (source, role), n in grouped.items():
        counts.setdefault(str(source), {})[str(role)] = int(n)
    return counts


def _run_params(
    solution_interest: str,
    evaluation_set: str,
    counts: dict[str, dict[str, int]],
    min_confirmed: int,
) -> dict[str, Any]:
    """MLflow parameters describing how the role data was built and scored."""
    return {
        "solution_interest": solution_interest,
        "evaluation_set": evaluation_set,
        "n_confirmed": sum(counts.get(CONFIRMED, {}).values()),
        "n_weak": sum(counts.get(WEAK, {}).values()),
        "min_confirmed": min_confirmed,
    }
