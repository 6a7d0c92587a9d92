"""The project's errors: the only exceptions that cross a layer boundary.

Every failure a caller can see is one of these; driver exceptions (asyncpg, redis,
httpx) are translated where they happen and never travel further up, so no driver
text can reach an MCP client. Each message is written for a person.

    PamError
     ├── InvalidInput            the arguments break a rule the caller can fix
     ├── NotFound                no such thing, or it belongs to someone else (never says which)
     ├── Forbidden               the caller may not do this (RLS refused it, no identity)
     ├── Conflict                it would duplicate something that must be unique
     ├── RateLimited             too many calls; carries retry_after seconds
     ├── Unavailable             a backing service cannot be reached right now
     │    ├── DatabaseUnavailable
     │    └── LimiterUnavailable
     ├── ConfigurationError      the environment is wrong; says which variable to fix
     └── MigrationError          a migration failed, or an applied file was changed
"""

from __future__ import annotations


class PamError(Exception):
    """Base of every error pam-mcp raises on purpose. ``str(e)`` is safe to show."""


class InvalidInput(PamError):
    """The arguments break a rule the caller can fix."""


class NotFound(PamError):
    """No such thing, or not the caller's; the two are deliberately indistinguishable."""


class Forbidden(PamError):
    """The caller may not do this."""


class Conflict(PamError):
    """The write would duplicate something that must be unique."""


class RateLimited(PamError):
    """Too many calls. ``retry_after`` is the exact number of seconds to wait."""

    def __init__(self, retry_after: float, limit: str) -> None:
        self.retry_after = retry_after
        self.limit = limit
        wait = max(1, int(retry_after + 0.999))
        super().__init__(f"Rate limit of {limit} reached; the next call is allowed in {wait} s.")


class Unavailable(PamError):
    """A backing service cannot be reached right now; retrying later may work."""


class DatabaseUnavailable(Unavailable):
    """PostgreSQL (or Supabase) cannot be reached or failed mid-call."""


class LimiterUnavailable(Unavailable):
    """Redis, which enforces the rate limit, cannot be reached."""


class ConfigurationError(PamError):
    """The environment is wrong; the message names the variable to fix."""


class MigrationError(PamError):
    """A migration failed, or an applied migration file was changed afterwards."""
