"""Text normalisation for matching (look-alikes, leetspeak, spacing) and a regex helper.

Emergencies and prompt injection are matched on :func:`normalise_for_matching`'s output;
sensitive data is matched on the original text so redaction spans map back exactly.
"""

from __future__ import annotations

import re
import unicodedata

# Look-alike letters (as \u escapes, so the source shows no ambiguous characters) -> Latin.
_CONFUSABLE_PAIRS = (
    # Cyrillic
    "\u0430a\u0432b\u0435e\u0451e\u043ak\u043cm\u043dh\u043eo"
    "\u0440p\u0441c\u0442t\u0443y\u0445x\u0455s\u0456i\u0457i"
    "\u0458j\u0501d\u051bq\u051dw\u04bbh\u04cfl\u0261g\u028fy"
    # Greek
    "\u03b1a\u03b2b\u03b5e\u03b7n\u03b9i\u03bak\u03bcu\u03bdv"
    "\u03bfo\u03c1p\u03c4t\u03c5u\u03c7x\u03b3y\u03c9w"
    # Armenian
    "\u0578n\u057du\u0585o"
    # Latin small capitals and dotless i
    "\u0131i\u026ai\u0262g\u0274n\u1d0fo\u0280r\u1d07e\u1d04c"
    "\u1d1bt\u1d1cu\ua731s\u1d00a\u1d05d\u1d0dm\u1d18p\u029fl"
    "\u1d0bk\u1d21w\u1d20v\u1d22z\u029ch\u1d0aj\ua730f\u0299b"
)
_CONFUSABLES = str.maketrans(
    {
        **{_CONFUSABLE_PAIRS[i]: _CONFUSABLE_PAIRS[i + 1] for i in range(0, len(_CONFUSABLE_PAIRS), 2)},
        # Typographic apostrophes and dashes
        "\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u2032": "'",
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    }
)  # fmt: skip

_LEET_I = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_LEET_L = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})

_WS_RE = re.compile(r"\s+")
_TOKEN_RE = re.compile(r"[a-z0-9@$]+")
_HAS_LETTER_RE = re.compile(r"[a-z]")
_NON_LETTER_RE = re.compile(r"[^a-z]+")


def normalise_for_matching(text: str) -> str:
    """NFKC, drop format characters (zero-width, BOM, soft hyphen) and combining marks,
    casefold, map look-alike letters to Latin, and collapse whitespace.

    Linear and cheap whatever the text: the per-character work is table-driven (``translate``
    with tables built from the text's distinct characters, not a Python loop per character),
    and a character whose compatibility form is a long run of non-Latin text (U+FDFA becomes
    18 characters) is first replaced by that run's first character, so NFKC can grow the text
    at most a few times; no rule matches non-Latin letters, so no verdict changes.
    """
    if text.isascii():  # the usual case: no format characters, no marks, no look-alikes
        t = text.casefold()
    else:
        t = unicodedata.normalize("NFKC", text.translate(_shrink_table(text)))
        t = t.translate(_drop_table(t, ("Cf",))).casefold()
        t = unicodedata.normalize("NFKD", t)
        t = unicodedata.normalize("NFKC", t.translate(_drop_table(t, ("Mn", "Me")))).translate(_CONFUSABLES)
    return _WS_RE.sub(" ", t).strip()


# A compatibility form longer than this, with no Latin letter in it, is shrunk to its first character.
_MAX_FOREIGN_EXPANSION = 2


def _shrink_table(text: str) -> dict[int, str]:
    table: dict[int, str] = {}
    for ch in set(text):
        if ch.isascii():
            continue
        form = unicodedata.normalize("NFKC", ch)
        if len(form) > _MAX_FOREIGN_EXPANSION and not any("a" <= c <= "z" or "A" <= c <= "Z" for c in form):
            table[ord(ch)] = form[0]
    return table


def _drop_table(text: str, categories: tuple[str, ...]) -> dict[int, None]:
    """A ``str.translate`` table deleting the text's characters of these Unicode categories."""
    return {ord(ch): None for ch in set(text) if unicodedata.category(ch) in categories}


def _word_forms(norm: str) -> list[str]:
    """Tokens joined by single spaces, leetspeak mapped inside tokens that contain letters.
    Two variants: "1" read as "i" and as "l"."""
    tokens = _TOKEN_RE.findall(norm)
    forms: list[str] = []
    for table in (_LEET_I, _LEET_L):
        forms.append(" ".join(t.translate(table) if _HAS_LETTER_RE.search(t) else t for t in tokens))
    return list(dict.fromkeys(forms))


def _squashed_forms(norm: str) -> list[str]:
    """Letters only, leetspeak mapped everywhere: defeats "i g n o r e" and "i.g.n.o.r.e"."""
    return list(dict.fromkeys(_NON_LETTER_RE.sub("", norm.translate(t)) for t in (_LEET_I, _LEET_L)))


def _alt(*parts: str) -> str:
    """Join regex alternatives; each part is one readable alternative."""
    return "|".join(parts)
