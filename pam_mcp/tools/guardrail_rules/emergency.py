"""Emergencies: emergency numbers and crisis lines by country, and the patterns that spot one."""

from __future__ import annotations

import re

from pam_mcp.tools.guardrail_rules.normalise import _alt

# --------------------------------------------------------------------------------------
# Emergency numbers
# --------------------------------------------------------------------------------------

_EU_MEMBERS = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE"
_EU_112 = [*_EU_MEMBERS.split(), "IS", "NO", "CH", "LI"]  # plus EEA members and Switzerland

_EMERGENCY_NUMBERS: dict[str, str] = {
    "AU": "000",
    "NZ": "111",
    "US": "911",
    "CA": "911",
    "MX": "911",
    "GB": "999",
    **{code: "112" for code in _EU_112},
}
_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}
_DEFAULT_EMERGENCY_NUMBER = "112"
_UNKNOWN_EMERGENCY = "your local emergency number (000 in Australia, 911 in North America, 112 in Europe)"

_CRISIS_LINES: dict[str, str] = {
    "AU": "Lifeline on 13 11 14",
    "NZ": "Need to Talk? by calling or texting 1737",
    "US": "the 988 Suicide & Crisis Lifeline (call or text 988)",
    "CA": "the 988 Suicide Crisis Helpline (call or text 988)",
    "GB": "Samaritans on 116 123",
}
_UNKNOWN_CRISIS = "Lifeline 13 11 14 in Australia, or 988 in the US and Canada"

# For when no check can run (check_guardrails refused by the rate limiter): fixed text that
# needs no country, no rules and no I/O, so an emergency is never met with silence.
EMERGENCY_FALLBACK = (
    f"If this is an emergency, call {_UNKNOWN_EMERGENCY} now. "
    f"If someone is thinking of harming themselves, contact {_UNKNOWN_CRISIS}."
)


def _country(country_code: str | None) -> str | None:
    if country_code is None:
        return None
    code = country_code.strip().upper()
    return _COUNTRY_ALIASES.get(code, code) or None


def emergency_number(country_code: str | None) -> str:
    """The emergency phone number for an ISO 3166 alpha-2 country code.

    "000" in Australia, "111" in New Zealand, "911" in the US, Canada and Mexico,
    "999" in the UK, "112" in EU/EEA countries and Switzerland, and "112" by default.
    """
    code = _country(country_code)
    if code is None:
        return _DEFAULT_EMERGENCY_NUMBER
    return _EMERGENCY_NUMBERS.get(code, _DEFAULT_EMERGENCY_NUMBER)


def _emergency_phrase(country_code: str | None) -> str:
    code = _country(country_code)
    if code is not None and code in _EMERGENCY_NUMBERS:
        return _EMERGENCY_NUMBERS[code]
    return _UNKNOWN_EMERGENCY


# --------------------------------------------------------------------------------------
# Emergencies (matched on the normalised text)
# --------------------------------------------------------------------------------------

_PERSON = _alt(
    "he", "she", "they", "someone", "somebody", "i", "husband", "wife", "partner", "mum", "mom", "dad",
    "mate", "friend", "son", "daughter", "child", "kid", "baby", "man", "woman", "person", "driver",
    "passenger",
)  # fmt: skip
_INJURY = r"(?:injur\w*|hurt|bleeding|unconscious|trapped|pinned|broken|not moving|ambulance|dead|dying)"
_CRASH = (
    r"(?:crash|crashed|accident|collision|rolled over|rollover|head-on|hit by a"
    r"|rolled (?:the|our|my) (?:van|car|caravan|ute|truck|rig|motorhome))"
)
_VENOMOUS = r"(?:snake|funnel-?web|redback|spider|box jellyfish|irukandji|blue-?ringed octopus|stonefish)"

