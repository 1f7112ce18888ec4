"""The title and role models: ``from buying_groups.ml import TitleClassifier``.

Exported lazily (PEP 562): ``buying_groups.ml.registry`` and the others are imported by
processes that never fit a model, and should not pay for scikit-learn's import on the way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from buying_groups.ml.title_classifier import TitleClassifier, TitleLabelsError

__all__ = ["TitleClassifier", "TitleLabelsError"]


def __getattr__(name: str) -> Any:
    """Import the exported classes on first use."""
    if name in __all__:
        from buying_groups.ml import title_classifier

        return getattr(title_classifier, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
