#!/usr/bin/env bash
# Make the PostgreSQL database of a URL answer: start the local cluster, create the db.
#
#   scripts/postgres.sh ensure postgresql://postgres@127.0.0.1:5432/switchyard
#
# Needs the virtualenv (psycopg) that scripts/setup.sh creates.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

URL="${2:-${DATABASE_URL:-}}"
[ -n "$URL" ] || die "no PostgreSQL URL given; pass one, e.g. scripts/postgres.sh ensure postgresql://postgres@127.0.0.1:5432/switchyard"
[ -x "$PY" ] || die "the virtualenv is missing; run scripts/setup.sh first"

# Print "ok", or the error of connecting to the maintenance database.
probe() {
    "$PY" - "$URL" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg

u = urlsplit(sys.argv[1])
maintenance = urlunsplit(("postgresql", u.netloc, "/postgres", u.query, ""))
try:
    psycopg.connect(maintenance, connect_timeout=5).close()
except psycopg.Error as exc:
    print(str(exc).strip().splitlines()[0])
else:
    print("ok")
PY
}

start_cluster() {
    local port="$1"
    command -v pg_lsclusters >/dev/null || die "PostgreSQL is not installed. Install and start it (as root): apt-get install -y postgresql && pg_ctlcluster --skip-systemctl-redirect 15 main start; or run 'make test TEST_POSTGRES=0' to skip the PostgreSQL run."
    local cluster
    # Columns: version, cluster name, port, status, ...
    cluster="$(pg_lsclusters -h | awk -v port="$port" '$3 == port {print $1 " " $2; exit}')"
    [ -n "$cluster" ] || die "no local PostgreSQL cluster listens on port $port (see pg_lsclusters); point the URL at a running server."
    is_root || die "PostgreSQL cluster $cluster is down. Start it with: sudo pg_ctlcluster --skip-systemctl-redirect $cluster start"
    say "starting PostgreSQL cluster $cluster"
    # shellcheck disable=SC2086  # "$cluster" is "<version> <name>": two arguments.
    pg_ctlcluster --skip-systemctl-redirect $cluster start
}

create_database() {
    "$PY" - "$URL" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

u = urlsplit(sys.argv[1])
name = u.path.lstrip("/")
maintenance = urlunsplit(("postgresql", u.netloc, "/postgres", u.query, ""))
with psycopg.connect(maintenance, autocommit=True, connect_timeout=5) as conn:
    found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if not found:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"created database {name}", file=sys.stderr)
PY
}

ensure() {
    local host port reply
    host="$(url_part "$URL" host)"
    port="$(url_part "$URL" port)"
    reply="$(probe)"
    if [ "$reply" != "ok" ]; then
        if ! is_loopback "$host"; then
            die "PostgreSQL at $(redact_url "$URL") does not answer ($reply). Start it or fix DATABASE_URL."
        fi
        start_cluster "$port"
        for _ in $(seq 1 100); do
            reply="$(probe)"
            [ "$reply" = "ok" ] && break
            sleep 0.2
        done
        [ "$reply" = "ok" ] || die "PostgreSQL on port $port did not answer after starting ($reply)."
    fi
    create_database
    say "PostgreSQL answers at $(redact_url "$URL")"
}

case "${1:-ensure}" in
ensure) ensure ;;
*) die "unknown action '${1}'; use: scripts/postgres.sh ensure URL" ;;
esac
