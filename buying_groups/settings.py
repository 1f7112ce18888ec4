"""The one settings object of a process (environment prefix ``BG_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Repository root when running from a checkout; state lives under ``var/`` there.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Configuration read from the environment (``BG_*``) and an optional ``.env`` file."""

    model_config = SettingsConfigDict(env_prefix="BG_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'buying-groups.db'}",
        description="SQLAlchemy URL; PostgreSQL as postgresql+psycopg://user@host/db.",
        validation_alias=AliasChoices("BG_DATABASE_URL", "DATABASE_URL"),
    )
    mlflow_tracking_uri: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'mlflow' / 'mlflow.db'}"
    mlflow_artifact_root: str = str(PROJECT_ROOT / "var" / "mlflow" / "artifacts")
    title_model_name: str = "title-persona"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    auth_required: bool = True
    api_key_cache_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How long a server trusts a key it has checked; a key revoked with the "
        "CLI stops working within this time (0: check the database on every request).",
    )
    rate_limit: str = Field(default="1200/minute", description="Per API key (or address).")
    models_enabled: bool = True
    model_poll_seconds: float = 60.0
    webhooks_enabled: bool = True
    webhook_poll_seconds: float = 2.0
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated host names or IPs that webhooks may reach although they "
        "are not public addresses (local development, tests): 'localhost,127.0.0.1'.",
    )
    max_page_size: int = 500
    max_request_bytes: int = 50 * 1024 * 1024

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        """Read the environment's comma-separated list."""
        if isinstance(value, str):
            return [host.strip() for host in value.split(",") if host.strip()]
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
