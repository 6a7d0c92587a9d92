"""query_expenses' page cursor: opaque to the model, bound to the query that made it."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pam_mcp.errors import InvalidInput
from pam_mcp.store.records import ExpenseRecord
from pam_mcp.tools.expenses import decode_cursor, encode_cursor


def expense(spent_on: dt.date, expense_id: uuid.UUID) -> ExpenseRecord:
    return ExpenseRecord(
        id=expense_id, amount=Decimal("12.50"), category="fuel", description=None, spent_on=spent_on, trip_id=None
    )


@given(
    spent_on=st.dates(min_value=dt.date(2000, 1, 1)),
    expense_id=st.uuids(),
    fingerprint=st.text(alphabet="0123456789abcdef", min_size=12, max_size=12),
)
def test_a_cursor_reads_back_as_the_last_expense_of_its_page(
    spent_on: dt.date, expense_id: uuid.UUID, fingerprint: str
) -> None:
    cursor = encode_cursor(expense(spent_on, expense_id), fingerprint)
    assert decode_cursor(cursor, fingerprint) == (spent_on, expense_id)


def test_a_cursor_is_url_safe_text_without_padding() -> None:
    cursor = encode_cursor(expense(dt.date(2026, 11, 30), uuid.uuid4()), "0123456789ab")
    assert "=" not in cursor
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(cursor) <= 300  # QueryExpensesInput.cursor's max_length


def test_a_cursor_from_a_query_with_other_dates_or_categories_is_refused_with_what_to_do() -> None:
    cursor = encode_cursor(expense(dt.date(2026, 11, 30), uuid.uuid4()), "aaaaaaaaaaaa")
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(cursor, "bbbbbbbbbbbb")
    assert str(caught.value) == (
        "Invalid arguments: cursor belongs to a query with other dates or categories; omit it to start again"
    )


def unpadded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor",
        "%%%%",
        unpadded(b"[1, 2, 3]"),
        unpadded(b"\xff\xfe"),
        unpadded(json.dumps({"d": "2026-11-31", "i": str(uuid.uuid4()), "q": "x"}).encode()),
        unpadded(json.dumps({"d": "2026-11-30", "i": "not-a-uuid", "q": "x"}).encode()),
        unpadded(json.dumps({"d": "2026-11-30", "q": "x"}).encode()),
    ],
    ids=["empty", "words", "not-base64", "a-list", "not-utf8", "no-such-date", "bad-uuid", "no-id"],
)
def test_anything_but_a_returned_cursor_is_refused_with_what_to_do(cursor: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(cursor, "x")
    assert str(caught.value) == (
        "Invalid arguments: cursor is not one this tool returned; omit it to start from the first page"
    )
