"""Tiny in-process role models for tests (no MLflow)."""

from __future__ import annotations

import pandas as pd

from buying_groups.ml.embedders import HashingEmbedder
from buying_groups.ml.title_classifier import TitleClassifier


def role_model(roles: dict[str, str]) -> TitleClassifier:
    """A role model that learned ``roles`` (title -> role) by heart."""
    titles = list(roles) * 4
    labels = pd.DataFrame({"role": [roles[t] for t in titles]})
    return TitleClassifier(embedder=HashingEmbedder(n_features=512)).fit(titles, labels)
