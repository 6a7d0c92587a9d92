"""What PAM should know before answering, in one bounded call; and the session's memory.

Outputs stay compact on purpose: oversized results are the most common complaint about
database MCP servers, because they crowd the model's context. ``get_context`` caps its
JSON size and says plainly what it left out.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, JsonValue, StringConstraints, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from pam_mcp.store.records import ProfileRecord
from pam_mcp.tools.common import (
    Input,
    Output,
    ToolContext,
    invalid,
    next_month,
)
from pam_mcp.tools.expenses import BudgetLine, budget_lines, totals
from pam_mcp.tools.guardrail_rules import SafetyLevel
from pam_mcp.tools.guardrails import redact
from pam_mcp.tools.limits import (
    MESSAGE_CONTENT_CHARS,
    MESSAGE_METADATA_BYTES,
    MESSAGE_METADATA_KEYS,
    SESSION_CONTEXT_BYTES,
    SESSION_CONTEXT_KEYS,
    TooLarge,
    check_json,
    check_json_size,
    json_bytes,
)
from pam_mcp.tools.maintenance import DueItem, due_item
from pam_mcp.tools.offload import run_cpu
from pam_mcp.tools.savings import GuaranteeStatus, guarantee_status
from pam_mcp.tools.spec import ToolSpec
from pam_mcp.tools.trips import TripSummary, summarize_brief

MAX_CONTEXT_CHARS = 12_000
DEFAULT_CURRENCY = "AUD"  # profiles.currency's default, for a person without a profile yet
MAX_MESSAGE_CHARS = 1_000
MAX_FIELD_CHARS = 200
TRUNCATED = "…[truncated]"
# Room kept under MAX_CONTEXT_CHARS for the truncation note written after the trimming.
NOTE_ROOM = 300
# Any JSON value, spelled out: pydantic's JsonValue schema is `{}`, which strict clients
# (the MCP Inspector's --strict) flag as unportable.
AnyJson = Annotated[
    JsonValue,
    WithJsonSchema({"anyOf": [{"type": t} for t in ("string", "number", "boolean", "object", "array", "null")]}),
]


class GetContextInput(Input):
    session_id: uuid.UUID | None = Field(default=None, description="The conversation; default the most recent one")
    message_limit: int = Field(default=20, ge=0, le=100, description="How many recent messages to include")


class ProfileOut(Output):
    display_name: str | None
    country_code: str | None
    timezone: str | None
    currency: str
    home_base: str | None
    rv_type: str | None
    rv_length_m: Decimal | None


LOCAL_TIME = "ISO 8601 in the person's time zone"


class MessageOut(Output):
    role: str
    content: str
    at: dt.datetime = Field(description=LOCAL_TIME)


class EventOut(Output):
    title: str
    starts_at: dt.datetime = Field(description=LOCAL_TIME)
    ends_at: dt.datetime | None = Field(description=LOCAL_TIME)
    location: str | None


class SpendingOut(Output):
    month: str
    total: Decimal
    count: int
    by_category: dict[str, Decimal]
    budgets: list[BudgetLine]


class ContextResult(Output):
    today: dt.date = Field(description="The person's today (YYYY-MM-DD) in their time zone: 'today' for every tool")
    timezone: str = Field(description="The IANA time zone the dates and times are in (UTC until the profile sets one)")
    currency: str = Field(description="ISO 4217 code every amount is in")
    profile: ProfileOut | None
    session_id: uuid.UUID | None
    session_context: dict[str, Any]
    messages: list[MessageOut]
    spending_this_month: SpendingOut
    savings_this_month: GuaranteeStatus
    latest_trip: TripSummary | None
    upcoming_events: list[EventOut]
    maintenance_due: list[DueItem] = Field(default_factory=list, description="Services overdue or due (at most 5)")
    safety_level: SafetyLevel
    truncated: bool = Field(description="True when parts were left out to keep this result small")
    truncation_note: str | None = None


def profile_out(p: ProfileRecord | None, *, clip: bool = False) -> ProfileOut | None:
    """The profile as tools show it (preferences left out); ``clip`` shortens free text."""
    if p is None:
        return None
    fields = p.model_dump(exclude={"preferences"})
    if clip:  # free text has no length limit in the schema; clipped, get_context's cap can hold
        for name in ("display_name", "home_base", "timezone", "rv_type"):
            if isinstance(fields.get(name), str):
                fields[name] = _clip(fields[name], MAX_FIELD_CHARS)
    return ProfileOut(**fields)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED


def _clip_optional(text: str | None) -> str | None:
    return None if text is None else _clip(text, MAX_FIELD_CHARS)


def _fit(result: ContextResult) -> ContextResult:
    """Drop the oldest messages, then later calendar events, until the JSON fits the cap.

    Linear: the result without its lists and every item are serialised once each, and the
    dropping subtracts their sizes (a list's JSON is its items' JSON joined by commas).
    """
    if len(result.model_dump_json()) <= MAX_CONTEXT_CHARS:  # the usual case: measured once
        return result
    budget = MAX_CONTEXT_CHARS - NOTE_ROOM
    messages, events = result.messages, result.upcoming_events
    message_sizes = [len(m.model_dump_json()) + 1 for m in messages]  # + 1: the comma
    event_sizes = [len(e.model_dump_json()) + 1 for e in events]
    bare = result.model_copy(update={"messages": [], "upcoming_events": []})
    size = len(bare.model_dump_json()) + sum(message_sizes) + sum(event_sizes)
    notes: list[str] = []
    dropped = 0
    while size > budget and dropped < len(messages):
        size -= message_sizes[dropped]
        dropped += 1
    if dropped:
        result.messages = messages[dropped:]
        notes.append(f"{dropped} older message(s) left out")
    kept = len(events)
    while size > budget and kept:
        kept -= 1
        size -= event_sizes[kept]
    if kept < len(events):
        result.upcoming_events = events[:kept]
        notes.append(f"{len(events) - kept} later calendar event(s) left out")
    if size > budget and result.session_context:
        result.session_context = {
            "_truncated": "the session context is too large to include; trim it with update_context"
        }
        notes.append("session context left out")
    if notes:
        earlier = [result.truncation_note] if result.truncation_note else []
        result.truncated = True
        result.truncation_note = "; ".join(earlier + notes) + f" to stay under {MAX_CONTEXT_CHARS} characters."
    return result


async def get_context(ctx: ToolContext, args: GetContextInput) -> ContextResult:
    # One store call, one transaction (one request on Supabase's REST API): nine reads, for the
    # person's current month in their own time zone.
    snap = await ctx.store.context_snapshot(ctx.user, args.session_id, args.message_limit, now=ctx.now())
    month = snap.month_start
    month_end = next_month(month) - dt.timedelta(days=1)
    today = snap.today or ctx.now().date()
    session, messages = snap.session, snap.messages
    total, count = totals(snap.spending)
    clipped_messages = [m for m in messages if len(m.content) > MAX_MESSAGE_CHARS]
    result = ContextResult(
        today=today,
        # The zone pam_today used: UTC when unset or not one the database knows.
        timezone=snap.profile.timezone if snap.profile and snap.profile.timezone and not snap.refused_zone else "UTC",
        currency=snap.profile.currency if snap.profile else DEFAULT_CURRENCY,
        profile=profile_out(snap.profile, clip=True),
        session_id=session.id if session else None,
        session_context=session.context if session else {},
        messages=[
            MessageOut(role=m.role, content=_clip(m.content, MAX_MESSAGE_CHARS), at=m.created_at) for m in messages
        ],
        spending_this_month=SpendingOut(
            month=month.strftime("%Y-%m"),
            total=total,
            count=count,
            by_category={g.key or "": g.total for g in snap.spending},
            budgets=budget_lines(snap.budgets, snap.spending, month, month_end),
        ),
        savings_this_month=guarantee_status(month, snap.month_saved, ctx.subscription_price, today),
        latest_trip=summarize_brief(snap.latest_trip) if snap.latest_trip else None,
        upcoming_events=[
            EventOut(title=e.title, starts_at=e.starts_at, ends_at=e.ends_at, location=_clip_optional(e.location))
            for e in snap.upcoming_events
        ],
        maintenance_due=[due_item(raw) for raw in snap.maintenance_due],
        safety_level=snap.safety_level,
        truncated=bool(clipped_messages),
        truncation_note=f"{len(clipped_messages)} long message(s) shortened" if clipped_messages else None,
    )
    return _fit(result)


def _bounded_json(value: Any, max_bytes: int) -> Any:
    """Depth, count and size caps on a free-form JSON argument, checked before pydantic walks it
    (and before redaction or the database): the work stays bounded whatever was sent."""
    try:
        check_json(value)
        check_json_size(value, max_bytes)
    except TooLarge as exc:  # a custom error: its message is shown as is, with no "Value error, "
        raise PydanticCustomError("too_large", str(exc)) from None
    except (TypeError, ValueError):
        pass  # not JSON-shaped: pydantic's own validation names the problem
    return value


# The caps ride on the types (not a model validator), so they run wherever the type is
# validated, the SDK's own argument check included: before anything walks a huge value.
Facts = Annotated[dict[str, AnyJson], BeforeValidator(lambda value: _bounded_json(value, SESSION_CONTEXT_BYTES))]
Metadata = Annotated[dict[str, AnyJson], BeforeValidator(lambda value: _bounded_json(value, MESSAGE_METADATA_BYTES))]


class UpdateContextInput(Input):
    session_id: uuid.UUID | None = Field(default=None, description="The session to update; omit to start a new one")
    facts: Facts = Field(
        default_factory=dict,
        max_length=SESSION_CONTEXT_KEYS,
        description=f"Keys and values to remember for this session, merged over what is there "
        f"(at most {SESSION_CONTEXT_BYTES} bytes as JSON, with what is kept)",
    )
    remove: list[Annotated[str, StringConstraints(max_length=100)]] = Field(
        default_factory=list, max_length=SESSION_CONTEXT_KEYS, description="Keys to forget"
    )

    @field_validator("facts")
    @classmethod
    def _keys(cls, facts: dict[str, AnyJson]) -> dict[str, AnyJson]:
        for key in facts:
            if not 1 <= len(key) <= 100:
                raise ValueError("every fact key must be 1 to 100 characters")
        return facts


class UpdateContextResult(Output):
    session_id: uuid.UUID
    keys: list[str] = Field(description="Every key the session context now holds")
    size_bytes: int


async def update_context(ctx: ToolContext, args: UpdateContextInput) -> UpdateContextResult:
    if not args.facts and not args.remove and args.session_id is not None:
        raise invalid("give facts to merge or keys to remove")
    session = await ctx.store.merge_context(ctx.user, args.session_id, dict(args.facts), args.remove)
    return UpdateContextResult(
        session_id=session.id,
        keys=sorted(session.context),
        size_bytes=len(json.dumps(session.context, separators=(",", ":")).encode()),
    )


class LogMessageInput(Input):
    session_id: uuid.UUID = Field(description="The session (from update_context or get_context)")
    role: Literal["user", "pam"] = Field(description="Who said it: the user, or PAM")
    content: str = Field(min_length=1, max_length=MESSAGE_CONTENT_CHARS)
    metadata: Metadata = Field(
        default_factory=dict,
        max_length=MESSAGE_METADATA_KEYS,
        description=f"Extra facts about the message (at most {MESSAGE_METADATA_BYTES} bytes as JSON)",
    )


class LogMessageResult(Output):
    message_id: uuid.UUID
    session_id: uuid.UUID
    redacted: bool = Field(description="True when card, bank or tax numbers or credentials were removed before storing")


def _redact_json(value: Any) -> tuple[Any, bool]:
    """Every string inside a JSON value redacted, and whether any was."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        pairs = [(k, _redact_json(v)) for k, v in value.items()]
        return {k: v for k, (v, _) in pairs}, any(changed for _, (_, changed) in pairs)
    if isinstance(value, list):
        items = [_redact_json(v) for v in value]
        return [v for v, _ in items], any(changed for _, changed in items)
    return value, False


