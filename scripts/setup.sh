#!/usr/bin/env bash
# Set up everything Switchyard needs on this machine; safe to run again and again.
#
#   scripts/setup.sh             virtualenv + pinned deps, Redis, PostgreSQL (when
#                                DATABASE_URL points at it), migrate, bus sync
#   scripts/setup.sh --deps-only virtualenv + pinned deps only (lint)
#
# Environment: REDIS_URL (default redis://127.0.0.1:6390/0, the embedded one under var/redis), DATABASE_URL
# (default SQLite under var/), PYTHON (default python3.11).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

STAMP="$VENV/.requirements.sha256"

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    die "Python 3.11 is required (pyproject.toml) and was not found. Install it (Debian 12: apt-get install -y python3 python3-venv) or set PYTHON=/path/to/python3.11."
}

ensure_venv() {
    if [ -x "$PY" ] && "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
        return 0
    fi
    local python
    python="$(find_python)"
    if [ -e "$VENV" ]; then
        warn ".venv exists but has no working Python 3.11; recreating it"
        rm -rf "$VENV"
    fi
    say "creating .venv with $python ($("$python" --version 2>&1))"
    "$python" -m venv "$VENV" || die "could not create .venv; on Debian install the venv module: apt-get install -y python3-venv"
}

ensure_deps() {
    local want
    want="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
        say "pinned dependencies are installed (requirements unchanged)"
        return 0
    fi
    say "installing pinned dependencies from requirements-dev.txt"
    # This machine's pip config names local mirror folders that may not exist;
    # drop pip's one-line notice about each, keep everything else it says.
    local status=0
    "$PY" -m pip install --disable-pip-version-check -q -r requirements-dev.txt 2>&1 |
        { grep -v "is ignored: it is neither a file nor a directory" || true; } ||
        status=$?
    [ "$status" -eq 0 ] || die "pip could not install requirements-dev.txt (exit $status; see above)"
    echo "$want" >"$STAMP"
}

main() {
    ensure_venv
    ensure_deps
    if [ "${1:-}" = "--deps-only" ]; then
        return 0
    fi
    bash "$ROOT/scripts/redis.sh" ensure
    case "${DATABASE_URL:-}" in
    postgres://* | postgresql://* | pgsql://*)
        bash "$ROOT/scripts/postgres.sh" ensure "$DATABASE_URL"
        ;;
    esac
    mkdir -p var
    say "migrating the database"
    "$PY" manage.py migrate --noinput -v 0
    say "collecting static assets into var/static (served by whitenoise)"
    "$PY" manage.py collectstatic --noinput -v 0
    say "syncing declared topics and event schemas (manage.py bus sync)"
    "$PY" manage.py bus sync
    say "setup done"
}

main "$@"
