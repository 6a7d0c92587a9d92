"""Driving: when the user counts as driving, and requests that need their eyes or hands."""

from __future__ import annotations

import re

from pam_mcp.tools.guardrail_rules.model import GuardrailInputError
from pam_mcp.tools.guardrail_rules.normalise import _alt

# --------------------------------------------------------------------------------------
# Driving
# --------------------------------------------------------------------------------------

_DRIVING_SPEED_KMH = 5.0
_EYES_HANDS_RE = re.compile(
    _alt(
        r"\bread\b(?! (?:me|it (?:out|aloud|to me)|them (?:out|aloud|to me)|out|aloud|to me)\b)",
        r"\breading\b",
        r"\b(?:type|typing|text|texting|write|enter|tap|click|scroll|swipe)\b",
        r"\blook (?:at|up at|over)\b",
        r"\b(?:screen|display|photos?|pictures?|images?|map|chart|table|link|website|app)\b",
        r"\bshow me\b",
        r"\b(?:watch|watching|video|videos|youtube|stream)\b",
        r"\b(?:fill (?:in|out)|form|sign up|log in|login|checkout)\b",
        r"\b(?:confirm|purchase|buy|pay|payment|order|book|booking|reserve)\b",
    )
)


def _is_moving(vehicle_moving: bool | None, speed_kmh: float | None) -> bool:
    if speed_kmh is not None:
        if isinstance(speed_kmh, bool) or not isinstance(speed_kmh, (int, float)):
            raise GuardrailInputError("speed_kmh must be a number of km/h.")
        if speed_kmh != speed_kmh or speed_kmh in (float("inf"), float("-inf")) or speed_kmh < 0:
            raise GuardrailInputError(f"speed_kmh must be a finite, non-negative number (got {speed_kmh}).")
    return vehicle_moving is True or (speed_kmh is not None and speed_kmh > _DRIVING_SPEED_KMH)
