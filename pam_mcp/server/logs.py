"""Log notifications to the client (``logging/setLevel``, ``notifications/message``).

During a call the guard tells the client what happened: debug (the call was admitted, and how
many calls are left), info (what a write saved), warning (a refusal or an error). A message is
sent only at or above the level the client set with ``logging/setLevel``; before any is set,
nothing is sent.

Where the level lives: HTTP is served stateless (every request is a connection of its own), so
the level set in one request must outlive it. It is kept per person, in this process, for a
bounded number of people: every client of one person shares it, and replicas do not (a client
behind a load balancer may have to set it again). On stdio there is one person and one process.

On the 2026-07-28 protocol ``logging/setLevel`` is gone: the client asks per request with the
``io.modelcontextprotocol/logLevel`` meta key, which the SDK applies itself (see ``_allowed``).
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Any, Final, get_args

from mcp.server.context import ServerRequestContext
from mcp_types import EmptyResult, LoggingLevel, SetLevelRequestParams
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from pam_mcp.server.app import current_caller
from pam_mcp.store.base import Caller

__all__ = ["LogLevels", "send_log", "set_level_handler"]

_ORDER: Final[tuple[str, ...]] = get_args(LoggingLevel)  # severity ascending (RFC 5424)
LOGGER: Final = "pam"
MAX_PEOPLE: Final = 10_000


class LogLevels:
    """The level each person last set, for the most recent MAX_PEOPLE people (oldest dropped)."""

    def __init__(self, limit: int = MAX_PEOPLE) -> None:
        self._levels: OrderedDict[uuid.UUID, str] = OrderedDict()
        self._limit = limit

    def set(self, person: uuid.UUID, level: str) -> None:
        self._levels[person] = level
        self._levels.move_to_end(person)
        while len(self._levels) > self._limit:
            self._levels.popitem(last=False)

    def wants(self, person: uuid.UUID, level: str) -> bool:
        chosen = self._levels.get(person)
        return chosen is not None and _ORDER.index(level) >= _ORDER.index(chosen)


def _modern(ctx: ServerRequestContext[Any, Any]) -> bool:
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS  # per-request opt-in: the SDK filters


async def send_log(
    ctx: ServerRequestContext[Any, Any], levels: LogLevels, person: Caller, level: LoggingLevel, text: str
) -> None:
    """Best effort: a client that went away must not fail the call it made."""
    if not _modern(ctx) and not levels.wants(person.id, level):
        return
    try:
        # Not the deprecated send_log_message (it warns on every call, for both generations): the
        # same notification, which the session filters per request on 2026-07-28 all the same.
        await ctx.session.send_log_message.__wrapped__(  # type: ignore[attr-defined]
            ctx.session, level, text, logger=LOGGER, related_request_id=ctx.request_id
        )
    except Exception:  # a notification is never worth a failed call
        return


def set_level_handler(levels: LogLevels) -> Any:
    """``logging/setLevel``: remembered for the person the guard identified."""

    async def handler(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
        person = current_caller.get()
        if person is not None:  # the guard identifies every setLevel; None only outside it
            levels.set(person.id, params.level)
        return EmptyResult()

    return handler
