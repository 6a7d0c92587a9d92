"""Every environment variable pam-mcp reads, read once, in one place.

Nothing else in the package looks at ``os.environ``. An empty variable counts as
unset, so an ``mcp.json`` entry with ``"DATABASE_URL": ""`` means "use the default".
"""

from __future__ import annotations

import os
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pam_mcp.errors import ConfigurationError


def _default_data_dir() -> Path:
    # Per-user data directory, following XDG on Linux and the usual places elsewhere.
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "pam-mcp"


class Settings(BaseSettings):
    """pam-mcp configuration. Field names are the environment variable names."""

    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", case_sensitive=False)

    # Where the data lives. Unset: an embedded PostgreSQL in PAM_DATA_DIR.
    database_url: SecretStr | None = Field(default=None, alias="DATABASE_URL")
    # Where the rate limiter keeps its counters. Unset: an embedded Redis in PAM_DATA_DIR.
    redis_url: SecretStr | None = Field(default=None, alias="REDIS_URL")

    supabase_url: str | None = Field(default=None, alias="SUPABASE_URL")
    supabase_anon_key: SecretStr | None = Field(default=None, alias="SUPABASE_ANON_KEY")
    # Used for migrations and admin checks only, never for a user's data.
    supabase_service_role_key: SecretStr | None = Field(default=None, alias="SUPABASE_SERVICE_ROLE_KEY")
    supabase_jwt_secret: SecretStr | None = Field(default=None, alias="SUPABASE_JWT_SECRET")

    # The stdio user. Unset on the embedded default: one local user is created and kept.
    pam_user_id: uuid.UUID | None = Field(default=None, alias="PAM_USER_ID")
    # On a Supabase project without DATABASE_URL (the REST store), the stdio user signs in as
    # themselves: email and password, or a refresh token from a sign-in elsewhere.
    pam_user_email: str | None = Field(default=None, alias="PAM_USER_EMAIL")
    pam_user_password: SecretStr | None = Field(default=None, alias="PAM_USER_PASSWORD")
    pam_user_refresh_token: SecretStr | None = Field(default=None, alias="PAM_USER_REFRESH_TOKEN")
    pam_data_dir: Path = Field(default_factory=_default_data_dir, alias="PAM_DATA_DIR")

    pam_rate_limit: str = Field(default="100/hour", alias="PAM_RATE_LIMIT")
    # Per-tool overrides, e.g. "log_trip=20/hour,check_guardrails=300/hour".
    pam_tool_rate_limits: str = Field(default="", alias="PAM_TOOL_RATE_LIMITS")
    # What happens when Redis is unreachable: refuse (the limit is a safety control) or allow.
    pam_rate_limit_on_redis_down: Literal["refuse", "allow"] = Field(
        default="refuse", alias="PAM_RATE_LIMIT_ON_REDIS_DOWN"
    )
    pam_subscription_price: Decimal = Field(default=Decimal("14.99"), alias="PAM_SUBSCRIPTION_PRICE", gt=0)
    pam_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="WARNING", alias="PAM_LOG_LEVEL")
    pam_db_pool_size: int = Field(default=10, alias="PAM_DB_POOL_SIZE", ge=1, le=100)

    @field_validator("pam_data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        value = value.expanduser()
        if value.exists() and not value.is_dir():
            raise ValueError("is a file, not a directory")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        return _url_with_scheme(value, ("postgresql", "postgres"))

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        return _url_with_scheme(value, ("redis", "rediss", "unix"))

    @field_validator("supabase_url")
    @classmethod
    def _supabase_url(cls, value: str | None) -> str | None:
        if value is not None:
            _url_with_scheme(SecretStr(value), ("https", "http"))
            parts = urlsplit(value)
            if parts.username is not None or parts.query or parts.fragment or not parts.hostname:
                # It is shown as it is (doctor, logs) and paths are appended to it: the bare project URL only.
                raise ValueError("must be the project URL alone (no user, query or fragment)")
        return value

    @field_validator("pam_user_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and (value.count("@") != 1 or value.startswith("@") or value.endswith("@")):
            raise ValueError("is not an email address")
        return value

    @property
    def rest_store(self) -> bool:
        """Supabase's REST API rather than a database connection: SUPABASE_URL without DATABASE_URL."""
        return self.supabase_url is not None and self.database_url is None

    @property
    def embedded_postgres(self) -> bool:
        return self.database_url is None and not self.rest_store

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None


def _url_with_scheme(value: SecretStr | None, schemes: tuple[str, ...]) -> SecretStr | None:
    """``value`` when it is a URL with one of ``schemes`` and a readable port; never echoes it."""
    if value is None:
        return None
    try:
        parts = urlsplit(value.get_secret_value())
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError:
        raise ValueError("is not a URL") from None  # the message never repeats the value: it may hold a password
    # "localhost:6379" parses with the scheme "localhost": the scheme and its "//" decide.
    if parts.scheme.lower() not in schemes or not value.get_secret_value()[len(parts.scheme) :].startswith("://"):
        raise ValueError("is not a URL of the right kind")
    return value


# What each setting should look like, for the one line a person sees when it is wrong.
EXPECTED = {
    "DATABASE_URL": "a PostgreSQL URL, e.g. postgresql://user:password@localhost:5432/postgres",
    "REDIS_URL": "a Redis URL, e.g. redis://localhost:6379/0 (or rediss://, unix://)",
    "SUPABASE_URL": "the project URL, e.g. https://abcd1234.supabase.co",
    "PAM_USER_ID": "a UUID, e.g. 123e4567-e89b-42d3-a456-426614174000 (the user's auth.users id)",
    "PAM_USER_EMAIL": "an email address",
    "PAM_DATA_DIR": "a directory path",
    "PAM_RATE_LIMIT_ON_REDIS_DOWN": "refuse or allow",
    "PAM_SUBSCRIPTION_PRICE": "a positive amount, e.g. 14.99",
    "PAM_LOG_LEVEL": "DEBUG, INFO, WARNING or ERROR",
    "PAM_DB_POOL_SIZE": "a whole number from 1 to 100",
}


def describe_invalid(exc: ValidationError) -> str:
    """One line naming every bad setting and what it should look like, never its value."""
    problems: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        name = str(error["loc"][0]) if error["loc"] else "the environment"
        name = Settings.model_fields[name].alias or name if name in Settings.model_fields else name
        if name in EXPECTED:
            reason = error["msg"].removeprefix("Value error, ") if error["type"] == "value_error" else "is not valid"
            problems.append(f"{name} {reason}; expected {EXPECTED[name]}")
        else:  # a setting added without an entry above: pydantic's sentence, without the value
            problems.append(f"{name}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)


def load_settings() -> Settings:
    """Read the environment once; callers pass the result down instead of re-reading.

    Raises ConfigurationError with one line naming each bad variable and the expected format.
    """
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(describe_invalid(exc)) from None
