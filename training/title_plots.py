"""Diagnostic plots of a title model on held-out rows, logged to MLflow as images.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot): they render
with the non-interactive Agg canvas whatever backend a notebook or server has selected, and
leave no global figure state behind.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay

from training.title_metrics import ABSTAINED, labelled_mask


def confusion_figure(truth: pd.Series, predicted: pd.Series, target: str) -> Figure:
    """Row-normalised confusion matrix of one target (abstentions get their own column)."""
    mask = labelled_mask(truth).to_numpy()
    y_true = truth[mask].astype(str).to_numpy()
    y_pred = predicted[mask].map(lambda v: ABSTAINED if v is None or pd.isna(v) else str(v))
    labels = sorted(set(y_true) | set(y_pred) - {ABSTAINED})
    if ABSTAINED in set(y_pred):
        labels.append(ABSTAINED)
    size = max(5.0, 0.55 * len(labels) + 2.5)
    figure = Figure(figsize=(size, size), layout="constrained")
    axes = figure.subplots()
    ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred.to_numpy(),
        labels=labels,
        normalize="true",
        values_format=".2f",
        xticks_rotation="vertical",
        colorbar=False,
        ax=axes,
    )
    axes.set_title(f"{target}: confusion matrix (rows = truth, normalised)")
    return figure


def reliability_figure(
    truth: pd.Series, predicted: pd.Series, confidence: pd.Series, target: str, bins: int = 10
) -> Figure:
    """Reliability diagram of the top label: accuracy per confidence bin, and bin counts."""
    mask = labelled_mask(truth).to_numpy()
    correct = truth[mask].astype(str).to_numpy() == predicted[mask].astype(object).to_numpy()
    conf = confidence[mask].to_numpy(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    present = [b for b in range(bins) if np.any(which == b)]
    figure = Figure(figsize=(5.5, 6.5), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    top.plot(
        [float(np.mean(conf[which == b])) for b in present],
        [float(np.mean(correct[which == b])) for b in present],
        marker="o",
        label="model",
    )
    top.set(ylabel="accuracy", title=f"{target}: reliability of the top label", ylim=(0, 1))
    top.legend(loc="upper left")
    bottom.hist(conf, bins=edges, color="tab:blue")
    bottom.set(xlabel="confidence", ylabel="titles", xlim=(0, 1))
    return figure
