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

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pam_mcp.errors import ConfigurationError
from pam_mcp.rates import Rates, parse_rates, parse_tool_rates

# Rate-limit defaults; the README's "Rate limiting" section gives the arithmetic. A turn of a
# conversation costs about 3-4 calls in the global bucket (get_context, log_message for each
# side, now and then an action), so 100 turns an hour fit in 500/hour; 50/minute lets a person
# type as fast as they like and stops an agent stuck in a loop within seconds.
DEFAULT_RATE_LIMIT = "500/hour,50/minute"
# Tools with a bucket of their own by default declare it (``ToolSpec.default_rate``): see buckets.py.


def _tool_rates(text: str) -> dict[str, Rates]:
    """``PAM_TOOL_RATE_LIMITS`` over the declared defaults. The declarations are imported here,
    when the environment is read, not when this module is: they load every tool, which the
    store modules that import Settings must not wait for (nor pull in a cycle)."""
    from pam_mcp.buckets import DEFAULT_TOOL_RATES, TOOL_NAMES

    return parse_tool_rates(DEFAULT_TOOL_RATES, TOOL_NAMES) | parse_tool_rates(text, TOOL_NAMES)


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

    # Calls per person in rolling windows, all of which must have room: "500/hour,50/minute".
    pam_rate_limit: str = Field(default=DEFAULT_RATE_LIMIT, alias="PAM_RATE_LIMIT")
    # Tools with a bucket of their own, e.g. "log_trip=20/hour,5/minute,check_guardrails=300/hour".
    pam_tool_rate_limits: str = Field(default="", alias="PAM_TOOL_RATE_LIMITS")
    # What happens when Redis is unreachable: refuse (the limit is a safety control) or allow.
    pam_rate_limit_on_redis_down: Literal["refuse", "allow"] = Field(
        default="refuse", alias="PAM_RATE_LIMIT_ON_REDIS_DOWN"
    )
    pam_subscription_price: Decimal = Field(default=Decimal("14.99"), alias="PAM_SUBSCRIPTION_PRICE", gt=0)
    pam_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="WARNING", alias="PAM_LOG_LEVEL")
    pam_db_pool_size: int = Field(default=10, alias="PAM_DB_POOL_SIZE", ge=1, le=100)

    # -- remote clients signing people in (OAuth 2.1, Supabase Auth as the authorization server) --
    # Where people reach this server, without /mcp (e.g. https://pam.example.com). With
    # SUPABASE_URL it is all discovery needs; it also turns the Host/Origin checks on.
    pam_public_url: str | None = Field(default=None, alias="PAM_PUBLIC_URL")
    # Host headers and browser Origins accepted over HTTP, comma-separated. Unset: the public
    # URL's own (and loopback when bound to loopback).
    pam_allowed_hosts: str = Field(default="", alias="PAM_ALLOWED_HOSTS")
    pam_allowed_origins: str = Field(default="", alias="PAM_ALLOWED_ORIGINS")
    # Answer each HTTP request as an SSE stream, which carries the call's log notifications
    # (logging/setLevel); off: one JSON body per request, the result only (a little faster).
    pam_http_streaming: bool = Field(default=False, alias="PAM_HTTP_STREAMING")
    # OAuth clients (Supabase client ids) whose tokens are accepted, comma-separated; unset: any.
    pam_oauth_client_ids: str = Field(default="", alias="PAM_OAUTH_CLIENT_IDS")
    # Plain session tokens (no client_id claim: the app's own sign-in, its backend agent).
    pam_accept_session_tokens: bool = Field(default=True, alias="PAM_ACCEPT_SESSION_TOKENS")
    # The consent page Supabase Auth sends people to; "off" when the app hosts its own.
    pam_consent_path: str = Field(default="/oauth/consent", alias="PAM_CONSENT_PATH")

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

    # Rates are read here, once, so a bad one stops pam-mcp at start-up naming the variable
    # and the format, not at the first call (where its error text would reach a client).
    _rate_limits: Rates = PrivateAttr()
    _tool_rate_limits: dict[str, Rates] = PrivateAttr()

    @field_validator("pam_rate_limit")
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        parse_rates(value)
        return value

    @field_validator("pam_tool_rate_limits")
    @classmethod
    def _check_tool_rate_limits(cls, value: str) -> str:
        _tool_rates(value)
        return value

    @model_validator(mode="after")
    def _parse_rates(self) -> Settings:
        # Both were validated above (each naming its variable); this keeps the parsed values.
        self._rate_limits = parse_rates(self.pam_rate_limit)
        self._tool_rate_limits = _tool_rates(self.pam_tool_rate_limits)
        return self

    @property
    def rate_limits(self) -> Rates:
        """PAM_RATE_LIMIT's windows: the global bucket's limit."""
        return self._rate_limits

    @property
    def tool_rate_limits(self) -> dict[str, Rates]:
        """Each tool with a bucket of its own: the declared defaults, overridden by PAM_TOOL_RATE_LIMITS."""
        return dict(self._tool_rate_limits)

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
    "PAM_ACCEPT_SESSION_TOKENS": "true or false",
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
