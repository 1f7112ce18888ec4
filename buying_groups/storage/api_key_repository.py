"""API keys in the database (hashes only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from buying_groups.domain.api_keys import Scope, hash_api_key, new_api_key, parse_scopes
from buying_groups.domain.errors import NotFoundError
from buying_groups.storage.tables import ApiKeyRow


@dataclass(frozen=True)
class ApiKeyInfo:
    """What may be shown about a key (never the secret)."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyRepository:
    """Create, check, list and revoke API keys."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, name: str, scopes: list[str]) -> tuple[str, ApiKeyInfo]:
        """Store a new key; returns the plaintext (shown once) and its description."""
        parsed = sorted(s.value for s in parse_scopes(scopes))
        plaintext, prefix, digest = new_api_key()
        row = ApiKeyRow(name=name, prefix=prefix, key_hash=digest, scopes=parsed)
        self.session.add(row)
        self.session.flush()
        return plaintext, _info(row)

    def scopes_of(self, plaintext: str) -> frozenset[Scope] | None:
        """The scopes of a valid, unrevoked key; None for anything else."""
        row = self.session.scalar(
            select(ApiKeyRow).where(
                ApiKeyRow.key_hash == hash_api_key(plaintext), ApiKeyRow.revoked_at.is_(None)
            )
        )
        return frozenset(Scope(s) for s in row.scopes) if row else None

    def name_of(self, plaintext: str) -> str | None:
        """The name of a valid, unrevoked key (who is acting); None for anything else."""
        return self.session.scalar(
            select(ApiKeyRow.name).where(
                ApiKeyRow.key_hash == hash_api_key(plaintext), ApiKeyRow.revoked_at.is_(None)
            )
        )

    def list(self) -> list[ApiKeyInfo]:
        """Every key, newest first."""
        rows = self.session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id.desc()))
        return [_info(r) for r in rows]

    def revoke(self, prefix: str) -> ApiKeyInfo:
        """Revoke the key with this prefix."""
        row = self.session.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
        if row is None:
            raise NotFoundError(f"no API key with prefix {prefix!r}")
        row.revoked_at = row.revoked_at or datetime.now(UTC)
        return _info(row)

    def count_active(self) -> int:
        """Keys that are not revoked."""
        query = select(func.count()).where(ApiKeyRow.revoked_at.is_(None))
        return self.session.execute(query).scalar_one()


def _info(row: ApiKeyRow) -> ApiKeyInfo:
    return ApiKeyInfo(
        row.id, row.name, row.prefix, tuple(row.scopes), row.created_at, row.revoked_at
    )
