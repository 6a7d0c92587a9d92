"""Prompt injection: attempts to override the assistant's instructions, matched on normalised text."""

from __future__ import annotations

import re

from pam_mcp.tools.guardrail_rules.normalise import _alt, _squashed_forms, _word_forms

# --------------------------------------------------------------------------------------
# Prompt injection
# --------------------------------------------------------------------------------------

_VERB = r"(?:ignore|ignoring|disregard|forget|override|bypass|skip|drop|abandon|discard)"
_FILLER = "(?:" + _alt(
    "all", "any", "the", "your", "my", "of", "every", "these", "those", "and", "previous", "prior", "above",
    "earlier", "preceding", "past", "initial", "original", "existing", "system", "safety", "developer",
    "content", "current", "other", "its", "their",
) + ")"  # fmt: skip
_QUALIFIER = "(?:" + _alt(
    "previous", "prior", "above", "earlier", "preceding", "initial", "original", "system", "developer",
    "safety", "existing", "all", "your",
) + ")"  # fmt: skip
_TARGET_ANY = "(?:" + _alt(
    "instructions?", "rules", "guidelines", "prompts?", "directives", "commands", "programming", "guardrails",
    "restrictions", "filters", "policies", "policy", "constraints", "limitations", "training",
) + ")"  # fmt: skip
_TARGET_STRONG = r"(?:instructions|prompts?|programming|guardrails|directives|training|system prompt)"
_DEVICE = "(?:" + _alt(
    "phone", "android", "iphone", "ipad", "tablet", "device", "pixel", "samsung", "laptop", "computer", "pc",
    "mac", "tv", "chromebook", "router", "modem", "inverter", "starlink", "app", "browser", "chrome", "car",
    "ecu", "firestick", "fire stick", "kindle", "console", "xbox", "switch", "roku", "watch",
) + ")"  # fmt: skip
_NOT_DEVICE = r"(?! (?:on|in|for|of) (?:my |the |your |a |an )?" + _DEVICE + ")"
_NOT_DEVICE_OBJ = r"(?! (?:my |the |your |a |an )?" + _DEVICE + ")"
_NOT_DEVICE_SQUASHED = r"(?!(?:on|in|for|of)?(?:my|the|your|a|an)?" + _DEVICE.replace(" ", "") + ")"
_YOU_ARE = r"(?:you are|you re|youre|ur|you will be)"
_NO_LIMITS = "(?:" + _alt(
    "restrictions?", "limits", "limitations", "filters?", "rules", "guidelines", "censorship", "ethics",
    "morals", "safeguards", "guardrails", "boundaries", "constraints",
) + ")"  # fmt: skip
_SHOW = _alt(
    "reveal", "show", "print", "display", "repeat", "output", "tell me", "give me", "share", "leak", "dump",
    "what is", "what are", "what was", "what were", "what s", "whats",
)  # fmt: skip
_SHOW_FILLER = _alt(
    "me", "us", "your", "the", "full", "entire", "whole", "exact", "original", "initial", "hidden", "secret",
    "complete", "verbatim", "all", "of", "you", "were", "given",
)  # fmt: skip
_HIDDEN_PROMPT = _alt(
    "system prompt", "system message", "system instructions?", "initial prompt", "initial instructions",
    "hidden (?:prompt|instructions?)", "(?:developer|dev) (?:prompt|message|instructions)",
    "original instructions", "pre ?prompt",
)  # fmt: skip

