# Sourced by the scripts: creates the virtualenv and installs pam-mcp with what the caller needs,
# once per change of pyproject.toml or of this file. Everything comes from PyPI; no database or Redis is needed.
#   source scripts/_venv.sh serve    pam-mcp alone (what serving needs)
#   source scripts/_venv.sh test     pam-mcp, the test tools and the benchmarks' libraries (mypy checks
#                                    bench/ too); also the default with no argument
#   source scripts/_venv.sh bench    pam-mcp, the benchmarks' comparison libraries and the `fast` extra
# PYTHON picks the interpreter (default python3); PAM_VENV the directory (default .venv), so one
# checkout can hold a venv per Python (CI: PAM_VENV=.venv312 PYTHON=python3.12). Sets $venv.
PYTHON="${PYTHON:-python3}"
venv="${PAM_VENV:-.venv}"
case "${1:-test}" in
  serve) _pam_extras="" ;;
  test) _pam_extras="[test,bench]" ;;
  bench) _pam_extras="[bench,fast]" ;;
  *) echo "scripts/_venv.sh: unknown purpose '$1' (serve, test or bench)" >&2; exit 2 ;;
esac
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "pam-mcp needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info >= (3, 13))'; then
  echo "note: the embedded PostgreSQL has wheels for Python 3.11 and 3.12 only;" \
       "with this Python set DATABASE_URL/REDIS_URL (and PAM_TEST_DATABASE_URL/PAM_TEST_REDIS_URL)" >&2
fi
if [ ! -x "$venv/bin/python" ]; then
  "$PYTHON" -m venv "$venv"
fi
# One stamp per purpose: a venv set up for serving installs the test tools when first tested.
_pam_stamp="$venv/.pam-mcp-installed-${1:-test}"
if [ ! -f "$_pam_stamp" ] || [ pyproject.toml -nt "$_pam_stamp" ] || [ scripts/_venv.sh -nt "$_pam_stamp" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  # Editable, so a `git pull` takes effect at once. PYTHONWARNINGS hides setuptools' notice that
  # the install is editable (printed on every install by setuptools 79+; nothing to act on).
  PYTHONWARNINGS="ignore:Editable installation" \
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".${_pam_extras}" >&2
  touch "$_pam_stamp"
fi
