"""Doctor's rows and how they are shown: one ``Check`` per row, a plain table or JSON.

Also the two rules every row obeys: an exception becomes one sentence for a person
(``describe``), and no configured secret appears in any detail (``scrub``).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from pam_mcp.errors import PamError
from pam_mcp.masking import url_secrets
from pam_mcp.settings import Settings


@dataclass(frozen=True)
class Check:
    """One row of the report. ``ok`` is None when the check was skipped."""

    name: str
    ok: bool | None
    detail: str
    latency_ms: float | None = None

    @property
    def status(self) -> str:
        return "ok" if self.ok else "skipped" if self.ok is None else "FAILED"


def secrets_of(settings: Settings) -> list[str]:
    """Every configured secret a detail could contain, longest first."""
    found = [
        key.get_secret_value()
        for key in (settings.supabase_jwt_secret, settings.supabase_service_role_key, settings.supabase_anon_key)
        if key is not None
    ]
    for url in (settings.database_url, settings.redis_url):
        if url is None:
            continue
        # A URL's secrets are its password and secret parameters; the host is what a person needs to see.
        found += url_secrets(url.get_secret_value())
    # Longest first, so a password inside a whole URL does not leave the rest behind.
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def scrub(check: Check, secrets: list[str]) -> Check:
    """The check with every secret in its detail replaced by ``***``."""
    text = check.detail
    for secret in secrets:
        text = text.replace(secret, "***")
    return Check(check.name, check.ok, text, check.latency_ms)


def describe(exc: BaseException) -> str:
    """An exception as one sentence for a person (never a traceback)."""
    if isinstance(exc, PamError):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc).strip().splitlines()
    if not text:
        return type(exc).__name__
    # Redis's connection errors already say what happened; their class name adds nothing.
    if type(exc).__name__ in ("ConnectionError", "TimeoutError"):
        return text[0]
    return f"{type(exc).__name__}: {text[0]}"


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def healthy(checks: list[Check]) -> bool:
    """True when no check failed; skipped checks are fine."""
    return all(c.ok is not False for c in checks)


def render_table(checks: list[Check], *, width: int = 100) -> str:
    """A plain-text table (no colour, no terminal tricks: it may well be pasted into an issue).

    Hand-made rather than a table library's: each "; "-separated problem starts a line of its
    own, which the libraries' cell wrapping does not do.
    """
    name_w = max((len(c.name) for c in checks), default=5)
    status_w = max(len(c.status) for c in [*checks, Check("", None, "")])
    latency_w = 10
    indent = status_w + name_w + latency_w + 6
    detail_w = max(40, width - indent)
    lines = [f"{'STATUS':<{status_w}}  {'CHECK':<{name_w}}  {'LATENCY':>{latency_w}}  DETAIL"]
    for c in checks:
        latency = f"{c.latency_ms:.2f} ms" if c.latency_ms is not None else ""
        wrapped: list[str] = []
        # Problems are separated by "; " so each one starts a line of its own.
        for part in c.detail.split("; "):
            wrapped += textwrap.wrap(part, detail_w, break_long_words=False, break_on_hyphens=False) or [""]
        lines.append(f"{c.status:<{status_w}}  {c.name:<{name_w}}  {latency:>{latency_w}}  {wrapped[0]}")
        lines += [" " * indent + more for more in wrapped[1:]]
    failed = [c.name for c in checks if c.ok is False]
    lines.append("")
    lines.append(f"{len(failed)} check(s) failed: {', '.join(failed)}" if failed else "everything is fine")
    return "\n".join(lines)


def render_json(checks: list[Check]) -> str:
    return json.dumps(
        {"ok": healthy(checks), "checks": [{**asdict(c), "status": c.status.lower()} for c in checks]}, indent=2
    )


async def guard(name: str, check: Callable[[], Awaitable[Check | list[Check]]]) -> list[Check]:
    """Run one check; whatever it raises becomes a failed row named ``name``."""
    try:
        result = await check()
    except Exception as exc:
        return [Check(name, False, describe(exc))]
    return result if isinstance(result, list) else [result]
