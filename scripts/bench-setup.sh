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
VENV="$ROOT/target/bench-venv"
REQS="$ROOT/tests/bench/requirements.txt"
PYTHON="${RELAIS_BENCH_PYTHON_BASE:-python3}"
stamp="$VENV/.relais-bench-stamp"
want=$(sha256sum "$REQS" | cut -d' ' -f1)

if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] \
   && "$VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
  echo "$VENV/bin/python"
  exit 0
fi
echo "bench-setup: installing $(tr '\n' ' ' < "$REQS")into $VENV" >&2
rm -rf "$VENV"
if ! "$PYTHON" -m venv "$VENV" >&2; then
  echo "bench-setup: cannot create a virtual environment (python3-venv missing?)" >&2
  exit 1
fi
if ! "$VENV/bin/pip" install -q -r "$REQS" >&2; then
  echo "bench-setup: pip install failed" >&2
  exit 1
fi
echo "$want" > "$stamp"
echo "$VENV/bin/python"
