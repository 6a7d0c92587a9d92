"""Sensitive data detectors: payment cards, bank details, tax ids and credentials.

Each finder claims spans of the original text in a :class:`_Redactions`; the engine turns
the claimed kinds into findings and the spans into the redacted text.
"""

from __future__ import annotations

import itertools
import re

from pam_mcp.tools.guardrail_rules.checksums import (
    _IBAN_LENGTHS,
    _aba_ok,
    _digits,
    _iban_ok,
    _luhn_ok,
    _sin_ok,
    _ssn_ok,
    _tfn_ok,
)
from pam_mcp.tools.guardrail_rules.redaction import _Redactions

# --------------------------------------------------------------------------------------
# Sensitive data detectors (all run on the original text so spans map back exactly)
# --------------------------------------------------------------------------------------

_I = re.IGNORECASE

# A run of digits joined by spaces/dashes; split into groups in Python.
_DIGIT_RUN_RE = re.compile(r"\d[\d \-]*")
_DIGIT_GROUP_RE = re.compile(r"\d+")


def _card_shape_ok(lengths: list[int]) -> bool:
    total = sum(lengths)
    if not 13 <= total <= 19:
        return False
    if len(lengths) == 1:
        return True
    if lengths[0] != 4:
        return False
    if lengths in ([4, 6, 5], [4, 6, 4]):  # Amex, Diners
        return True
    return len(lengths) >= 3 and all(n == 4 for n in lengths[:-1])


def _find_cards(text: str, red: _Redactions) -> None:
    for run in _DIGIT_RUN_RE.finditer(text):
        groups = list(_DIGIT_GROUP_RE.finditer(text, run.start(), run.end()))
        # Split into segments where groups are joined by exactly one separator.
        segments: list[list[re.Match[str]]] = [[groups[0]]]
        for prev, cur in itertools.pairwise(groups):
            if cur.start() - prev.end() == 1:
                segments[-1].append(cur)
            else:
                segments.append([cur])
        for seg in segments:
            lengths = [g.end() - g.start() for g in seg]
            i = 0
            while i < len(seg):
                found = -1
                if lengths[i] == 4 or 13 <= lengths[i] <= 19:
                    total = 0
                    j = i
                    while j < len(seg) and total + lengths[j] <= 19:
                        total += lengths[j]
                        j += 1
                    for k in range(j - 1, i - 1, -1):  # longest first
                        if _card_shape_ok(lengths[i : k + 1]):
                            digits = _digits(text[seg[i].start() : seg[k].end()])
                            if _luhn_ok(digits) and red.add(
                                seg[i].start(), seg[k].end(), "[card number removed]", "payment_card", "card"
                            ):
                                found = k
                                break
                if found >= 0:
                    i = found + 1
                else:
                    i += 1


_IBAN_START_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?=[A-Za-z0-9 ]{11})")


def _find_ibans(text: str, red: _Redactions) -> None:
    for m in _IBAN_START_RE.finditer(text):
        country = m.group().upper()[:2]
        want = _IBAN_LENGTHS.get(country)
        if want is None:
            continue
        chars: list[str] = []
        pos = m.start()
        end = pos
        while pos < len(text) and len(chars) < want:
            ch = text[pos]
            if ch.isascii() and ch.isalnum():
                chars.append(ch.upper())
                pos += 1
                end = pos
            elif ch == " " and pos + 1 < len(text) and text[pos + 1] != " " and chars:
                pos += 1
            else:
                break
        if len(chars) != want or (end < len(text) and text[end].isascii() and text[end].isalnum()):
            continue
        if _iban_ok("".join(chars)):
            red.add(m.start(), end, "[IBAN removed]", "bank_account", "IBAN")


_SEP = r"\s{0,3}(?:(?:is|are|[:=#-])\s{0,3})?"
_BSB_RE = re.compile(r"\bbsb(?: ?(?:number|num|no\.?|#))?" + _SEP + r"(\d{3}[ -]?\d{3})(?!\d)", _I)
_BSB_PAIR_RE = re.compile(r"(?<![\d-])(\d{3}-\d{3})\s{1,3}(\d{6,10})(?!\d)")
_ACCOUNT_RE = re.compile(
    r"\b(?:account|acct|acc|a/c)(?: ?(?:number|num|no\.?|#))?" + _SEP + r"(\d[\d -]{4,20}\d)(?!\d)", _I
)
_BANK_CONTEXT_RE = re.compile(
    r"\b(?:bsb|banks?|banking|routing|aba|iban|swift|bic|savings|checking|cheque|chequing)\b", _I
)
_ROUTING_CONTEXT_RE = re.compile(r"\b(?:routing|aba|rtn|account|acct|bank)\b", _I)
_SIN_CONTEXT_RE = re.compile(r"\b(?:sin|social insurance)\b", _I)
_SSN_CONTEXT_RE = re.compile(r"\b(?:ssn|social security)\b", _I)
_NINE_DIGIT_RE = re.compile(r"(?<!\d)\d{3}([ -]?)\d{3}\1\d{3}(?!\d)")
_SSN_FORMAT_RE = re.compile(r"(?<!\d)\d{3}([ -])\d{2}\1\d{4}(?!\d)")
_CONTEXT_WINDOW = 40


def _near(pattern: re.Pattern[str], text: str, start: int, end: int) -> bool:
    lo = max(0, start - _CONTEXT_WINDOW)
    hi = min(len(text), end + _CONTEXT_WINDOW)
    return pattern.search(text, lo, hi) is not None


