"""Load the demo generator's vocabulary files (YAML next to this module) and the taxonomy."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class Taxonomy:
    """The product's persona labels, seniorities ordered from most to least senior."""

    functions: tuple[str, ...]
    seniorities: tuple[str, ...]


@cache
def load_demo_vocabulary(name: str) -> dict[str, Any]:
    """Return the parsed `buying_groups_demo/<name>.yaml` (cached: callers must not mutate it)."""
    path = resources.files("buying_groups_demo").joinpath(f"{name}.yaml")
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


@cache
def load_taxonomy() -> Taxonomy:
    """Return the function and seniority labels of `buying_groups/data/taxonomy.yaml`."""
    path = resources.files("buying_groups").joinpath("data/taxonomy.yaml")
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Taxonomy(tuple(loaded["functions"]), tuple(loaded["seniorities"]))
