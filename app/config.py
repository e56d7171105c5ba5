"""Settings: the only place that reads the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["PROJECT_ROOT", "Settings", "SettingsError", "load_settings"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent

EngineName = Literal["scripted", "llm", "local"]

# Values people paste from examples; a key anyone can read signs cookies anyone can forge.
_PLACEHOLDER_KEYS = {"changethis", "change-me", "changeme", "secret", "your-secret-key", "dev"}
_KEY_HELP = (
    "set RAPPORT_SECRET_KEY to a long random value, e.g. the output of "
    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
)


class Settings(BaseSettings):
    """Every setting Rapport reads, each from a `RAPPORT_*` environment variable."""

    model_config = SettingsConfigDict(
        env_prefix="RAPPORT_", extra="ignore", frozen=True, populate_by_name=True
    )

    data_dir: Path = Field(default=Path("data"), description="Folder for the SQLite file.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/rapport.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db.",
    )
    personas_dir: Path = Field(
        default=PROJECT_ROOT / "personas", description="Folder of persona YAML files."
    )
    rubrics_dir: Path = Field(
        default=PROJECT_ROOT / "rubrics", description="Folder of rubric YAML files."
    )
    engine: EngineName = Field(default="scripted", description="Default client engine.")
    max_turn_chars: int = Field(
        default=4000, ge=1, le=100_000, description="Longest student message accepted."
    )
    max_import_bytes: int = Field(
        default=8_000_000,
        ge=64_000,
        description="Largest transcript file accepted for import (JSON body or upload).",
    )
    stream_delay: float = Field(
        default=0.02, ge=0, le=1, description="Seconds between streamed words (scripted engine)."
    )
    db_pool_size: int = Field(default=10, ge=1, description="Connections per worker (PostgreSQL).")

    llm_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RAPPORT_LLM_BASE_URL", "OPENAI_BASE_URL"),
        description="OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1.",
    )
    llm_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("RAPPORT_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key for the model server (any string for servers without keys).",
    )
    llm_model: str = Field(default="gpt-4o-mini", description="Model name sent to the server.")
    llm_temperature: float = Field(default=0.7, ge=0, le=2, description="Sampling temperature.")
    llm_max_tokens: int = Field(default=200, ge=1, description="Reply length cap in tokens.")
    llm_timeout: float = Field(default=30.0, gt=0, description="Seconds before a call gives up.")
    llm_retries: int = Field(default=1, ge=0, le=5, description="Retries on transient errors.")
    local_model: Path | None = Field(default=None, description="GGUF file for the local engine.")

    auth: Literal["off", "on"] = Field(
        default="off",
        description="off: one local user, no sign-in (a laptop); on: accounts, roles and cohorts.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs session cookies and CSRF tokens; 32+ characters, required with auth on.",
    )
    session_max_age: int = Field(
        default=12 * 3600, ge=60, description="Seconds a sign-in lasts at most."
    )
    session_idle_timeout: int = Field(
        default=2 * 3600, ge=60, description="Seconds without a request before a sign-in ends."
    )
    cookie_secure: bool | None = Field(
        default=None,
        description="Mark the session cookie Secure; unset: only when the request came over https.",
    )
    login_rate_limit: int = Field(
        default=5, ge=1, description="Failed sign-ins per email from one address per window."
    )
    login_account_limit: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins per account (from any address) per window; beyond it each "
        "further try waits twice as long as the last, up to the window.",
    )
    login_address_limit: int = Field(
        default=50, ge=1, description="Failed sign-ins from one address (any email) per window."
    )
    login_rate_window: int = Field(
        default=15 * 60, ge=1, description="Seconds over which failed sign-ins are counted."
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed; empty: none.",
    )
    password_hash_threads: int = Field(
        default_factory=lambda: min(4, max(1, (os.cpu_count() or 2) // 2)),
        ge=1,
        le=64,
        description="Password hashes computed at once per worker (off the event loop).",
    )
    public_url: str | None = Field(
        default=None,
        description="The address people use (https://rapport.example.ac.uk), for printed links.",
    )

    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: lines for a person at a terminal; json: one JSON object a line, "
        "with the request id, for a log collector.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="The least severe log records written."
    )
    prometheus_multiproc_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR"),
        description="Folder where worker processes pool their metrics (prometheus_client's "
        "multiprocess mode); `rapport serve --workers N` sets it up itself.",
    )

    @field_validator("data_dir", "personas_dir", "rubrics_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @model_validator(mode="after")
    def _secret_for_accounts(self) -> Settings:
        if self.auth != "on":
            return self
        key = self.secret_key.get_secret_value().strip() if self.secret_key else ""
        if not key:
            raise ValueError(f"RAPPORT_AUTH=on needs a secret key: {_KEY_HELP}.")
        if key.lower() in _PLACEHOLDER_KEYS or len(key) < 32:
            raise ValueError(
                "RAPPORT_SECRET_KEY is a placeholder or shorter than 32 characters: " + _KEY_HELP
            )
        return self

    @property
    def trusted_proxy_list(self) -> list[str]:
        """The trusted proxies as a list (empty when forwarded headers are not believed)."""
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'rapport.db').as_posix()}"


class SettingsError(ValueError):
    """The environment holds a setting Rapport cannot use; the message names it and the fix."""


def _describe(error: dict) -> str:
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    field = next((str(p) for p in error.get("loc", ()) if p), None)
    if field is None:
        return message  # a check across settings, already phrased with the variables' names
    name = field.upper()
    name = name if name.startswith(("RAPPORT_", "OPENAI_")) else f"RAPPORT_{name}"
    value = error.get("input")
    shown = "" if isinstance(value, dict) or value is None else f" (got {value!r})"
    return f"{name}{shown}: {message}"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, or a SettingsError of one line per bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError("; ".join(_describe(e) for e in exc.errors())) from None
