"""Draw one value per row from a group chosen by an integer key, vectorised with numpy.

The demo generator draws millions of values (titles, first names, company-name cores) whose
vocabulary depends on a per-row key (language, gender, function x seniority, ...). Keeping every
group in one flat array with offsets turns that into two array look-ups instead of a Python
loop with one random call per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


class EmptyGroupError(ValueError):
    """A group that rows may draw from has no values."""


@dataclass(frozen=True)
class GroupedChoices:
    """Values grouped by key 0..n-1, stored flat: group k is values[offsets[k]:][:counts[k]]."""

    values: npt.NDArray[np.object_]
    offsets: npt.NDArray[np.int64]
    counts: npt.NDArray[np.int64]

    @classmethod
    def from_groups(cls, groups: Sequence[Sequence[object]]) -> GroupedChoices:
        """Build from one sequence of values per key; every group must be non-empty."""
        counts = np.array([len(group) for group in groups], dtype=np.int64)
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            raise EmptyGroupError(f"groups without values: {empty.tolist()}")
        offsets = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
        values = np.empty(int(counts.sum()), dtype=object)
        values[:] = [value for group in groups for value in group]
        return cls(values=values, offsets=offsets, counts=counts)

    def sample_index(
        self, keys: npt.NDArray[np.int64], rng: np.random.Generator
    ) -> npt.NDArray[np.int64]:
        """Return, for each key, the flat index of a value drawn uniformly from its group."""
        within = (rng.random(len(keys)) * self.counts[keys]).astype(np.int64)
        return self.offsets[keys] + within

    def sample(
        self, keys: npt.NDArray[np.int64], rng: np.random.Generator
    ) -> npt.NDArray[np.object_]:
        """Return, for each key, a value drawn uniformly from its group (shared references)."""
        return self.values[self.sample_index(keys, rng)]
