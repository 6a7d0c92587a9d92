"""Categories and safety levels are defined once, in SQL, and pam-mcp's Python types say the same.

The database keeps the lists (migrations/20261201000200_categories.sql: a domain per category
list, used by every column that holds one; the enum public.safety_level); the tools' Literals
describe them to the model. Here the two are compared value by value, in order, so a value added
on one side only fails the suite instead of failing a person's call.
"""

from __future__ import annotations

import re
from typing import get_args

import pytest

from pam_mcp.errors import InvalidInput
from pam_mcp.store import records
from pam_mcp.store.postgres import Database
from pam_mcp.tools import expenses, savings
from pam_mcp.tools.guardrail_rules import model as guardrail_model
from tests.conftest import NewUser

pytestmark = pytest.mark.anyio


async def domain_values(db: Database, domain: str) -> list[str]:
    async with db.as_owner() as tx:
        checks = await tx.fetch(
            "select pg_get_constraintdef(c.oid) from pg_constraint c join pg_type t on t.oid = c.contypid"
            " where t.typname = $1 and t.typnamespace = 'public'::regnamespace and c.contype = 'c'",
            domain,
        )
    assert len(checks) == 1, checks
    return re.findall(r"'([^']+)'::text", checks[0][0])


@pytest.mark.parametrize(
    ("domain", "literal"),
    [("expense_category", expenses.ExpenseCategory), ("saving_category", savings.SavingCategory)],
)
async def test_the_python_category_types_list_exactly_the_sql_domain(
    db: Database, domain: str, literal: object
) -> None:
    assert list(get_args(literal)) == await domain_values(db, domain)


async def test_the_python_safety_levels_are_exactly_the_sql_enum(db: Database) -> None:
    async with db.as_owner() as tx:
        levels = await tx.fetchval("select enum_range(null::public.safety_level)::text[]")
    assert list(get_args(records.SafetyLevel)) == levels
    assert list(get_args(guardrail_model.SafetyLevel)) == levels


async def test_every_category_column_uses_its_domain(db: Database) -> None:
    async with db.as_owner() as tx:
        rows = await tx.fetch(
            "select table_name, domain_name from information_schema.columns"
            " where table_schema = 'public' and column_name = 'category'"
            " and table_name in ('expenses', 'budgets', 'expense_daily_totals', 'pam_savings_events')"
        )
    assert {r["table_name"]: r["domain_name"] for r in rows} == {
        "expenses": "expense_category",
        "budgets": "expense_category",
        "expense_daily_totals": "expense_category",
        "pam_savings_events": "saving_category",
    }


async def test_a_category_outside_the_list_is_refused_by_the_database(db: Database, new_user: NewUser) -> None:
    user = await new_user()
    with pytest.raises(InvalidInput):
        async with db.as_user(user) as tx:
            await tx.execute("insert into public.budgets (category, monthly_limit) values ('crypto', 10)")
