"""A pooled connection carries nothing of one user's identity to the next borrower."""

from __future__ import annotations

import uuid

import pytest

from pam_mcp.store.postgres import Database

pytestmark = pytest.mark.anyio

IDENTITY = "select current_user::text, coalesce(current_setting('request.jwt.claims', true), '')"


async def _identity_on_next_borrow(database_url: str, poison: object) -> tuple[str, str]:
    single = await Database.connect(database_url, min_size=1, max_size=1)
    try:
        async with single.as_owner() as tx:
            login = await tx.fetchval("select current_user::text")
        async with single.as_user(uuid.uuid4()) as tx:
            assert await tx.fetchval("select current_user::text") == "authenticated"
        if poison is not None:
            with pytest.raises(RuntimeError):
                async with single.as_user(uuid.uuid4()) as tx:
                    await tx.fetchval("select 1")
                    raise RuntimeError("the tool failed mid-transaction")
        async with single.as_owner() as tx:
            row = await tx.fetchrow(IDENTITY)
        assert row is not None
        assert row[0] == login
        return str(row[0]), str(row[1])
    finally:
        await single.close()


async def test_the_next_borrower_does_not_inherit_role_or_claims(database_url: str) -> None:
    _, claims = await _identity_on_next_borrow(database_url, None)
    assert claims == ""


async def test_a_failed_transaction_leaves_no_role_or_claims_behind(database_url: str) -> None:
    _, claims = await _identity_on_next_borrow(database_url, "raise")
    assert claims == ""


async def test_a_database_error_inside_a_user_transaction_rolls_it_back(db: Database, new_user: object) -> None:
    from pam_mcp.errors import PamError

    user = uuid.uuid4()
    with pytest.raises(PamError):
        async with db.as_user(user) as tx:
            await tx.execute("select 1/0")
    async with db.as_user(user) as tx:
        assert await tx.fetchval("select current_user::text") == "authenticated"
