"""get_context's size cap: what is left out first, and that the result says so."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from pam_mcp.tools.conversation import (
    MAX_CONTEXT_CHARS,
    ContextResult,
    EventOut,
    MessageOut,
    SpendingOut,
    _fit,
)
from pam_mcp.tools.savings import guarantee_status

START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def context(messages: int = 0, events: int = 0, facts: dict[str, Any] | None = None) -> ContextResult:
    """A result with ``messages`` messages (oldest first, as get_context lists them) and ``events`` events
    (soonest first), each about 500 characters of JSON."""
    return ContextResult(
        today=dt.date(2026, 11, 5),
        timezone="UTC",
        currency="AUD",
        profile=None,
        session_id=uuid.uuid4(),
        session_context=facts or {},
        messages=[
            MessageOut(role="user", content=f"message {i}: " + "m" * 450, at=START + dt.timedelta(minutes=i))
            for i in range(messages)
        ],
        spending_this_month=SpendingOut(month="2026-11", total=Decimal("0.00"), count=0, by_category={}, budgets=[]),
        savings_this_month=guarantee_status(
            dt.date(2026, 11, 1), Decimal("0.00"), Decimal("14.99"), dt.date(2026, 11, 5)
        ),
        latest_trip=None,
        upcoming_events=[
            EventOut(
                title=f"event {i}: " + "e" * 400, starts_at=START + dt.timedelta(days=i), ends_at=None, location=None
            )
            for i in range(events)
        ],
        safety_level="medium",
        truncated=False,
    )


def size(result: ContextResult) -> int:
    return len(result.model_dump_json())


def test_a_result_under_the_cap_is_returned_whole_and_unmarked() -> None:
    result = context(messages=5, events=3)
    fitted = _fit(result.model_copy(deep=True))
    assert fitted == result
    assert not fitted.truncated
    assert fitted.truncation_note is None


def test_the_oldest_messages_go_first_and_the_note_says_how_many() -> None:
    result = _fit(context(messages=40, events=2))
    assert size(result) <= MAX_CONTEXT_CHARS
    assert result.truncated
    kept = [m.content.split(":")[0] for m in result.messages]
    assert kept[-1] == "message 39"  # the newest stays
    dropped = 40 - len(kept)
    assert kept[0] == f"message {dropped}"  # what goes is a run of the oldest
    assert len(result.upcoming_events) == 2  # events are kept while dropping messages suffices
    assert (
        result.truncation_note == f"{dropped} older message(s) left out to stay under {MAX_CONTEXT_CHARS} characters."
    )


def test_later_events_go_once_every_message_has_gone() -> None:
    result = _fit(context(messages=3, events=40))
    assert size(result) <= MAX_CONTEXT_CHARS
    assert result.messages == []
    titles = [e.title.split(":")[0] for e in result.upcoming_events]
    assert titles == [f"event {i}" for i in range(len(titles))]  # the soonest stay
    assert result.truncation_note == (
        f"3 older message(s) left out; {40 - len(titles)} later calendar event(s) left out"
        f" to stay under {MAX_CONTEXT_CHARS} characters."
    )


def test_a_session_context_too_large_on_its_own_is_replaced_by_advice() -> None:
    result = _fit(context(messages=2, facts={"notes": "n" * 20_000}))
    assert size(result) <= MAX_CONTEXT_CHARS
    assert result.session_context == {
        "_truncated": "the session context is too large to include; trim it with update_context"
    }
    assert result.truncation_note is not None
    assert result.truncation_note.startswith("2 older message(s) left out; session context left out")


def test_an_earlier_note_is_kept_in_front_of_the_trimming_note() -> None:
    result = context(messages=40)
    result.truncated, result.truncation_note = True, "1 long message(s) shortened"
    fitted = _fit(result)
    assert fitted.truncation_note is not None
    assert fitted.truncation_note.startswith("1 long message(s) shortened; ")
    assert "older message(s) left out" in fitted.truncation_note
