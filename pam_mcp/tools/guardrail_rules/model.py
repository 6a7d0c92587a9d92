"""The engine's vocabulary: levels, decisions, findings, the verdict, and its limits."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from pam_mcp.errors import InvalidInput

# Defined once, beside the store's records; test_categories holds it to the SQL enum.
from pam_mcp.store.records import SafetyLevel as SafetyLevel

Decision = Literal["allow", "warn", "block"]
Severity = Literal["info", "warn", "block"]

MAX_TEXT_CHARS = 20_000

RULE_IDS: tuple[str, ...] = (
    "emergency",
    "payment_card",
    "bank_account",
    "tax_id",
    "credential",
    "prompt_injection",
    "driving",
    "amount_confirmation",
)

_LEVELS: tuple[SafetyLevel, ...] = ("low", "medium", "high")
_RANK: dict[Severity, int] = {"info": 0, "warn": 1, "block": 2}
_DECISION: dict[Severity, Decision] = {"info": "allow", "warn": "warn", "block": "block"}


class GuardrailInputError(InvalidInput, ValueError):
    """The arguments to :func:`evaluate` are unusable (too long, negative amount, ...).

    It is both the project's :class:`InvalidInput` and a plain :class:`ValueError`.
    """


class Finding(BaseModel):
    """One rule that fired. ``explanation`` is written for the assistant reading it."""

    model_config = ConfigDict(frozen=True)

    rule: str
    severity: Severity
    explanation: str


class Evaluation(BaseModel):
    """The engine's verdict on one message."""

    model_config = ConfigDict(frozen=True)

    decision: Decision
    safety_level: SafetyLevel
    findings: list[Finding]
    guidance: list[str]
    redacted_text: str
    needs_confirmation: bool


def default_confirm_threshold(level: SafetyLevel) -> Decimal:
    """The amount at or above which the user must confirm, for a safety level."""
    return _THRESHOLDS[_check_level(level)]


_THRESHOLDS: dict[SafetyLevel, Decimal] = {
    "low": Decimal(500),
    "medium": Decimal(200),
    "high": Decimal(50),
}


def _check_level(level: str) -> SafetyLevel:
    for known in _LEVELS:
        if level == known:
            return known
    raise GuardrailInputError(f"Unknown safety level {level!r}; use one of: low, medium, high.")
