#!/usr/bin/env bash
# Make a headless Chromium available for the browser tests (tests/e2e).
#
#   scripts/browser.sh ensure    install Debian's chromium if it is missing
#
# Playwright drives this system Chromium through executable_path; the suite
# never runs `playwright install` (FIELD-NOTES: no browser downloads here).
# Environment: CHROMIUM (default /usr/bin/chromium).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

ensure() {
    if [ -x "$CHROMIUM" ] && "$CHROMIUM" --headless --no-sandbox --version >/dev/null 2>&1; then
        say "headless browser: $("$CHROMIUM" --version 2>/dev/null)"
        return 0
    fi
    command -v apt-get >/dev/null ||
        die "$CHROMIUM is missing and apt-get is not available; install Chromium and set CHROMIUM=/path/to/chromium."
    is_root ||
        die "$CHROMIUM is missing. Install it as root: apt-get install -y chromium (or set CHROMIUM=/path/to/chromium)."
    say "installing Debian's chromium for the browser tests (apt-get, a few minutes once)"
    # apt-get update only when the package lists do not know chromium yet.
    apt-cache show chromium >/dev/null 2>&1 || apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null ||
        die "apt-get could not install chromium (see above)"
    [ -x "$CHROMIUM" ] || die "chromium was installed but $CHROMIUM does not exist; set CHROMIUM to its path."
    say "headless browser: $("$CHROMIUM" --version 2>/dev/null)"
}

case "${1:-}" in
ensure) ensure ;;
*) die "usage: scripts/browser.sh ensure" ;;
esac
