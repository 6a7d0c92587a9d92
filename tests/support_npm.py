"""Test tools from the npm registry (the MCP Inspector, the Supabase CLI): found, or installed once.

Each tool has an install script under ``scripts/`` that CI runs too; a test session without the
tool runs that script itself when npm is there, and skips, naming why, when it is not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")
INSTALL_TIMEOUT = 300


def found_or_installed(
    what: str, script: Path, dir_variable: str, directory: Path, find: Callable[[Path], T | None]
) -> T:
    """``find(directory)``, after running ``script`` (with ``dir_variable`` naming the directory) if needed."""
    found = find(directory)
    if found is not None:
        return found
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip(f"Node/npm are not on PATH: {what} (an npm package) cannot be installed here")
    done = subprocess.run(  # noqa: S603 - our own install script, fixed arguments
        [str(script)],
        env={**os.environ, dir_variable: str(directory)},
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    found = find(directory)
    if done.returncode != 0 or found is None:
        pytest.fail(f"{script.relative_to(script.parents[1])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return found
