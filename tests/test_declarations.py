"""Each tool is declared once, beside its code; what names tools elsewhere agrees with that.

The README's tool table, the server's instructions, the rate-limit buckets and what a client
lists all come from (or are held to) ``pam_mcp.tools.CATALOGUE``; arguments are validated
once, by each tool's own input model, in one wording.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client

from pam_mcp.buckets import DEFAULT_TOOL_RATES, RESOURCE_TOOLS, TOOL_NAMES
from pam_mcp.errors import ConfigurationError
from pam_mcp.resources import RESOURCES
from pam_mcp.server import INSTRUCTIONS, App, build_server
from pam_mcp.settings import load_settings
from pam_mcp.tools import CATALOGUE
from pam_mcp.tools.spec import ToolSpec
from tests.conftest import NewUser

pytestmark = pytest.mark.anyio

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_tool_table() -> list[tuple[str, str]]:
    """(tool, hints) for each row of the README's table of tools, in order."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("| Tool | What it does | Hints |")
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows.append((cells[0].strip("`"), cells[-1]))
    return rows


def hints_agree(spec: ToolSpec, hints: str) -> bool:
    if spec.read_only:
        return hints == "read-only"
    declared = [word for word, on in (("destructive", spec.destructive), ("idempotent", spec.idempotent)) if on]
    return hints == ", ".join(declared) if declared else hints.startswith("writes")


def test_the_readme_lists_every_declared_tool_in_order_with_its_hints() -> None:
    rows = readme_tool_table()
    assert [name for name, _ in rows] == [spec.name for spec in CATALOGUE]
    disagreeing = [name for (name, hints), spec in zip(rows, CATALOGUE, strict=True) if not hints_agree(spec, hints)]
    assert disagreeing == [], "README hints disagree with the declared annotations"


def test_the_instructions_name_every_declared_tool_and_no_other() -> None:
    named = set(re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", INSTRUCTIONS))
    assert named == set(TOOL_NAMES)


def test_buckets_come_from_the_declarations() -> None:
    assert {spec.name for spec in CATALOGUE} == TOOL_NAMES
    assert {spec.uri: spec.mirrors for spec in RESOURCES} == RESOURCE_TOOLS
    assert DEFAULT_TOOL_RATES == "check_guardrails=200/hour,30/minute"


def test_the_declarations_are_plain_data_that_never_import_mcp() -> None:
    probe = (
        "import sys, pam_mcp.tools, pam_mcp.resources, pam_mcp.buckets, pam_mcp.settings; "
        "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith(('mcp.', 'mcp_types'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)  # noqa: S603
    assert out.stdout.strip() == "[]"


async def test_a_client_sees_each_tool_exactly_as_declared(make_app: Callable[..., App]) -> None:
    async with Client(build_server(make_app(uuid.uuid4()))) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert list(listed) == [spec.name for spec in CATALOGUE]
    for spec in CATALOGUE:
        tool = listed[spec.name]
        assert (tool.title, tool.description) == (spec.title, spec.description)
        assert tool.annotations is not None
        hints = tool.annotations
        assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (
            spec.read_only,
            spec.destructive,
            spec.idempotent,
        )
        assert set(tool.input_schema.get("properties", {})) == set(spec.input.model_fields)


async def test_bad_arguments_get_one_wording_naming_each_argument_without_its_value(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    secret = "4111 1111 1111 1111"
    async with Client(build_server(make_app(await new_user()))) as client:
        missing = await client.call_tool("log_expense", {"category": "food", "description": "lunch"})
        wrong = await client.call_tool("log_expense", {"amount": secret, "category": "caviar", "description": "x"})
        crossed = await client.call_tool("query_expenses", {"start": "2026-11-10", "end": "2026-11-01"})
    texts = [result.content[0].text for result in (missing, wrong, crossed)]  # type: ignore[union-attr]
    assert all(result.is_error for result in (missing, wrong, crossed))
    assert texts[0] == "Invalid arguments for log_expense: amount: Field required"
    assert texts[1].startswith("Invalid arguments for log_expense: amount: ")
    assert "category: " in texts[1] and secret not in texts[1] and "caviar" not in texts[1]
    assert texts[2] == "Invalid arguments for query_expenses: end is before start"
    assert not any("validation error" in text or "Error executing tool" in text for text in texts)


async def test_a_list_sent_as_json_text_is_read_as_the_list(make_app: Callable[..., App], new_user: NewUser) -> None:
    # Some desktop clients send array and object arguments as JSON text.
    async with Client(build_server(make_app(await new_user()))) as client:
        for amount, category in (("40.00", "fuel"), ("12.50", "food"), ("99.00", "shopping")):
            logged = await client.call_tool("log_expense", {"amount": amount, "category": category, "description": "x"})
            assert not logged.is_error, logged.content[0].text  # type: ignore[union-attr]
        result = await client.call_tool("query_expenses", {"categories": '["fuel", "food"]', "group_by": "none"})
        # An argument that is text stays text, whatever it looks like.
        text = await client.call_tool("log_expense", {"amount": "1.00", "category": "other", "description": '["a"]'})
    assert not text.is_error, text.content[0].text  # type: ignore[union-attr]
    assert not result.is_error, result.content[0].text  # type: ignore[union-attr]
    out: dict[str, Any] | None = result.structured_content
    assert out is not None
    assert (out["total"], out["count"]) == ("52.50", 2)


def test_a_bad_rate_stops_the_settings_load_in_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAM_RATE_LIMIT", "lots")
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("PAM_RATE_LIMIT") and "N/second|minute|hour|day" in message


def test_each_capability_guide_names_every_tool_it_declares_and_only_real_tools() -> None:
    import importlib
    import pkgutil

    import pam_mcp.tools

    for info in pkgutil.iter_modules(pam_mcp.tools.__path__):
        module = importlib.import_module(f"pam_mcp.tools.{info.name}")
        declared = {spec.name for spec in getattr(module, "TOOLS", ())}
        if not declared:
            continue
        guide = getattr(module, "GUIDE", "")
        named = set(re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", guide))
        assert declared <= named <= set(TOOL_NAMES), info.name
