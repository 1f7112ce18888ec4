"""API keys: random secrets shown once, stored as hashes, each with scopes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from enum import StrEnum

from buying_groups.domain.errors import InvariantError

KEY_PREFIX = "bgk"


class Scope(StrEnum):
    """What a key may do; each scope includes the ones below it."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


_RANK = {Scope.READ: 1, Scope.WRITE: 2, Scope.ADMIN: 3}


def parse_scopes(values: Iterable[str]) -> frozenset[Scope]:
    """Validate scope names ("read", "write", "admin"); at least one is needed."""
    scopes: set[Scope] = set()
    for value in values:
        name = value.strip().lower()
        if not name:
            continue
        try:
            scopes.add(Scope(name))
        except ValueError:
            allowed = ", ".join(s.value for s in Scope)
            raise InvariantError(
                f"unknown scope {value!r}; use {allowed}", field="scopes"
            ) from None
    if not scopes:
        raise InvariantError("a key needs at least one scope", field="scopes")
    return frozenset(scopes)


def grants(held: Iterable[Scope], needed: Scope) -> bool:
    """True when any held scope is at least as strong as ``needed``."""
    return any(_RANK[s] >= _RANK[needed] for s in held)


def new_api_key() -> tuple[str, str, str]:
    """Make a key: returns (plaintext shown once, public prefix, hash to store).

    The secret has 256 bits of entropy, so a plain SHA-256 is enough to store it: there is
    nothing to brute-force that a slow password hash would protect.
    """
    prefix = secrets.token_hex(4)
    plaintext = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return plaintext, prefix, hash_api_key(plaintext)


def hash_api_key(plaintext: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(plaintext.encode()).hexdigest()
