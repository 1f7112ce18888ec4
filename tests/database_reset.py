"""Empty a test database between tests."""

from __future__ import annotations

from sqlalchemy import Engine, delete

from buying_groups.storage.tables import Base, RoleRow


def empty_database(engine: Engine) -> None:
    """Delete every row but the built-in roles."""
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name == "roles":
                conn.execute(delete(RoleRow).where(RoleRow.is_builtin.is_(False)))
            else:
                conn.execute(table.delete())
