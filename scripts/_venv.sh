# Sourced by the scripts: creates .venv and installs pam-mcp with its test tools, once per
# change of pyproject.toml. Everything comes from PyPI; no database or Redis is needed.
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "pam-mcp needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info >= (3, 13))'; then
  echo "note: the embedded PostgreSQL has wheels for Python 3.11 and 3.12 only;" \
       "with this Python set DATABASE_URL/REDIS_URL (and PAM_TEST_DATABASE_URL/PAM_TEST_REDIS_URL)" >&2
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.pam-mcp-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]' >&2
  touch "$stamp"
fi
