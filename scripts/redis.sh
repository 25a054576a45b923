#!/usr/bin/env bash
# The Redis the bus needs: use the one at REDIS_URL, or run a local one under var/redis.
#
#   scripts/redis.sh ensure   install redis-server if missing; make REDIS_URL answer
#   scripts/redis.sh stop     stop the local server started by 'ensure' (if any)
#   scripts/redis.sh status   say which Redis answers at REDIS_URL
#
# The local server runs with AOF on (appendfsync everysec): the bus's default
# durability mode relies on it (docs/operations.md).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

URL="${REDIS_URL:-$DEFAULT_REDIS_URL}"
DATA_DIR="$ROOT/var/redis"
PIDFILE="$DATA_DIR/redis.pid"
LOGFILE="$DATA_DIR/redis.log"

ensure_binaries() {
    # The tests start redis-server processes of their own, so the binary is
    # needed even when REDIS_URL points at a server that already runs.
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
        apt_install redis-server
    fi
}

# Print the server's answer to PING ("PONG" when it is up and has loaded its data).
ping_reply() {
    timeout 5 redis-cli -u "$URL" --no-auth-warning ping 2>&1 || true
}

answers() { [ "$(ping_reply)" = "PONG" ]; }

local_pid() {
    if [ -f "$PIDFILE" ]; then
        local pid
        pid="$(cat "$PIDFILE")"
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            echo "$pid"
            return 0
        fi
    fi
    return 1
}

start_local() {
    local host port password
    host="$(url_part "$URL" host)"
    port="$(url_part "$URL" port)"
    password="$(url_part "$URL" password)"
    if ! is_loopback "$host"; then
        die "no Redis answers at $(redact_url "$URL") (REDIS_URL). Start that server, or unset REDIS_URL to let setup run a local one under var/redis."
    fi
    if pid="$(local_pid)"; then
        die "the local redis-server (pid $pid) runs but does not answer PING at $(redact_url "$URL"): $(ping_reply). See $LOGFILE."
    fi
    mkdir -p "$DATA_DIR"
    say "no Redis answers at $(redact_url "$URL"); starting redis-server on port $port with AOF under var/redis"
    local args=(
        --daemonize yes
        --bind 127.0.0.1
        --port "$port"
        --dir "$DATA_DIR"
        --appendonly yes
        --appendfsync everysec
        --save ""
        --pidfile "$PIDFILE"
        --logfile "$LOGFILE"
    )
    if [ -n "$password" ]; then
        args+=(--requirepass "$password")
    fi
    redis-server "${args[@]}"
    # A server replaying a large AOF answers LOADING until it is done.
    for _ in $(seq 1 600); do
        if answers; then
            say "redis-server is up (pid $(cat "$PIDFILE")), data in var/redis"
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$LOGFILE" >&2 || true
    die "redis-server did not answer PING within 60 s (last reply: $(ping_reply)). See $LOGFILE."
}

ensure() {
    ensure_binaries
    if answers; then
        say "Redis answers at $(redact_url "$URL"): using it"
        return 0
    fi
    start_local
}

stop() {
    local pid
    if ! pid="$(local_pid)"; then
        say "no local redis-server running from var/redis"
        return 0
    fi
    say "stopping the local redis-server (pid $pid)"
    # SIGTERM makes Redis fsync the AOF and exit cleanly.
    kill -TERM "$pid"
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    die "redis-server (pid $pid) did not stop within 10 s; stop it with: kill -9 $pid"
}

status() {
    if answers; then
        say "Redis answers at $(redact_url "$URL")"
    else
        say "no Redis answers at $(redact_url "$URL")"
    fi
    if pid="$(local_pid)"; then
        say "local redis-server from var/redis runs (pid $pid)"
    fi
}

case "${1:-ensure}" in
ensure) ensure ;;
stop) stop ;;
status) status ;;
*) die "unknown action '${1}'; use ensure, stop or status" ;;
esac