_INJECTION_WORD_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(p))
    for label, p in (
        ("ignore previous instructions",
         r"\b" + _VERB + "(?: " + _FILLER + "){0,3} " + _QUALIFIER + "(?: " + _FILLER + "){0,2} "
         + _TARGET_ANY + r"\b"),
        ("ignore previous instructions",
         r"\b" + _VERB + "(?: " + _FILLER + "){0,3} " + _TARGET_STRONG + r"\b"),
        ("persona override",
         r"\b" + _YOU_ARE + " now (?:dan|unrestricted|unfiltered|uncensored|jailbroken|no longer|not bound"
         "|in (?:developer|dev|god|dan) mode|evil|rogue"
         "|(?:a|an) (?:new|different|evil|rogue|unrestricted|unfiltered|uncensored) "
         r"(?:ai|assistant|model|bot|chatbot|persona|character|entity))\b"),
        ("persona override",
         r"\b" + _YOU_ARE + " no longer (?:pam|an? (?:assistant|ai|chatbot|bot)|bound|restricted|limited"
         r"|required)\b"),
        ("restriction removal",
         r"\b(?:act|acting|behave|respond|answer|pretend|roleplay|role play|operate|be)\b[^\n]{0,60}?"
         r"\b(?:without|with no|free of|free from|no) (?:any )?" + _NO_LIMITS + r"\b"),
        ("developer mode",
         r"\b(?:developer|dev|god|dan|jailbreak|jailbroken|unrestricted|unfiltered|sudo) mode\b"
         + _NOT_DEVICE),
        ("jailbreak", r"\bjailbr(?:eak|eaks|eaking|oken)\b" + _NOT_DEVICE_OBJ + _NOT_DEVICE),
        ("jailbreak", r"\bdo anything now\b"),
        ("system prompt extraction",
         r"\b(?:" + _SHOW + ")(?: (?:" + _SHOW_FILLER + ")){0,4} (?:" + _HIDDEN_PROMPT + r")\b"),
    )
)  # fmt: skip


def _squash(pattern: str) -> str:
    return pattern.replace(" ", "")


_INJECTION_SQUASHED_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(p))
    for label, p in (
        ("ignore previous instructions",
         "(?:ignore|disregard|forget|override|bypass)(?:all|any|the|your|my|of|these|those|every){0,3}"
         "(?:previous|prior|above|earlier|preceding|initial|original|system|developer|safety)"
         "(?:instructions?|rules|guidelines|prompts?|directives|commands)"),
        ("ignore previous instructions",
         "(?:ignore|disregard|forget|override|bypass)(?:all|any|the|your|my){0,2}"
         "(?:instructions|systemprompt|programming|guardrails|safetyrules|safetyfilters)"),
        ("persona override",
         "youarenow(?:dan|unrestricted|unfiltered|uncensored|jailbroken|indevelopermode|nolonger)"),
        ("developer mode",
         "(?:enable|enter|activate|switchto|turnon)developermode" + _NOT_DEVICE_SQUASHED
         + "|developermode(?:enabled|activated)"),
        ("jailbreak", "doanythingnow|jailbroken(?:ai|assistant|model|mode)"),
        ("system prompt extraction",
         "(?:reveal|show|print|repeat|output|tellme|giveme|leak|dump)"
         "(?:me|us|your|the|full|entire|whole|exact|original|initial|hidden|secret|complete|all|of){0,4}"
         "(?:" + _squash(_HIDDEN_PROMPT) + ")"),
        ("restriction removal",
         "withoutany(?:restrictions|filters|guardrails|safeguards)|nomorerestrictions"),
    )
)  # fmt: skip

_INJECTION_RAW_RE = re.compile(
    _alt(
        r"<\|im_start\|>", r"<\|im_end\|>", r"<\|system\|>", r"<\|endoftext\|>", r"\[/?inst\]", r"<</?sys>>",
        r"#{2,4} ?system\b", r"\b(?:system|developer) (?:prompt|message|override) ?:",
        r"\bnew (?:system )?instructions ?:",
    )
)  # fmt: skip


def _injection_kinds(norm: str) -> list[str]:
    kinds: list[str] = []
    for form in _word_forms(norm):
        kinds.extend(label for label, p in _INJECTION_WORD_PATTERNS if p.search(form))
    for form in _squashed_forms(norm):
        kinds.extend(label for label, p in _INJECTION_SQUASHED_PATTERNS if p.search(form))
    if _INJECTION_RAW_RE.search(norm):
        kinds.append("chat-template or system-role markers")
    return list(dict.fromkeys(kinds))
