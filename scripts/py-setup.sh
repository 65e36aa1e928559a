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
exec bash "$ROOT/scripts/venv.sh" py-setup "$ROOT/target/test-venv" "$ROOT/tests/python/requirements.txt" 'import aiosmtpd, dkim, nacl'
