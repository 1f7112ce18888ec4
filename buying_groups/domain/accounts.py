"""Accounts and their hierarchy (a product can be sold to a company or one division)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

from buying_groups.domain.errors import AccountHierarchyError


class Account(BaseModel):
    """A target company or division."""

    model_config = ConfigDict(frozen=True)

    external_id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=255)
    domain: str | None = Field(default=None, max_length=255)
    industry: str | None = Field(default=None, max_length=100)
    employees: int | None = Field(default=None, ge=0)
    revenue: float | None = Field(default=None, ge=0)
    country: str | None = Field(default=None, max_length=2, min_length=2)
    products_owned: tuple[str, ...] = ()
    parent_external_id: str | None = Field(default=None, max_length=100)

    @field_validator("products_owned", mode="before")
    @classmethod
    def _split_products(cls, value: object) -> object:
        """Files carry products as "A;B" (or "A|B"); no value means none owned."""
        if value is None:
            return ()
        if isinstance(value, str):
            return tuple(p.strip() for p in re.split(r"[;|]", value) if p.strip())
        return value


def find_cycle(parents: Mapping[str, str | None]) -> list[str] | None:
    """Return the accounts on one cycle of the parent mapping, or None if there is none.

    Args:
        parents: account id -> parent id (None for a root).
    """
    state: dict[str, int] = {}  # 1 = on the current path, 2 = known to reach a root
    for start in parents:
        path: list[str] = []
        node: str | None = start
        while node is not None and state.get(node) != 2:
            if state.get(node) == 1:
                return path[path.index(node) :]
            state[node] = 1
            path.append(node)
            node = parents.get(node)
        for visited in path:
            state[visited] = 2
    return None


def check_hierarchy(parents: Mapping[str, str | None]) -> None:
    """Refuse a parent mapping with a self-reference or a cycle.

    Raises:
        AccountHierarchyError: naming the accounts on the cycle.
    """
    cycle = find_cycle(parents)
    if cycle:
        chain = " -> ".join([*cycle, cycle[0]])
        raise AccountHierarchyError(
            f"account hierarchy has a cycle: {chain}", field="parent_external_id"
        )
