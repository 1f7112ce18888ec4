"""Migrations create exactly the tables the code declares, and can be undone."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select

from buying_groups.domain.roles import BUILTIN_ROLES
from buying_groups.storage.database import downgrade, make_engine, upgrade
from buying_groups.storage.tables import Base, RoleRow


def test_migrated_schema_matches_the_declared_tables(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []


def test_builtin_roles_are_seeded(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as conn:
        names = conn.execute(select(RoleRow.name).where(RoleRow.is_builtin)).scalars().all()
    assert sorted(names) == sorted(name for name, _ in BUILTIN_ROLES)


def test_downgrade_to_base_and_upgrade_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert "generation_jobs" in inspect(engine).get_table_names()
