"""A profile's time zone: only real zone names are stored, and a bad one never breaks a person's tools.

- The database refuses a profiles.timezone that is not a zone (as a signed-in person writing
  their own profile through Supabase's REST API would be refused), and PostgreSQL and pam-mcp's
  Python agree, name by name, on what is a zone.
- A bad name already stored (from before the rule) is read as UTC with a logged warning: the
  dated tools keep working for that person.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable

import pytest

from pam_mcp.errors import InvalidInput
from pam_mcp.server import App
from pam_mcp.store.postgres import Database
from pam_mcp.tools.common import load_zone
from tests.conftest import NewUser
from tests.test_tools import call, session

pytestmark = pytest.mark.anyio

ZONES = [
    "Australia/Brisbane", "UTC", "America/Denver", "Etc/GMT+10", "Europe/Isle_of_Man", "America/Argentina/Salta",
    "EST5EDT", "GMT0", "Japan",
]  # fmt: skip
NOT_ZONES = [
    "America", "America/", "/America/Denver", "../etc/passwd", "Not/AZone", "", " UTC", "AEST", "XYZ+3",
    "localtime", "posixrules", "Factory", "posix/Australia/Brisbane", "right/UTC", "America//Denver", "A" * 65,
    "utc", "australia/brisbane", "UTC+3", "EST5", "Etc", "America/Denver/",
]  # fmt: skip


async def set_own_timezone(db: Database, user: uuid.UUID, zone: str) -> bool:
    """As the person, under RLS, as PostgREST runs a PATCH of their profile: True when stored."""
    try:
        async with db.as_user(user) as tx:
            await tx.execute(
                "insert into public.profiles (id, timezone) values ($1, $2)"
                " on conflict (id) do update set timezone = excluded.timezone",
                user,
                zone,
            )
    except InvalidInput:
        return False
    return True


@pytest.mark.parametrize("zone", ZONES + NOT_ZONES)
async def test_the_database_and_python_agree_on_what_is_a_time_zone(db: Database, new_user: NewUser, zone: str) -> None:
    stored = await set_own_timezone(db, await new_user(), zone)
    loaded = load_zone(zone)
    assert stored == (zone in ZONES)
    assert (loaded is not None) == (zone in ZONES)


async def test_every_zone_the_database_accepts_loads_in_python(db: Database) -> None:
    async with db.as_owner() as tx:
        rows = await tx.fetch("select name, public.is_time_zone_name(name) from pg_timezone_names")
    accepted = [name for name, ok in rows if ok]
    assert len(accepted) > 300
    assert [name for name in accepted if load_zone(name) is None] == []
    refused = [name for name, ok in rows if not ok]
    assert [name for name in refused if load_zone(name) is not None] == []


async def test_a_bad_zone_stored_before_the_rule_reads_as_utc_and_the_dated_tools_still_work(
    make_app: Callable[..., App], new_user: NewUser, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    user = await new_user()
    async with db.as_owner() as tx:  # as a row from before the migration: the trigger does not run
        await tx.execute("set local session_replication_role = replica")
        await tx.execute("insert into public.profiles (id, timezone) values ($1, 'America')", user)
    now = dt.datetime(2026, 11, 30, 22, 30, tzinfo=dt.UTC)  # already 1 December in most of America
    with caplog.at_level(logging.WARNING, logger="pam_mcp.tools.common"):
        async with session(make_app(user, now=lambda: now)) as client:
            spent = await call(client, "log_expense", {"amount": 20, "category": "food"})
            saved = await call(client, "record_saving", {"amount": 5, "category": "fuel", "description": "d"})
    assert spent["expense"]["spent_on"] == "2026-11-30"
    assert saved["guarantee"]["month"] == "2026-11"
    assert "profiles.timezone 'America' is not a time zone" in caplog.text
