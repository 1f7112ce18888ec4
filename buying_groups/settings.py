"""The one settings object of a process (environment prefix ``BG_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Repository root when running from a checkout; state lives under ``var/`` there.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_data_dir() -> Path:
    """Where local state goes by default: ``var/`` of the source checkout, else of the
    working directory (a wheel install must not write inside site-packages)."""
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / "var"
    return Path.cwd() / "var"


class Settings(BaseSettings):
    """Configuration read from the environment (``BG_*``) and an optional ``.env`` file."""

    # populate_by_name: code and tests may pass fields by name beside the environment aliases.
    model_config = SettingsConfigDict(
        env_prefix="BG_", env_file=".env", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Folder of the default SQLite database and MLflow store: var/ of the "
        "source checkout, else var/ of the working directory.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; PostgreSQL as postgresql+psycopg://user@host/db "
        "[default: sqlite:///DATA_DIR/buying-groups.db].",
        validation_alias=AliasChoices("BG_DATABASE_URL", "DATABASE_URL"),
    )
    # MLflow's own variables are honoured; the BG_ ones win when both are set.
    mlflow_tracking_uri: str = Field(
        default="",
        description="MLflow tracking store [default: sqlite:///DATA_DIR/mlflow/mlflow.db].",
        validation_alias=AliasChoices("BG_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"),
    )
    mlflow_registry_uri: str = Field(
        default="",
        description="MLflow model registry store [default: the tracking store].",
        validation_alias=AliasChoices("BG_MLFLOW_REGISTRY_URI", "MLFLOW_REGISTRY_URI"),
    )
    mlflow_artifact_root: str = Field(
        default="",
        description="Artifact folder of new experiments [default: DATA_DIR/mlflow/artifacts].",
    )
    mlflow_port: int = Field(default=5000, description="Port of `make mlflow` (the MLflow UI).")
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
    ajo_callback_api_key: str = Field(
        default="",
        description="Sent as X-Api-Key with AJO B2B callbacks (the Adobe Developer Console "
        "project's client id).",
    )
    ajo_callback_access_token: SecretStr = Field(
        default=SecretStr(""),
        description="Sent as 'Authorization: Bearer' with AJO B2B callbacks (an Adobe IMS "
        "server-to-server access token).",
    )
    ajo_ims_org_id: str = Field(
        default="",
        description="x-gw-ims-org-id of AJO B2B callbacks when a request's context names none.",
    )
    max_page_size: int = 500
    max_request_bytes: int = 50 * 1024 * 1024

    @model_validator(mode="after")
    def _default_stores(self) -> Settings:
        """Put the stores nobody named under ``data_dir``."""
        data_dir = self.data_dir.expanduser().resolve()
        self.database_url = self.database_url or f"sqlite:///{data_dir / 'buying-groups.db'}"
        mlflow_dir = data_dir / "mlflow"
        self.mlflow_tracking_uri = (
            self.mlflow_tracking_uri or f"sqlite:///{mlflow_dir / 'mlflow.db'}"
        )
        self.mlflow_registry_uri = self.mlflow_registry_uri or self.mlflow_tracking_uri
        self.mlflow_artifact_root = self.mlflow_artifact_root or str(mlflow_dir / "artifacts")
        return self

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
