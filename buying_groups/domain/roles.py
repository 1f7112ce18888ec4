"""The role catalogue: six built-in roles plus custom ones, at most twenty in all."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from buying_groups.domain.errors import ConflictError, NotFoundError, RoleCatalogueError

BUILTIN_ROLES: tuple[tuple[str, str], ...] = (
    ("Decision Maker", "Signs off the purchase and owns the budget."),
    ("Influencer", "Shapes the requirements and the shortlist."),
    ("Practitioner", "Will use the product day to day."),
    ("Executive Steering Committee", "Senior sponsors who set direction."),
    ("Champion", "Sells the product internally."),
    ("Other", "Involved, but in none of the roles above."),
)
MAX_ROLES = 20


class Role(BaseModel):
    """A role a member can play in a buying group."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=80)
    description: str = Field(default="", max_length=500)
    is_builtin: bool = False


def builtin_roles() -> list[Role]:
    """Return the six roles every installation starts with."""
    return [Role(name=n, description=d, is_builtin=True) for n, d in BUILTIN_ROLES]


class RoleCatalogue:
    """The roles known to an installation; enforces the catalogue's rules."""

    def __init__(self, roles: Iterable[Role]) -> None:
        self._roles = {r.name.casefold(): r for r in roles}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.casefold() in self._roles

    def __len__(self) -> int:
        return len(self._roles)

    def get(self, name: str) -> Role:
        """Return the role called ``name`` (case-insensitive)."""
        try:
            return self._roles[name.casefold()]
        except KeyError:
            raise NotFoundError(f"role {name!r} does not exist") from None

    def add(self, role: Role) -> Role:
        """Add a custom role; names are unique and the catalogue holds at most 20."""
        if role.name.casefold() in self._roles:
            raise ConflictError(f"role {role.name!r} already exists")
        if len(self._roles) >= MAX_ROLES:
            raise RoleCatalogueError(f"at most {MAX_ROLES} roles are allowed", field="name")
        custom = role.model_copy(update={"is_builtin": False})
        self._roles[role.name.casefold()] = custom
        return custom

    def check_editable(self, name: str) -> Role:
        """Return the role if it may be edited or deleted; built-in roles may not."""
        role = self.get(name)
        if role.is_builtin:
            raise RoleCatalogueError(f"built-in role {role.name!r} cannot be changed", field="name")
        return role

    def remove(self, name: str) -> None:
        """Delete a custom role."""
        self.check_editable(name)
        del self._roles[name.casefold()]

    def names(self) -> list[str]:
        """Names of all roles, built-ins first, in insertion order."""
        return [r.name for r in self._roles.values()]
