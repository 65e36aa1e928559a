#!/usr/bin/env bash
# Installs the official Segment SDKs that the SDK integration tests drive
# against a real Relais (crates/relais/tests/sdk.rs):
#
#   scripts/sdk-setup.sh && RELAIS_SDK_TESTS=1 cargo test -p relais --test sdk
#
# * Python: a virtual environment at target/sdk-venv with the pinned
#   tests/sdk/python/requirements.txt (segment-analytics-python).
# * Node.js: tests/sdk/node/node_modules from the committed package-lock.json
#   (`npm ci`) with the pinned @segment/analytics-node.
#
# Needs python3 3.9+ with its venv module (RELAIS_SDK_PYTHON=/path picks
# another interpreter) and Node.js 20+ with npm; on Debian/Ubuntu run as root
# it installs a missing python3-venv package itself. Only PyPI and the npm
# registry are contacted. Safe to run any number of times: each part is
# redone only when missing, broken or out of date.
# Diagnostics go to stderr; exits 0 only if both SDKs are ready.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/target/sdk-venv"
PY_REQS="$ROOT/tests/sdk/python/requirements.txt"
NODE_DIR="$ROOT/tests/sdk/node"
PYTHON="${RELAIS_SDK_PYTHON:-python3}"

log() { echo "sdk-setup: $*" >&2; }

# A fingerprint of the inputs of one part, stored next to what it produced.
fingerprint() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- Python ----------------------------------------------------------------
setup_python() {
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        log "python3 not found (or set RELAIS_SDK_PYTHON=/path/to/python3.9+)"
        return 1
    fi
    # Any interpreter change (or a moved/broken venv) means a fresh venv.
    local want_py stamp="$VENV/.relais-sdk-stamp" want
    want_py=$("$PYTHON" -c 'import sys; print(sys.version)') || return 1
    want=$( { echo "$want_py"; cat "$PY_REQS"; } | sha256sum | cut -d' ' -f1)
    if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
        "$VENV/bin/python" -c 'import segment.analytics' >/dev/null 2>&1; then
        log "python: $VENV is up to date"
        return 0
    fi

    if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        # Debian ships venv's pip bootstrap separately.
        if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
            local minor pkg
            minor=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
            pkg="python3-venv"
            if apt-cache show "python${minor}-venv" >/dev/null 2>&1; then
                pkg="python${minor}-venv"
            fi
            log "python: installing $pkg (the venv module's pip bootstrap)"
            export DEBIAN_FRONTEND=noninteractive
            { apt-get install -y --no-install-recommends "$pkg" ||
                { apt-get update && apt-get install -y --no-install-recommends "$pkg"; }; } >&2 ||
                return 1
        else
            log "python: $PYTHON has no working venv/ensurepip module; install python3-venv (apt-get install python3-venv)"
            return 1
        fi
    fi

    log "python: creating $VENV with $("$PYTHON" --version 2>&1)"
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV" >&2 || return 1
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet \
        --requirement "$PY_REQS" >&2 || return 1
    "$VENV/bin/python" -c 'import segment.analytics as a; print("sdk-setup: python: segment-analytics-python", a.VERSION)' >&2 ||
        return 1
    echo "$want" >"$stamp"
}

# --- Node.js ---------------------------------------------------------------
setup_node() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        log "node: node and npm (Node.js 20+) are required"
        return 1
    fi
    local major
    major=$(node -p 'process.versions.node.split(".")[0]') || return 1
    if ((major < 20)); then
        log "node: Node.js 20+ is required by @segment/analytics-node, found $(node --version)"
        return 1
    fi
    local stamp="$NODE_DIR/node_modules/.relais-sdk-stamp" want inputs=("$NODE_DIR/package.json")
    [[ -f "$NODE_DIR/package-lock.json" ]] && inputs+=("$NODE_DIR/package-lock.json")
    want=$( { node --version; fingerprint "${inputs[@]}"; } | sha256sum | cut -d' ' -f1)
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
        (cd "$NODE_DIR" && node -e 'import("@segment/analytics-node")' >/dev/null 2>&1); then
        log "node: $NODE_DIR/node_modules is up to date"
        return 0
    fi
    if [[ -f "$NODE_DIR/package-lock.json" ]]; then
        log "node: npm ci in $NODE_DIR"
        (cd "$NODE_DIR" && npm ci --no-audit --no-fund >&2) || return 1
    else
        log "node: no package-lock.json, npm install in $NODE_DIR"
        (cd "$NODE_DIR" && npm install --no-audit --no-fund >&2) || return 1
    fi
    (cd "$NODE_DIR" && node -e 'import("@segment/analytics-node").then(() => console.error("sdk-setup: node: @segment/analytics-node", require("@segment/analytics-node/package.json").version))') ||
        return 1
    # npm install may have written the lock file just now.
    want=$( { node --version; fingerprint "$NODE_DIR/package.json" "$NODE_DIR/package-lock.json"; } | sha256sum | cut -d' ' -f1)
    echo "$want" >"$stamp"
}

status=0
setup_python || { log "python SDK setup FAILED"; status=1; }
setup_node || { log "node SDK setup FAILED"; status=1; }
if ((status == 0)); then
    log "both SDKs ready"
fi
exit "$status"