def _redact_message(content: str, metadata: dict[str, Any]) -> tuple[str, Any, bool]:
    clean, redacted = redact(content)
    clean_metadata, metadata_redacted = _redact_json(metadata)
    return clean, clean_metadata, redacted or metadata_redacted


async def log_message(ctx: ToolContext, args: LogMessageInput) -> LogMessageResult:
    # Bounded by the caps (20,000 characters and 16 KB of metadata); in a worker thread when large.
    size = len(args.content) + (json_bytes(args.metadata) if args.metadata else 0)
    content, metadata, redacted = await run_cpu(size, _redact_message, args.content, dict(args.metadata))
    message = await ctx.store.insert_message(ctx.user, args.session_id, args.role, content, metadata)
    return LogMessageResult(message_id=message.id, session_id=message.session_id, redacted=redacted)


# -- declarations (registered by the server layer) -------------------------------------------------

GET_CONTEXT = ToolSpec(
    name="get_context",
    title="Get what PAM should know",
    description="""
        One compact snapshot to read before answering: the person's today, time zone and currency
        (dates and times in every answer are in that zone), their profile, the conversation's stored
        context and recent messages (default 20, at most 100), this month's spending against budgets,
        this month's savings and guarantee status, the latest trip, upcoming calendar events and the
        safety level. Defaults to the most recent session. Large parts are trimmed; 'truncated' says so.""",
    run=get_context,
    input=GetContextInput,
    output=ContextResult,
    read_only=True,
    idempotent=True,
)

UPDATE_CONTEXT = ToolSpec(
    name="update_context",
    title="Remember facts for this conversation",
    description="""
        Merge facts (a JSON object of up to 50 keys) into a session's context, or remove keys. Omit
        session_id to start a new session and get its id. The context is limited to 16 KB.""",
    run=update_context,
    input=UpdateContextInput,
    output=UpdateContextResult,
    read_only=False,
    destructive=True,
    idempotent=True,
)

LOG_MESSAGE = ToolSpec(
    name="log_message",
    title="Store a conversation turn",
    description="""
        Store one message of the conversation (role 'user' or 'pam') in a session. Card, bank and tax
        numbers and credentials are removed before it is stored.""",
    run=log_message,
    input=LogMessageInput,
    output=LogMessageResult,
    read_only=False,
)

# One sentence for the server's instructions to the model, naming every tool declared here.
GUIDE = (
    "Conversation memory: get_context (call it first in a conversation: the person's today, time "
    "zone, currency, budgets, latest trip, upcoming events, maintenance due), update_context, "
    "log_message."
)

TOOLS = (GET_CONTEXT, UPDATE_CONTEXT, LOG_MESSAGE)
