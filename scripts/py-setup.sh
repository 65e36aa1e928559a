#!/usr/bin/env bash
# Installs what the e-mail integration tests run beside Relais: a real SMTP
# server (aiosmtpd) and a DKIM verifier (dkimpy), pinned in
# tests/python/requirements.txt, in a virtual environment at target/test-venv.
# Prints the interpreter to use on stdout:
#
#   RELAIS_TEST_PYTHON="$(bash scripts/py-setup.sh)" cargo test -p relais-channels
#
# (the tests run this script themselves when RELAIS_TEST_PYTHON is not set).
# Only PyPI is contacted. Safe to run again: redone only when the pinned
# requirements change. Exits non-zero (with a reason on stderr) when it
# cannot install; the tests then fail and say so.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/target/test-venv"
REQS="$ROOT/tests/python/requirements.txt"
PYTHON="${RELAIS_TEST_PYTHON_BASE:-python3}"
stamp="$VENV/.relais-test-stamp"
want=$(sha256sum "$REQS" | cut -d' ' -f1)

if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] \
   && "$VENV/bin/python" -c 'import aiosmtpd, dkim' 2>/dev/null; then
  echo "$VENV/bin/python"
  exit 0
fi
echo "py-setup: installing $(tr '\n' ' ' < "$REQS")into $VENV" >&2
rm -rf "$VENV"
if ! "$PYTHON" -m venv "$VENV" >&2; then
  echo "py-setup: cannot create a virtual environment (python3-venv missing?)" >&2
  exit 1
fi
if ! "$VENV/bin/pip" install -q -r "$REQS" >&2; then
  echo "py-setup: pip install failed" >&2
  exit 1
fi
echo "$want" > "$stamp"
echo "$VENV/bin/python"
