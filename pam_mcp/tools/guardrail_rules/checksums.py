"""Check digits: Luhn (cards, Canadian SIN), ABA routing, Australian TFN, US SSN rules, IBAN."""

from __future__ import annotations

import unicodedata


def _digits(s: str) -> str:
    """ASCII digits of ``s`` (any Unicode decimal digit counts); separators dropped."""
    return "".join(str(unicodedata.decimal(ch)) for ch in s if ch.isdecimal())


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _aba_ok(d: str) -> bool:
    if len(d) != 9 or d == "000000000":
        return False
    n = [ord(c) - 48 for c in d]
    return (3 * (n[0] + n[3] + n[6]) + 7 * (n[1] + n[4] + n[7]) + (n[2] + n[5] + n[8])) % 10 == 0


_TFN_WEIGHTS = (1, 4, 3, 7, 5, 8, 6, 9, 10)


def _tfn_ok(d: str) -> bool:
    if len(d) != 9 or d == "000000000":
        return False
    return sum(w * (ord(c) - 48) for w, c in zip(_TFN_WEIGHTS, d, strict=True)) % 11 == 0


def _ssn_ok(d: str) -> bool:
    if len(d) != 9:
        return False
    area, group, serial = d[:3], d[3:5], d[5:]
    return area != "000" and area != "666" and area[0] != "9" and group != "00" and serial != "0000"


def _sin_ok(d: str) -> bool:
    return len(d) == 9 and d != "000000000" and _luhn_ok(d)


_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18,
    "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30,
    "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}  # fmt: skip


def _iban_ok(iban: str) -> bool:
    if len(iban) != _IBAN_LENGTHS.get(iban[:2], -1) or not iban[2:4].isdigit():
        return False
    rearranged = iban[4:] + iban[:4]
    value = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(value) % 97 == 1
