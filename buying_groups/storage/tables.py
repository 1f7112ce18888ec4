"""SQLAlchemy 2 table definitions; Alembic migrations create them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are UTC and timezone-aware on the way out, whatever the database keeps.

    SQLite has no time zones (and CURRENT_TIMESTAMP is naive UTC), PostgreSQL does; without
    this, the API would answer naive times from one and aware ones from the other.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    """Timezone-aware now, the default of every timestamp column."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (Alembic needs them on SQLite)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: UTCDateTime(),
    }


class Timestamped:
    """created_at / updated_at on every row that can change."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AccountRow(Timestamped, Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str | None] = mapped_column(String(255))
    industry: Mapped[str | None] = mapped_column(String(100), index=True)
    employees: Mapped[int | None] = mapped_column(Integer)
    revenue: Mapped[float | None] = mapped_column(Float)
    country: Mapped[str | None] = mapped_column(String(2))
    products_owned: Mapped[list[Any]] = mapped_column(default=list)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )


class PersonRow(Timestamped, Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(320))
    job_title: Mapped[str | None] = mapped_column(String(300))
    department: Mapped[str | None] = mapped_column(String(150))
    country: Mapped[str | None] = mapped_column(String(2))
    phone: Mapped[str | None] = mapped_column(String(50))


class ActivityRow(Base):
    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_person_time", "person_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(index=True)


class DemoPersonTruthRow(Base):
    """True labels of generated demo persons, kept apart from the CRM tables."""

    __tablename__ = "demo_person_truths"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    function: Mapped[str] = mapped_column(String(80))
    seniority: Mapped[str] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(5))


class RoleRow(Timestamped, Base):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    is_builtin: Mapped[bool] = mapped_column(Boolean, default=False)


class RoleTemplateRow(Timestamped, Base):
    __tablename__ = "role_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    published_at: Mapped[datetime | None] = mapped_column()


class RoleCardRow(Base):
    __tablename__ = "role_cards"
    __table_args__ = (UniqueConstraint("template_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("role_templates.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="RESTRICT"))
    weighting: Mapped[int] = mapped_column(Integer, default=60)
    conditions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    members_required: Mapped[int] = mapped_column(Integer, default=1)
    required_for_completeness: Mapped[bool] = mapped_column(Boolean, default=True)


class StageModelRow(Timestamped, Base):
    __tablename__ = "stage_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    stages: Mapped[list[Any]] = mapped_column(default=list)


class SolutionInterestRow(Timestamped, Base):
    __tablename__ = "solution_interests"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    products: Mapped[list[Any]] = mapped_column(default=list)
    role_template_id: Mapped[int] = mapped_column(
        ForeignKey("role_templates.id", ondelete="RESTRICT")
    )
    stage_model_id: Mapped[int | None] = mapped_column(
        ForeignKey("stage_models.id", ondelete="RESTRICT")
    )
    keep_up_to_date: Mapped[bool] = mapped_column(Boolean, default=True)
    model_accept_threshold: Mapped[float] = mapped_column(Float, default=0.6)
    model_review_threshold: Mapped[float] = mapped_column(Float, default=0.35)


class AccountAudienceRow(Timestamped, Base):
    __tablename__ = "account_audiences"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(10), default="static")
    account_external_ids: Mapped[list[Any]] = mapped_column(default=list)
    filter: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class BuyingGroupRow(Timestamped, Base):
    __tablename__ = "buying_groups"
    __table_args__ = (UniqueConstraint("account_id", "solution_interest_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    solution_interest_id: Mapped[int] = mapped_column(
        ForeignKey("solution_interests.id", ondelete="RESTRICT"), index=True
    )
    role_template_id: Mapped[int] = mapped_column(ForeignKey("role_templates.id"))
    completeness: Mapped[float] = mapped_column(Float, default=0.0, index=True)
    role_completeness: Mapped[dict[str, Any]] = mapped_column(default=dict)
    engagement: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str | None] = mapped_column(String(50))
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class MemberRow(Timestamped, Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("group_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("buying_groups.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="RESTRICT"))
    source: Mapped[str] = mapped_column(String(10))
    confidence: Mapped[float | None] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_removed: Mapped[bool] = mapped_column(Boolean, default=False)


class ReviewRow(Timestamped, Base):
    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_reviews_open", "solution_interest_id", "decision"),
        # One open review per person x interest: a rerun updates it instead of adding one.
        Index(
            "uq_reviews_open_person",
            "person_id",
            "solution_interest_id",
            unique=True,
            sqlite_where=text("decision IS NULL"),
            postgresql_where=text("decision IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    solution_interest_id: Mapped[int] = mapped_column(
        ForeignKey("solution_interests.id", ondelete="CASCADE")
    )
    reason: Mapped[str] = mapped_column(String(20))
    rule_role_id: Mapped[int | None] = mapped_column(ForeignKey("roles.id"))
    model_role_id: Mapped[int | None] = mapped_column(ForeignKey("roles.id"))
    model_confidence: Mapped[float | None] = mapped_column(Float)
    #: {"rule": the card's evidence or null, "model": probabilities, version, nearest titles}
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decision: Mapped[str | None] = mapped_column(String(20))
    decided_role_id: Mapped[int | None] = mapped_column(ForeignKey("roles.id"))
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column()


class GroupRoleRow(Base):
    """Per-role completeness of a group, a row per card, so filters like "missing X" are SQL."""

    __tablename__ = "group_roles"
    __table_args__ = (Index("ix_group_roles_role_completeness", "role_id", "completeness"),)

    group_id: Mapped[int] = mapped_column(
        ForeignKey("buying_groups.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"), primary_key=True)
    assigned: Mapped[int] = mapped_column(Integer, default=0)
    required: Mapped[int] = mapped_column(Integer, default=1)
    completeness: Mapped[float] = mapped_column(Float, default=0.0)
    required_for_completeness: Mapped[bool] = mapped_column(Boolean, default=True)


class GenerationJobRow(Timestamped, Base):
    """A creation or maintenance run over an audience x solution interest; resumable."""

    __tablename__ = "generation_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    solution_interest_id: Mapped[int] = mapped_column(
        ForeignKey("solution_interests.id", ondelete="CASCADE"), index=True
    )
    audience_id: Mapped[int] = mapped_column(ForeignKey("account_audiences.id", ondelete="CASCADE"))
    mode: Mapped[str] = mapped_column(String(10), default="rules")
    state: Mapped[str] = mapped_column(String(12), default="queued", index=True)
    total_accounts: Mapped[int] = mapped_column(Integer, default=0)
    processed_accounts: Mapped[int] = mapped_column(Integer, default=0)
    # The last account id finished: a resumed job continues after it.
    cursor_account_id: Mapped[int] = mapped_column(Integer, default=0)
    groups_created: Mapped[int] = mapped_column(Integer, default=0)
    groups_updated: Mapped[int] = mapped_column(Integer, default=0)
    members_added: Mapped[int] = mapped_column(Integer, default=0)
    members_removed: Mapped[int] = mapped_column(Integer, default=0)
    members_changed: Mapped[int] = mapped_column(Integer, default=0)
    reviews_created: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class ApiKeyRow(Base):
    """An API key: only its hash is stored; the prefix identifies it in listings."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class EventRow(Base):
    """The outbox: written in the same transaction as the change it describes."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_type_id", "type", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Indexed: deleting a group sets its events' group_id to NULL, a scan without it.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("buying_groups.id", ondelete="SET NULL"), index=True
    )
    account_external_id: Mapped[str | None] = mapped_column(String(100))
    solution_interest: Mapped[str | None] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class WebhookRow(Timestamped, Base):
    """A subscriber; events are delivered in order, and a cursor remembers how far."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    event_types: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    cursor_event_id: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)


class AjoActionRow(Timestamped, Base):
    """An execution request of Adobe Journey Optimizer B2B (External Actions), kept until its
    callback is delivered: stored before the request is answered, so a restart loses none."""

    __tablename__ = "ajo_actions"
    __table_args__ = (Index("ix_ajo_actions_state_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(36), unique=True)
    # Adobe's token may be long: it is kept whole, and unique by its SHA-256.
    token: Mapped[str] = mapped_column(Text)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    body_digest: Mapped[str] = mapped_column(String(64))
    callback_url: Mapped[str] = mapped_column(String(2000))
    object_type: Mapped[str] = mapped_column(String(20))
    request: Mapped[dict[str, Any]] = mapped_column()
    state: Mapped[str] = mapped_column(String(12), default="pending")
    callback: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    locked_until: Mapped[datetime | None] = mapped_column()
    deadline_at: Mapped[datetime] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column()


def table_of(model: type[Base]) -> Table:
    """The Core table behind a mapped class (typed for Core statements)."""
    return cast(Table, model.__table__)
