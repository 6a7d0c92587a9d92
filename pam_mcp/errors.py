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
     │    │    └── OutcomeUnknown   the connection broke while a change was committing
     │    └── LimiterUnavailable
     ├── ConfigurationError      the environment is wrong; says which variable to fix
     └── MigrationError          a migration failed, or an applied file was changed

Whether a failed call saved anything is said once, by the MCP boundary (``pam_mcp/server/``), which
knows what the call committed (``Caller.committed``): "nothing was saved" only when nothing
was, "X was saved" when the failure came after X committed.
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


class OutcomeUnknown(DatabaseUnavailable):
    """The connection broke after the request was sent and before the answer came back:
    the change may or may not have been saved."""

    def __init__(self) -> None:
        super().__init__(
            "The connection to the database broke while the change was being saved, so it may or may "
            "not have been saved. Check before repeating it."
        )


class LimiterUnavailable(Unavailable):
    """Redis, which enforces the rate limit, cannot be reached."""


class ConfigurationError(PamError):
    """The environment is wrong; the message names the variable to fix."""


class MigrationError(PamError):
    """A migration failed, or an applied migration file was changed afterwards."""


def failed_call_message(exc: BaseException, committed: list[str], *, retry_hint: bool) -> str:
    """What to tell a person whose call failed, saying only what is known about what it saved.

    ``committed``: what the call's store writes committed before the failure (in order).
    ``retry_hint``: the tool takes a client_ref, so a retry with the same one counts once.
    """
    if committed:
        if isinstance(exc, Unavailable):
            why = "the database stopped answering"
        elif isinstance(exc, PamError) and type(exc) is not PamError:
            why = str(exc).rstrip(".")
        else:
            why = "pam-mcp hit an internal error"
        saved = " and ".join(committed)
        hint = "; a retry with the same client_ref counts it once" if retry_hint else ""
        return (
            f"{saved[:1].upper()}{saved[1:]} was saved, but the call failed after that ({why}), so the rest of "
            f"the answer is missing. It is saved: do not repeat it{hint}."
        )
    if isinstance(exc, OutcomeUnknown) and retry_hint:
        return f"{str(exc).removesuffix('.')} (a retry with the same client_ref counts once)."
    if isinstance(exc, PamError):
        return str(exc)
    # Every store write marks its commit, and a failed store call rolls its transaction back.
    return "pam-mcp hit an internal error; nothing was saved. Try again."
