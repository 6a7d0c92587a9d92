"""PAM's safety rules engine: given a message and the user's safety level, decide.

This module is pure: no I/O, no database, no MCP. The tool layer above it reads the
user's level, calls :func:`evaluate`, stores ``redacted_text`` (never the original) and
the findings, and shows ``guidance`` to the assistant.

Rules (the ``rule`` id of each finding), strictest at ``high``:

===================== ============ ============ =====================================
rule                  low          medium       high
===================== ============ ============ =====================================
emergency             warn         warn         warn (an emergency is never blocked)
payment_card          warn         block        block
bank_account          warn         block        block
tax_id                warn         block        block
credential            warn         block        block
prompt_injection      info         warn         block
driving               info         warn         block if it needs eyes/hands, else warn
amount_confirmation   warn         warn         warn (thresholds 500 / 200 / 50)
===================== ============ ============ =====================================

When an emergency is detected every other finding is capped at ``warn``: blocking the
reply would also block the emergency number. Sensitive data is still redacted.

Regular expressions are compiled once at import. To stay safe against catastrophic
backtracking no group that itself contains a quantifier is repeated (only made
optional with ``?``), adjacent whitespace quantifiers are bounded, and anything that
needs more structure (card digit groups, IBANs, private-key blocks) is walked in Python.
"""

from __future__ import annotations

import re

from pam_mcp.tools.guardrail_rules import (
    checksums,
    driving,
    emergency,
    engine,
    injection,
    model,
    normalise,
    redaction,
    sensitive,
)
from pam_mcp.tools.guardrail_rules.emergency import emergency_number
from pam_mcp.tools.guardrail_rules.engine import evaluate, redact
from pam_mcp.tools.guardrail_rules.model import (
    MAX_TEXT_CHARS,
    RULE_IDS,
    Decision,
    Evaluation,
    Finding,
    GuardrailInputError,
    SafetyLevel,
    Severity,
    default_confirm_threshold,
)
from pam_mcp.tools.guardrail_rules.normalise import normalise_for_matching

__all__ = [
    "MAX_TEXT_CHARS",
    "RULE_IDS",
    "Decision",
    "Evaluation",
    "Finding",
    "GuardrailInputError",
    "SafetyLevel",
    "Severity",
    "default_confirm_threshold",
    "emergency_number",
    "evaluate",
    "normalise_for_matching",
    "redact",
]


def _compiled_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Every compiled regex of the engine's modules, each once, named by where it lives."""
    found: dict[int, tuple[str, re.Pattern[str]]] = {}
    modules = (checksums, driving, emergency, engine, injection, model, normalise, redaction, sensitive)
    for module in modules:
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                found.setdefault(id(value), (f"{module.__name__}.{name}", value))
            elif isinstance(value, tuple):
                for item in value:
                    if isinstance(item, tuple):
                        for x in item:
                            if isinstance(x, re.Pattern):
                                found.setdefault(id(x), (f"{module.__name__}.{name}", x))
    return tuple(found.values())


# The patterns live in the modules above; gathered here so that one look at this package's
# namespace (the nested-repeat audit in tests/test_guardrail_rules.py) still sees all of them.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = _compiled_patterns()
