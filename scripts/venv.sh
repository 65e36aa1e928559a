#!/usr/bin/env bash
# Shared by scripts/bench-setup.sh and scripts/py-setup.sh: makes a Python
# virtual environment with pinned requirements, and prints its interpreter.
#
#   bash scripts/venv.sh NAME VENV_DIR REQUIREMENTS "import check"
#
# Only PyPI is contacted. Redone only when the requirements file changes (or
# the import check fails). Exits non-zero with a reason on stderr when it
# cannot install. The base interpreter is $RELAIS_PYTHON_BASE (python3).
set -uo pipefail
NAME=$1 VENV=$2 REQS=$3 CHECK=$4
PYTHON="${RELAIS_PYTHON_BASE:-python3}"
stamp="$VENV/.relais-stamp"
want=$(sha256sum "$REQS" | cut -d' ' -f1)

if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] \
   && "$VENV/bin/python" -c "$CHECK" 2>/dev/null; then
  echo "$VENV/bin/python"
  exit 0
fi
echo "$NAME: installing $(tr '\n' ' ' < "$REQS")into $VENV" >&2
rm -rf "$VENV"
if ! "$PYTHON" -m venv "$VENV" >&2; then
  echo "$NAME: cannot create a virtual environment (python3-venv missing?)" >&2
  exit 1
fi
if ! "$VENV/bin/pip" install -q -r "$REQS" >&2; then
  echo "$NAME: pip install failed" >&2
  exit 1
fi
echo "$want" > "$stamp"
echo "$VENV/bin/python"
