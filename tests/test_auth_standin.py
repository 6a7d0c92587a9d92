"""The Supabase stand-in behaves like Supabase where pam-mcp relies on it."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from pam_mcp.migrate import install_supabase_standin
from pam_mcp.store.postgres import Database

pytestmark = pytest.mark.anyio


async def test_auth_uid_and_jwt_read_the_request_claims_like_supabase(db: Database) -> None:
    user = uuid.uuid4()
    async with db.as_user(user) as tx:
        row = await tx.fetchrow("select auth.uid() as uid, auth.role() as role, auth.jwt() ->> 'aud' as aud")
    assert row is not None
    assert (row["uid"], row["role"], row["aud"]) == (user, "authenticated", "authenticated")


async def test_auth_uid_is_null_without_claims(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("select auth.uid()") is None
        # PostgREST's older per-claim setting is honoured too, as in Supabase's definition.
        async with conn.transaction():
            sub = str(uuid.uuid4())
            await conn.execute("select set_config('request.jwt.claim.sub', $1, true)", sub)
            assert str(await conn.fetchval("select auth.uid()")) == sub
    finally:
        await conn.close()


async def test_the_three_api_roles_exist_with_supabase_attributes(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "select rolname, rolcanlogin, rolbypassrls from pg_roles"
            " where rolname in ('anon', 'authenticated', 'service_role')"
        )
    finally:
        await conn.close()
    roles = {r["rolname"]: (r["rolcanlogin"], r["rolbypassrls"]) for r in rows}
    assert roles == {"anon": (False, False), "authenticated": (False, False), "service_role": (False, True)}


async def test_a_signed_in_user_cannot_read_auth_users(db: Database, new_user: object) -> None:
    async with db.as_user(uuid.uuid4()) as tx:
        can_read = await tx.fetchval("select has_table_privilege('auth.users', 'select')")
    assert can_read is False


async def test_the_stand_in_is_not_installed_where_auth_users_exists(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        before = await conn.fetchval(
            "select md5(string_agg(prosrc, '')) from pg_proc where pronamespace = 'auth'::regnamespace"
        )
        assert await install_supabase_standin(conn) is False
        after = await conn.fetchval(
            "select md5(string_agg(prosrc, '')) from pg_proc where pronamespace = 'auth'::regnamespace"
        )
    finally:
        await conn.close()
    assert before == after


async def test_claims_are_valid_json_naming_the_user(db: Database) -> None:
    user = uuid.uuid4()
    async with db.as_user(user) as tx:
        claims = json.loads(await tx.fetchval("select current_setting('request.jwt.claims')"))
        role = await tx.fetchval("select current_user")
    assert claims["sub"] == str(user)
    assert role == "authenticated"
