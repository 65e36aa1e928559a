#!/usr/bin/env bash
# Brings up a local PostgreSQL for the Relais test suite and prints its URL.
#
#   RELAIS_TEST_DATABASE_URL=$(scripts/pg-setup.sh) cargo test -p relais-store
#
# Installs PostgreSQL from the Debian packages when it is missing, starts the
# cluster (no systemd needed: pg_ctlcluster), sets the `postgres` user's
# password to `postgres`, creates the database `relais_test` and waits until
# it accepts TCP connections on 127.0.0.1. Safe to run any number of times.
# Run as root on Debian/Ubuntu. Diagnostics go to stderr; stdout is the URL.

set -euo pipefail

DB_NAME="${RELAIS_TEST_DB:-relais_test}"
DB_PASSWORD="postgres"
CLUSTER="main"

log() { echo "pg-setup: $*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
    log "must run as root (it installs packages and starts the cluster)"
    exit 1
fi

installed_version() {
    # The newest major version with a server binary, e.g. 15.
    local v
    v=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null |
        awk -F/ '{print $5}' | sort -V | tail -n 1)
    echo "${v:-}"
}

# --- 1. install ------------------------------------------------------------
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [[ -z "$(installed_version)" ]]; then
    log "installing PostgreSQL from the Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends postgresql >&2
fi
VERSION=$(installed_version)
if [[ -z "$VERSION" ]]; then
    log "no PostgreSQL server found under /usr/lib/postgresql after install"
    exit 1
fi
log "PostgreSQL $VERSION"

# --- 2. cluster --------------------------------------------------------------
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$VERSION $CLUSTER"; then
    log "creating cluster $VERSION/$CLUSTER"
    pg_createcluster "$VERSION" "$CLUSTER" >&2
fi
# Without systemd the socket directory may be missing (e.g. /run is a tmpfs).
install -d -o postgres -g postgres -m 2775 /var/run/postgresql

status=$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {print $4}')
if [[ "$status" != online* ]]; then
    log "starting cluster $VERSION/$CLUSTER"
    pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi
PORT=$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {print $3}')

# --- 3. wait ------------------------------------------------------------------
ready=0
for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 -p "$PORT"; then
        ready=1
        break
    fi
    sleep 0.5
done
if [[ $ready -ne 1 ]]; then
    log "PostgreSQL did not accept connections on 127.0.0.1:$PORT within 30 s"
    log "see /var/log/postgresql/postgresql-$VERSION-$CLUSTER.log"
    exit 1
fi

# --- 4. password and database ---------------------------------------------------
as_postgres() { runuser -u postgres -- "$@"; }
psql_local() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres "$@"; }

psql_local -c "ALTER USER postgres PASSWORD '$DB_PASSWORD'" >&2
if [[ "$(psql_local -tA -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != "1" ]]; then
    log "creating database $DB_NAME"
    as_postgres createdb -p "$PORT" "$DB_NAME" >&2
fi

URL="postgres://postgres:${DB_PASSWORD}@127.0.0.1:${PORT}/${DB_NAME}"
# A last check over TCP with the password, as the tests will connect.
if ! PGPASSWORD="$DB_PASSWORD" psql -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d "$DB_NAME" \
    -c "SELECT 1" >/dev/null; then
    log "cannot connect to $URL"
    exit 1
fi
echo "$URL"
