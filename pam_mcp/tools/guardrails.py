"""The safety layer as tools: check a text against the user's guardrails, change the level.

The rules themselves are pure (``guardrail_rules``); this module adds the user's level
and country, and writes every warn or block to ``safety_events`` with the sensitive
parts already removed.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from functools import partial
from typing import Literal

from pydantic import Field

from pam_mcp.tools import guardrail_rules as rules
from pam_mcp.tools.common import Input, Output, ToolContext
from pam_mcp.tools.guardrail_rules.emergency import EMERGENCY_FALLBACK
from pam_mcp.tools.limits import GUARDRAIL_TEXT_CHARS
from pam_mcp.tools.offload import run_cpu
from pam_mcp.tools.spec import ToolSpec

TextKind = Literal["user_message", "draft_reply", "proposed_action"]
MAX_STORED_TEXT = 2000
UNKNOWN_COUNTRY_NUMBERS = "000 in Australia, 911 in North America, 112 in Europe"


class CheckGuardrailsInput(Input):
    text: str = Field(
        min_length=1, max_length=GUARDRAIL_TEXT_CHARS, description="The user message, draft reply or proposed action"
    )
    kind: TextKind = Field(default="user_message", description="What the text is")
    amount: Decimal | None = Field(
        default=None, ge=0, le=Decimal("100000000"), description="Money involved in a proposed action, if any"
    )
    vehicle_moving: bool | None = Field(default=None, description="True while the user is driving")
    speed_kmh: float | None = Field(default=None, ge=0, le=400, allow_inf_nan=False, description="Current speed")


class FindingOut(Output):
    rule: str
    severity: Literal["info", "warn", "block"]
    explanation: str


class CheckGuardrailsResult(Output):
    decision: Literal["allow", "warn", "block"]
    safety_level: rules.SafetyLevel
    findings: list[FindingOut]
    guidance: list[str]
    needs_confirmation: bool
    emergency_number: str = Field(description="The emergency number for the user's country")
    logged_event_id: uuid.UUID | None = Field(description="The safety_events row written for a warn or block")


class SetGuardrailsInput(Input):
    safety_level: rules.SafetyLevel = Field(description="low, medium (the default) or high; high is the strictest")


class SetGuardrailsResult(Output):
    safety_level: rules.SafetyLevel
    previous_level: rules.SafetyLevel


async def check_guardrails(ctx: ToolContext, args: CheckGuardrailsInput) -> CheckGuardrailsResult:
    # One call for the settings. The rules need the level and country before they run, and only
    # their verdict says whether there is an event to log, so a warning or block is logged by a
    # second call after them: a transaction held open across the rules would pin a connection
    # while Python works, and PostgREST cannot hold one across two requests. An allowed message
    # (the common case) is one call.
    level, country = await ctx.store.guardrail_settings(ctx.user)
    result = await run_cpu(
        len(args.text),
        partial(
            rules.evaluate,
            amount=args.amount,
            country_code=country,
            vehicle_moving=args.vehicle_moving,
            speed_kmh=args.speed_kmh,
        ),
        args.text,
        level,
    )
    event_id = None
    if result.decision != "allow":
        event_id = await ctx.store.insert_safety_event(
            ctx.user,
            event_type=",".join(sorted({f.rule for f in result.findings})),
            severity=result.decision,
            details={
                "kind": args.kind,
                "safety_level": level,
                "findings": [f.model_dump() for f in result.findings],
                # Only the redacted text is ever stored.
                "text": result.redacted_text[:MAX_STORED_TEXT],
                "amount": str(args.amount) if args.amount is not None else None,
                "vehicle_moving": args.vehicle_moving,
            },
        )
    return CheckGuardrailsResult(
        decision=result.decision,
        safety_level=level,
        findings=[FindingOut(rule=f.rule, severity=f.severity, explanation=f.explanation) for f in result.findings],
        guidance=result.guidance,
        needs_confirmation=result.needs_confirmation,
        emergency_number=rules.emergency_number(country) if country else UNKNOWN_COUNTRY_NUMBERS,
        logged_event_id=event_id,
    )


async def set_guardrails(ctx: ToolContext, args: SetGuardrailsInput) -> SetGuardrailsResult:
    previous = await ctx.store.set_safety_level(ctx.user, args.safety_level)
    return SetGuardrailsResult(safety_level=args.safety_level, previous_level=previous)


def redact(text: str) -> tuple[str, bool]:
    """The text with card, bank and tax numbers and credentials removed, and whether any were."""
    return rules.redact(text)


# -- declarations (registered by the server layer) -------------------------------------------------

CHECK_GUARDRAILS = ToolSpec(
    name="check_guardrails",
    title="Check a message against the safety rules",
    description="""
        Check a user message, a draft reply or a proposed action (with its amount) against the user's
        safety level (low, medium, high), optionally with the driving state. Returns allow, warn or
        block, each finding (rule, severity, explanation) and guidance to follow. Emergencies always
        get the local emergency number (000 in Australia, 911 in North America). Card, bank and tax
        numbers and credentials are flagged and never stored. Every warn or block is logged.""",
    run=check_guardrails,
    input=CheckGuardrailsInput,
    output=CheckGuardrailsResult,
    read_only=False,
    # Its own bucket, so other calls cannot starve the one that answers an emergency: two checks
    # a turn (the message and the draft reply).
    default_rate="200/hour,30/minute",
    # The person may be describing an emergency: refusing the check must not withhold the
    # numbers. Fixed text: no rules run, nothing is looked up, nothing is written.
    refused_note=EMERGENCY_FALLBACK,
)

SET_GUARDRAILS = ToolSpec(
    name="set_guardrails",
    title="Change the safety level",
    description="""
        Set the user's safety level: low, medium (the default) or high (strictest). Only when the user
        asks for it. Returns the new and the previous level.""",
    run=set_guardrails,
    input=SetGuardrailsInput,
    output=SetGuardrailsResult,
    read_only=False,
    destructive=True,
    idempotent=True,
)

# One sentence for the server's instructions to the model, naming every tool declared here.
GUIDE = (
    "Safety: run check_guardrails on messages that mention emergencies, money actions or personal "
    "numbers and follow its guidance; set_guardrails only when the person asks."
)

TOOLS = (CHECK_GUARDRAILS, SET_GUARDRAILS)
