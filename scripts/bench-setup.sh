#!/usr/bin/env bash
# Installs what the benchmarks compare Relais with: DuckDB's Python package
# (pinned in tests/bench/requirements.txt) in a virtual environment at
# target/bench-venv. Prints the interpreter to use on stdout:
#
#   relais bench backfill --python "$(bash scripts/bench-setup.sh)"
#
# Only PyPI is contacted. Safe to run again: redone only when the pinned
# requirements change. Exits non-zero (with a reason on stderr) when it
# cannot install; the benchmarks then skip the comparison and say so.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exec bash "$ROOT/scripts/venv.sh" bench-setup "$ROOT/target/bench-venv" "$ROOT/tests/bench/requirements.txt" 'import duckdb'
