"""Driver errors in, the project's errors out: the only place asyncpg exceptions are read.

Whatever PostgreSQL says stays in the server log (at DEBUG, stderr); the caller gets a
sentence written for a person. That keeps table names, constraint names and SQL out of
what an MCP client, and so a model, ever sees.
"""

from __future__ import annotations

import logging

import asyncpg

from pam_mcp.errors import (
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    PamError,
)

log = logging.getLogger(__name__)

# Foreign keys a tool argument can break, by constraint name: what to tell the caller. One
# table for both stores (asyncpg names the constraint; PostgREST's message quotes it), so an
# unknown trip reads the same whichever way the data is reached. Another person's trip fails
# the same (trip_id, user_id) key, so "no such trip" never says whose it is.
MISSING_REFERENCES = {
    "expenses_trip_fkey": "trip_id: no such trip; use a trip_id that log_trip returned",
    "pam_messages_session_fkey": "session_id: no such session",
    "pam_conversation_memory_session_fkey": "session_id: no such session",
}


def missing_reference(constraint: str | None) -> NotFound:
    """A foreign key violation, naming the argument when the constraint is one a tool argument fills."""
    if constraint in MISSING_REFERENCES:
        return NotFound(f"Invalid arguments: {MISSING_REFERENCES[constraint]}.")
    return NotFound("It refers to something that does not exist.")


_CONNECTION_FAILURES: tuple[type[BaseException], ...] = (
    OSError,
    ConnectionError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.QueryCanceledError,
    asyncpg.ConnectionFailureError,
    # asyncpg's own state machine tripping over a connection the server just dropped.
    asyncpg.InternalClientError,
)


# Said the same way by both stores.
UNREACHABLE = "The database cannot be reached right now; nothing was saved. Try again shortly."
NOT_COMPLETED = "The database could not complete the request; nothing was saved."
# What a pam_ operation raises for an argument the person got wrong (migrations/
# 20261201000100_operations.sql): its message is written for them and names the argument.
PERSON_FACING = "PAM01"


def error_for(sqlstate: str, *, constraint: str | None = None, message: str | None = None) -> PamError:
    """The error a caller may see for a PostgreSQL SQLSTATE: the one table both stores use.

    ``constraint`` names a broken foreign key; ``message`` is read only for ``PAM01``.
    """
    if sqlstate == PERSON_FACING and message:
        return InvalidInput(f"Invalid arguments: {message[:300]}.")
    if sqlstate[:2] in ("08", "53", "57"):
        return DatabaseUnavailable(UNREACHABLE)
    if sqlstate == "42501":
        return Forbidden("That is not yours to change.")
    if sqlstate == "23505":
        return Conflict("That already exists.")
    if sqlstate == "23503":
        return missing_reference(constraint)
    if sqlstate[:2] in ("22", "23"):
        return InvalidInput("The values given break a rule of the data (out of range, missing or malformed).")
    if sqlstate == "P0001":
        return InvalidInput("The request was refused by a rule of the data.")
    return PamError(NOT_COMPLETED)


def translate(exc: BaseException) -> PamError:
    """Map a driver exception to the error a caller may see."""
    if isinstance(exc, PamError):
        return exc
    if isinstance(exc, asyncpg.PostgresError):
        log.debug("postgres error %s: %s", type(exc).__name__, exc)
    else:
        log.debug("database driver error %s: %s", type(exc).__name__, exc)
    if isinstance(exc, _CONNECTION_FAILURES):
        return DatabaseUnavailable(UNREACHABLE)
    if isinstance(exc, asyncpg.PostgresError):
        sqlstate = str(getattr(exc, "sqlstate", "") or "")
        return error_for(
            sqlstate, constraint=getattr(exc, "constraint_name", None), message=getattr(exc, "message", None)
        )
    return PamError(NOT_COMPLETED)