def _find_bank(text: str, red: _Redactions) -> None:
    for m in _BSB_RE.finditer(text):
        red.add(m.start(1), m.end(1), "[BSB removed]", "bank_account", "BSB")
    bank_context = _BANK_CONTEXT_RE.search(text) is not None
    for m in _BSB_PAIR_RE.finditer(text):
        if bank_context and not red.overlaps(m.start(), m.end()):
            red.add(m.start(1), m.end(1), "[BSB removed]", "bank_account", "BSB")
            red.add(m.start(2), m.end(2), "[account number removed]", "bank_account", "account number")
    for m in _NINE_DIGIT_RE.finditer(text):
        d = _digits(m.group())
        if _near(_ROUTING_CONTEXT_RE, text, m.start(), m.end()) and _aba_ok(d):
            red.add(m.start(), m.end(), "[routing number removed]", "bank_account", "US routing number")
    if bank_context:
        for m in _ACCOUNT_RE.finditer(text):
            if 6 <= len(_digits(m.group(1))) <= 17:
                red.add(m.start(1), m.end(1), "[account number removed]", "bank_account", "account number")


def _find_tax_ids(text: str, red: _Redactions) -> None:
    for m in _SSN_FORMAT_RE.finditer(text):
        if _ssn_ok(_digits(m.group())):
            red.add(m.start(), m.end(), "[SSN removed]", "tax_id", "US SSN")
    for m in _NINE_DIGIT_RE.finditer(text):
        if red.overlaps(m.start(), m.end()):
            continue
        d = _digits(m.group())
        if _near(_SIN_CONTEXT_RE, text, m.start(), m.end()) and _sin_ok(d):
            red.add(m.start(), m.end(), "[SIN removed]", "tax_id", "Canadian SIN")
        elif _near(_SSN_CONTEXT_RE, text, m.start(), m.end()) and _ssn_ok(d):
            red.add(m.start(), m.end(), "[SSN removed]", "tax_id", "US SSN")
        elif _tfn_ok(d):
            red.add(m.start(), m.end(), "[TFN removed]", "tax_id", "Australian TFN")


_PASSWORD_RE = re.compile(
    r"\b(?:password|passwd|passphrase|passcode|pwd|pw)\b"
    r"(?: for(?: the| my| our| your)?(?: [a-z0-9-]{1,30})?(?: [a-z0-9-]{1,30})?)?"
    r"\s{0,3}(?:[:=]|\bis\b|'s\b|\u2019s\b)\s{0,3}[\"'\u201c\u2018]?([^\s\"'\u201d\u2019]{1,200})",
    _I,
)
_PASSWORD_NOT_VALUES = frozenset(
    "not wrong incorrect invalid expired too the a an same reset correct right case required saved "
    "stored being still also very changed working missing lost forgotten long short weak strong "
    "different ok okay fine".split()
)
_PIN_RE = re.compile(r"\bpin(?: ?(?:code|number|no\.?|#))?" + _SEP + r"(\d{4,8})(?!\d)", _I)
_GENERIC_SECRET_RE = re.compile(
    r"\b(?:api[ _-]?key|access[ _-]?token|auth[ _-]?token|secret(?:[ _-]?key)?|client[ _-]?secret|token)"
    r"\s{0,3}(?:[:=]|\bis\b)\s{0,3}[\"']?([A-Za-z0-9_\-./+=]{12,400})",
    _I,
)
_BEARER_RE = re.compile(r"\bbearer\s{1,3}([A-Za-z0-9_\-./+=]{12,4000})", _I)
_KEY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("API key", re.compile(r"\bsk-[A-Za-z0-9_\-]{16,400}")),
    ("API key", re.compile(r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,400}")),
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,255}\b")),
    ("GitHub token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,255}")),
    ("AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,255}")),
    ("JWT", re.compile(r"\beyJ[A-Za-z0-9_\-]{5,4000}\.[A-Za-z0-9_\-]{5,4000}\.[A-Za-z0-9_\-]{5,4000}")),
)
_PRIVATE_KEY_BEGIN_RE = re.compile(r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY-----")
_PRIVATE_KEY_END_RE = re.compile(r"-----END[A-Z0-9 ]{0,40}PRIVATE KEY-----")


def _find_credentials(text: str, red: _Redactions) -> None:
    pos = 0
    while True:
        begin = _PRIVATE_KEY_BEGIN_RE.search(text, pos)
        if begin is None:
            break
        end_m = _PRIVATE_KEY_END_RE.search(text, begin.end())
        end = end_m.end() if end_m is not None else len(text)
        red.add(begin.start(), end, "[private key removed]", "credential", "private key")
        pos = end
    for kind, pattern in _KEY_PATTERNS:
        for m in pattern.finditer(text):
            red.add(m.start(), m.end(), "[secret removed]", "credential", kind)
    for m in _BEARER_RE.finditer(text):
        red.add(m.start(1), m.end(1), "[token removed]", "credential", "access token")
    for m in _GENERIC_SECRET_RE.finditer(text):
        red.add(m.start(1), m.end(1), "[secret removed]", "credential", "API key or token")
    for m in _PASSWORD_RE.finditer(text):
        value = m.group(1)
        if value.casefold().rstrip(".,!?;") in _PASSWORD_NOT_VALUES:
            continue
        red.add(m.start(1), m.end(1), "[password removed]", "credential", "password")
    for m in _PIN_RE.finditer(text):
        red.add(m.start(1), m.end(1), "[PIN removed]", "credential", "PIN")
