"""Held-out metrics of title models: accuracy, macro-F1, coverage, calibration, per class."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, classification_report, f1_score

#: How an abstention is scored: always wrong, and never a class of its own.
ABSTAINED = "<abstained>"
_METRIC_NAME_UNSAFE = re.compile(r"[^\w\-. /]")


def labelled_mask(column: pd.Series) -> pd.Series:
    """Rows of ``column`` that carry a label (not missing, not blank)."""
    text = column.astype("string").str.strip()
    return (text.notna() & (text != "")).fillna(False).astype(bool)


def _as_predictions(predicted: pd.Series) -> pd.Series:
    """Predicted labels as strings, abstentions (None/NaN) as :data:`ABSTAINED`."""
    return predicted.astype(object).map(lambda v: ABSTAINED if v is None or pd.isna(v) else str(v))


def target_metrics(
    truth: pd.Series, predicted: pd.Series, confidence: pd.Series | None = None
) -> dict[str, Any]:
    """Score one target on the rows where ``truth`` has a label.

    Returns:
        ``accuracy``, ``macro_f1`` (over the classes seen in truth or predictions),
        ``coverage`` (share not abstained), ``n``, ``per_class`` (precision, recall, f1,
        support) and, with ``confidence``, ``ece`` (expected calibration error, 10 bins).
    """
    mask = labelled_mask(truth).to_numpy()
    y_true = truth[mask].astype(str).to_numpy()
    y_pred = _as_predictions(predicted[mask]).to_numpy()
    if len(y_true) == 0:
        return {"accuracy": 0.0, "macro_f1": 0.0, "coverage": 0.0, "n": 0, "per_class": {}}
    labels = sorted((set(y_true) | set(y_pred)) - {ABSTAINED})
    scores: dict[str, Any] = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "coverage": float(np.mean(y_pred != ABSTAINED)),
        "n": len(y_true),
        "per_class": _per_class(y_true, y_pred, labels),
    }
    if confidence is not None:
        correct = y_true == y_pred
        scores["ece"] = expected_calibration_error(correct, confidence[mask].to_numpy(float))
    return scores


def _per_class(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Precision, recall, F1 and support of each class."""
    report = classification_report(y_true, y_pred, labels=labels, output_dict=True, zero_division=0)
    return {
        label: {
            "precision": float(report[label]["precision"]),
            "recall": float(report[label]["recall"]),
            "f1": float(report[label]["f1-score"]),
            "support": int(report[label]["support"]),
        }
        for label in labels
    }


def expected_calibration_error(
    correct: np.ndarray, confidence: np.ndarray, bins: int = 10
) -> float:
    """Mean gap between confidence and accuracy, weighted by how many rows fall in each bin."""
    if len(correct) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    gaps = [
        abs(float(np.mean(correct[which == b])) - float(np.mean(confidence[which == b])))
        * float(np.mean(which == b))
        for b in range(bins)
        if np.any(which == b)
    ]
    return float(sum(gaps))


def score_predictions(
    truth: pd.DataFrame, predictions: pd.DataFrame, targets: list[str]
) -> dict[str, Any]:
    """Score every target; a target the model does not predict scores zero.

    Returns:
        ``{"targets": {target: target_metrics}, "mean_macro_f1": ..., "mean_accuracy": ...}``.
    """
    per_target: dict[str, Any] = {}
    for target in targets:
        predicted = predictions[target] if target in predictions else _nothing(len(truth))
        confidence_column = f"{target}_confidence"
        confidence = predictions.get(confidence_column) if target in predictions else None
        per_target[target] = target_metrics(
            truth[target].reset_index(drop=True),
            predicted.reset_index(drop=True),
            None if confidence is None else confidence.reset_index(drop=True),
        )
    return {
        "targets": per_target,
        "mean_macro_f1": float(np.mean([m["macro_f1"] for m in per_target.values()])),
        "mean_accuracy": float(np.mean([m["accuracy"] for m in per_target.values()])),
    }


def _nothing(length: int) -> pd.Series:
    """Predictions of a model that does not know a target: abstain everywhere."""
    return pd.Series([None] * length, dtype=object)


def flat_metrics(scores: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Flatten :func:`score_predictions` output into MLflow metric names and values."""
    flat = {
        f"{prefix}mean_macro_f1": scores["mean_macro_f1"],
        f"{prefix}mean_accuracy": scores["mean_accuracy"],
    }
    for target, metrics in scores["targets"].items():
        for key in ("accuracy", "macro_f1", "coverage", "ece"):
            if key in metrics:
                flat[f"{prefix}{target}_{key}"] = float(metrics[key])
        for label, values in metrics["per_class"].items():
            safe = _METRIC_NAME_UNSAFE.sub("_", label)
            for key in ("precision", "recall", "f1"):
                flat[f"{prefix}{target}.{safe}.{key}"] = float(values[key])
    return flat


def summary_table(scores: dict[str, Any]) -> pd.DataFrame:
    """One row per target: accuracy, macro-F1, coverage, n."""
    rows = [
        {"target": target, **{k: m.get(k) for k in ("accuracy", "macro_f1", "coverage", "n")}}
        for target, m in scores["targets"].items()
    ]
    return pd.DataFrame(rows)
