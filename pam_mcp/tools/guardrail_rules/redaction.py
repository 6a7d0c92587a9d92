"""Redaction bookkeeping: which spans of the original text to replace, and with what."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    marker: str
    rule: str
    kind: str


class _Redactions:
    """Non-overlapping spans of the original text to replace; the first claim wins."""

    def __init__(self) -> None:
        self._spans: list[_Span] = []  # kept sorted by start

    def overlaps(self, start: int, end: int) -> bool:
        lo, hi = 0, len(self._spans)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._spans[mid].start < start:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(self._spans) and self._spans[lo].start < end:
            return True
        return lo > 0 and self._spans[lo - 1].end > start

    def add(self, start: int, end: int, marker: str, rule: str, kind: str) -> bool:
        if start >= end or self.overlaps(start, end):
            return False
        span = _Span(start, end, marker, rule, kind)
        lo, hi = 0, len(self._spans)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._spans[mid].start < start:
                lo = mid + 1
            else:
                hi = mid
        self._spans.insert(lo, span)
        return True

    def kinds(self, rule: str) -> list[str]:
        return list(dict.fromkeys(s.kind for s in self._spans if s.rule == rule))

    def apply(self, text: str) -> str:
        out: list[str] = []
        pos = 0
        for s in self._spans:
            out.append(text[pos : s.start])
            out.append(s.marker)
            pos = s.end
        out.append(text[pos:])
        return "".join(out)