_EMERGENCY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(_alt(*parts)))
    for label, parts in (
        ("chest pain / heart attack", (
            r"\bchest (?:pains?|tightness|pressure)\b",
            r"\bheart attack\b",
            r"\bcardiac arrest\b",
            r"\bpain in (?:my|his|her|their) chest\b",
            r"\bclutching (?:my|his|her|their) chest\b",
        )),
        ("cannot breathe", (
            r"\b(?:can't|cant|cannot|can not|couldn't|unable to|not able to|struggling to|hard to) breathe\b",
            r"\b(?:trouble|difficulty|problems?|struggling) breathing\b",
            r"\b(?:not|stopped|isn't|is not|wasn't|barely|no longer) breathing\b",
            r"\bchoking\b",
            r"\basthma attack\b",
            r"\bcan't catch (?:my|his|her|their) breath\b",
        )),
        ("unconscious", (
            r"\bunconscious\b",
            r"\bunresponsive\b",
            r"\bwon't wake up\b",
            r"\bnot waking up\b",
            r"\bcan't wake (?:him|her|them)\b",
            r"\b(?:" + _PERSON + r")(?:'s| is|'re| are) (?:not|isn't) responding\b",
            r"\b(?:" + _PERSON + r"|and) (?:isn't|is not|aren't|are not|wasn't|was not) responding\b",
            r"\b(?:" + _PERSON + r") (?:has |have |just |suddenly )?"
            r"(?:collapsed|fainted|passed out|blacked out)\b",
        )),
        ("overdose / poisoning", (
            r"\bover ?dos(?:e|ed|ing)\b",
            r"\bod'd\b",
            r"\btook too many (?:pills|tablets)\b",
            r"\bswallowed (?:poison|bleach|a bottle)\b",
            r"\bswallowed (?:some |a handful of |all (?:the |his |her |my |their )?)?"
            r"(?:pills|tablets|medication|meds|a battery|batteries|a button battery)\b",
            r"(?<!food )\bpoison(?:ed|ing)\b",
        )),
        ("stroke signs", (
            r"\b(?:having|had|is having) a stroke\b",
            r"\bstroke (?:symptoms|signs)\b",
            r"\b(?:face|mouth|smile) (?:is )?(?:drooping|droopy)\b",
            r"\bdrooping (?:face|mouth)\b",
            r"\bslurred speech\b",
            r"\bslurring (?:his |her |their |my )?words\b",
        )),
        ("severe bleeding", (
            r"\b(?:severe|heavy|uncontrolled|profuse) bleeding\b",
            r"\bbleeding (?:heavily|badly|a lot|everywhere|profusely|out|so much)\b",
            r"\b(?:losing|lost) (?:a lot of|so much|too much|lots of) blood\b",
            r"\b(?:won't|can't|cannot) stop (?:the )?bleeding\b",
        )),
        ("fire", (
            r"\bon fire\b",
            r"\b(?:caught|catching|catches) (?:on )?(?:fire|alight)\b",
            r"\bthere(?:'s| is) a fire\b",
            r"\bsmoke (?:is )?(?:pouring|billowing|coming) (?:out|from)\b",
            r"\b(?:bush ?fire|wild ?fire|grass ?fire|fire) (?:is )?"
            r"(?:coming|approaching|heading|closing in|surrounding)\b",
            r"\btrapped by (?:the )?(?:fire|flames|smoke)\b",
        )),
        ("crash with injury", (
            r"\b" + _CRASH + r"\b[^.!?\n]{0,80}?\b" + _INJURY + r"\b",
            r"\b(?:injured|hurt|bleeding|trapped|pinned|unconscious)\b[^.!?\n]{0,80}?\b" + _CRASH + r"\b",
        )),
        ("bite or sting", (
            r"\bsnake ?bite\b(?! kits?\b)",
            r"\bbitten by (?:a |an )?(?:\w+ )?(?:snake|spider|croc(?:odile)?|shark)\b",
            r"\bstung by (?:a |an )?(?:box jellyfish|irukandji|stonefish|jellyfish)\b",
            r"\b" + _VENOMOUS + r"s?\b[^.!?\n]{0,40}?\b(?:bit|bitten|stung)\b",
            r"\banaphyla\w*",
            r"\b(?:severe|serious|bad) allergic reaction\b",
            r"\b(?:throat|tongue|lips|face) (?:is |are )?(?:swelling|swollen|closing)\b",
        )),
        ("carbon monoxide / gas", (
            r"\b(?:carbon monoxide|co|gas|lpg|propane) (?:alarm|detector)s? "
            r"(?:is |are |has |have |keeps |just |started )?"
            r"(?:going off|gone off|went off|goes off|beeping|sounding|alarming|screaming|triggered"
            r"|blaring)\b",
            r"\b(?:co|carbon monoxide) poisoning\b",
            r"\bgas leak",
            r"\b(?:lpg|propane|gas) (?:is )?leaking\b",
            r"\bleaking (?:gas|lpg|propane)\b",
            r"\b(?:smell|smells|smelling|smelt|smelled) (?:of )?(?:gas|lpg|propane)\b",
        )),
        ("medical emergency", (
            r"\b(?:having|had) a (?:seizure|fit)\b",
            r"\bconvuls(?:ing|ions?)\b",
            r"\bheat ?stroke\b",
            r"\bhypotherm\w*",
            r"\bdrowning\b",
            r"\bswept away\b",
            r"\b(?:" + _PERSON + r") (?:fell|has fallen) (?:in|into) the "
            r"(?:river|creek|water|sea|ocean|lake|dam)\b",
            r"\b(?:stuck|trapped|stranded)\b[^.!?\n]{0,40}?"
            r"\b(?:flood ?water|floodwaters?|rising water|water (?:is )?rising)\b",
        )),
        ("danger", (
            r"\b(?:being|been|getting) attacked\b",
            r"\battacking (?:me|us)\b",
            r"\bintruder\b",
            r"\b(?:someone|somebody|a man|a guy|people|they)(?:'s| is|'re| are) "
            r"(?:trying to break in|(?:trying to break|breaking) into (?:the|our|my) "
            r"(?:van|caravan|camper|motorhome|rig|car|ute|truck|tent|cabin|house))\b",
            r"\bthreaten(?:ing|ed) to (?:kill|hurt)\b",
            r"\bin danger\b",
            r"\bhelp(?: me| us)?\b[^.!?\n]{0,60}?\b(?:dying|attacked|trapped|bleeding|drowning)\b",
            r"\b(?:it's|this is|it is) an emergency\b",
            r"\bmedical emergency\b",
        )),
        ("asks for emergency services", (
            r"\b(?:call|need|get|send) (?:an? |the )?"
            r"(?:ambulance|paramedics|police|fire brigade|fire department|rescue)\b",
            r"\bcall (?:000|911|111|112|999|triple zero)\b",
            r"\bmayday\b",
            r"\bsos\b",
        )),
    )
)  # fmt: skip

_SELF_HARM_RE = re.compile(
    _alt(
        r"\bkill(?:ing)? myself\b",
        r"\bend(?:ing)? (?:my life|it all)\b",
        r"\bsuicid\w*",
        r"\bself-? ?harm\w*",
        r"\b(?:want|wanna|going|planning|thinking about|thought about) (?:to )?"
        r"(?:die|hurt myself|harm myself|cut myself|kill myself)\b",
        r"\bno (?:reason|point) (?:to live|in living|in going on)\b",
        r"\bbetter off dead\b",
        r"\btake my (?:own )?life\b",
        r"\bdon't want to (?:live|be alive|be here anymore|wake up)\b",
    )
)


def _emergency_kinds(norm: str) -> tuple[list[str], bool]:
    kinds = [label for label, pattern in _EMERGENCY_PATTERNS if pattern.search(norm)]
    self_harm = _SELF_HARM_RE.search(norm) is not None
    if self_harm:
        kinds.append("self-harm / suicide risk")
    return kinds, self_harm
