"""Command line: ``pam-mcp`` (stdio server), ``pam-mcp serve``, ``pam-mcp migrate``, ``pam-mcp doctor``.

Everything this prints for a person goes to stderr, except ``migrate``'s and ``doctor``'s reports. In stdio
mode stdout belongs to the MCP protocol alone.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Literal

import anyio

from pam_mcp import __version__
from pam_mcp.errors import ConfigurationError, PamError
from pam_mcp.settings import Settings, load_settings


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=settings.pam_log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _announce(line: str) -> None:
    """The one line a normal start prints (stderr: stdout is the protocol's), whatever the log level."""
    print(f"pam-mcp {__version__} {line}", file=sys.stderr, flush=True)


def _exit_now(code: int) -> None:
    """Exit without tearing the interpreter down, once a stdio session has stopped everything.

    The embedded servers are stopped and every answer is written; freeing a few hundred
    modules' objects would only add CPU time (about a second on a busy machine, measured)
    to the two seconds an MCP client waits before it kills the server.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pam-mcp", description="PAM (Wheels & Wins) as an MCP server.")
    parser.add_argument("--version", action="version", version=f"pam-mcp {__version__}")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the MCP server (default: stdio)")
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP: address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP: port to listen on (default 8000)")
    mig = sub.add_parser("migrate", help="apply pending migrations to DATABASE_URL (or the embedded database)")
    mig.add_argument("--status", action="store_true", help="list applied and pending migrations; change nothing")
    doc = sub.add_parser("doctor", help="check the configuration and every backend; exit 0 only when all is well")
    doc.add_argument("--json", action="store_true", help="print the report as JSON (for scripts)")
    return parser


async def _migrate(settings: Settings, status_only: bool) -> int:
    from contextlib import AsyncExitStack

    from pam_mcp.migrate import migrate, migration_status
    from pam_mcp.runtime import resolve_database_url

    async with AsyncExitStack() as stack:
        dsn = await resolve_database_url(settings, stack)
        if not status_only:
            applied = await migrate(dsn)
            print(f"applied {len(applied)} migration(s)" if applied else "database is up to date")
        rows = await migration_status(dsn)
    width = max((len(r.name) for r in rows), default=4)
    for row in rows:
        print(f"{row.version}  {row.name:<{width}}  {row.state}")
    return 1 if any(r.state in ("changed", "pending") for r in rows) and status_only else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigurationError as exc:  # one line naming each bad variable and its expected format
        print(f"pam-mcp: configuration error: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings)
    try:
        if args.command == "migrate":
            return anyio.run(_migrate, settings, args.status)
        if args.command == "doctor":
            from pam_mcp.doctor import doctor

            return anyio.run(doctor, settings, args.json)
        from pam_mcp.serve import backend_options, serve

        transport: Literal["stdio", "http"] = getattr(args, "transport", "stdio")
        host, port = getattr(args, "host", "127.0.0.1"), getattr(args, "port", 8000)
        anyio.run(serve, settings, transport, host, port, _announce, backend_options=backend_options())
        if transport == "stdio":
            _exit_now(0)
        return 0
    except ConfigurationError as exc:  # found later (e.g. a Supabase key missing): the same one line
        print(f"pam-mcp: configuration error: {exc}", file=sys.stderr)
        return 2
    except PamError as exc:
        print(f"pam-mcp: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
