# Shared helpers for the scripts in this folder; source it, don't run it.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
DEFAULT_REDIS_URL="redis://127.0.0.1:6390/0"

# Colours only on a terminal: CI logs stay plain text.
if [ -t 2 ]; then
    _BLUE=$'\033[1;34m' _YELLOW=$'\033[1;33m' _RED=$'\033[1;31m' _OFF=$'\033[0m'
else
    _BLUE="" _YELLOW="" _RED="" _OFF=""
fi
say() { printf '%s==>%s %s\n' "$_BLUE" "$_OFF" "$*" >&2; }
warn() { printf '%swarning:%s %s\n' "$_YELLOW" "$_OFF" "$*" >&2; }
die() {
    printf '%serror:%s %s\n' "$_RED" "$_OFF" "$*" >&2
    exit 1
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# Print one part of a URL: host, port, db (redis path), password, dbname (pg path).
# Python's urllib, not sed: passwords and IPv6 hosts break hand-made parsing.
url_part() {
    python3 - "$1" "$2" <<'PY'
import sys
from urllib.parse import unquote, urlsplit

url, part = sys.argv[1], sys.argv[2]
u = urlsplit(url)
default_port = {"redis": 6379, "rediss": 6379}.get(u.scheme, 5432)
path = u.path.lstrip("/")
value = {
    "host": u.hostname or "127.0.0.1",
    "port": u.port or default_port,
    "db": path or "0",
    "dbname": path,
    "user": unquote(u.username or ""),
    "password": unquote(u.password or ""),
}[part]
print(value)
PY
}

# Print a Redis URL with its database number replaced (keeps host, auth, options).
redis_url_with_db() {
    python3 - "$1" "$2" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit

u = urlsplit(sys.argv[1])
print(urlunsplit((u.scheme, u.netloc, f"/{sys.argv[2]}", u.query, u.fragment)))
PY
}

# Print a URL without its password, for messages.
redact_url() {
    python3 - "$1" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit

u = urlsplit(sys.argv[1])
netloc = u.netloc
if u.password:
    netloc = netloc.replace(f":{u.password}@", ":***@", 1)
print(urlunsplit((u.scheme, netloc, u.path, u.query, u.fragment)))
PY
}

is_loopback() {
    case "$1" in
    127.* | localhost | ::1 | "[::1]") return 0 ;;
    *) return 1 ;;
    esac
}

# Install Debian packages when root; otherwise stop with the exact command to run.
apt_install() {
    if ! is_root; then
        die "missing: $*. Install it with: sudo apt-get install -y $* (then run the make target again)"
    fi
    say "installing Debian package(s): $*"
    export DEBIAN_FRONTEND=noninteractive
    # The package lists of a fresh machine may be empty or stale: update once on failure.
    if ! apt-get install -y -q "$@"; then
        apt-get update -q
        apt-get install -y -q "$@"
    fi
}
