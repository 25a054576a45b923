#!/usr/bin/env bash
# Run the whole suite on SQLite, then the db_heavy tests again on PostgreSQL.
#
# Run scripts/setup.sh first (make test does). Extra arguments go to both
# pytest runs. Environment:
#   TEST_REDIS_URL     default: database 13 of the Redis at REDIS_URL
#   TEST_POSTGRES_URL  default: postgresql://postgres@127.0.0.1:5432/switchyard
#   TEST_POSTGRES=0    skip the PostgreSQL run (machines without PostgreSQL)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

[ -x "$VENV/bin/pytest" ] || die "pytest is not installed; run 'make setup' first"

export TEST_REDIS_URL="${TEST_REDIS_URL:-$(redis_url_with_db "${REDIS_URL:-$DEFAULT_REDIS_URL}" 13)}"
export DJANGO_SETTINGS_MODULE=config.settings.test
PG_URL="${TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/switchyard}"
# Tests choose their own durability mode; a strict one from the shell would
# make every publish on the non-AOF test Redis fail.
unset BUS_DURABILITY BUS_MAX_EVENT_BYTES

# The browser tests (tests/e2e) drive Debian's chromium.
bash "$ROOT/scripts/browser.sh" ensure

RESULTS="$ROOT/var/test-results"
mkdir -p "$RESULTS"
rm -f "$RESULTS"/*.xml

# Print "summary: N passed, N failed, N skipped" over the runs' JUnit files, so
# the log ends on the totals even when the last run selected nothing.
summary() {
    python3 - "$RESULTS"/*.xml <<'PY'
import sys
import xml.etree.ElementTree as ET

total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for path in sys.argv[1:]:
    for suite in ET.parse(path).getroot().iter("testsuite"):
        for name in total:
            total[name] += int(suite.get(name, 0))
failed = total["failures"] + total["errors"]
passed = total["tests"] - failed - total["skipped"]
print(f"summary: {passed} passed, {failed} failed, {total['skipped']} skipped")
PY
}

started=$SECONDS
say "pytest on SQLite (whole suite), Redis $(redact_url "$TEST_REDIS_URL")"
env -u DATABASE_URL "$VENV/bin/pytest" -q --junitxml="$RESULTS/sqlite.xml" "$@"
sqlite_seconds=$((SECONDS - started))

if [ "${TEST_POSTGRES:-1}" = "0" ]; then
    warn "TEST_POSTGRES=0: skipped the db_heavy run on PostgreSQL"
    say "tests passed in ${sqlite_seconds}s"
    summary
    exit 0
fi

bash "$ROOT/scripts/postgres.sh" ensure "$PG_URL"
started=$SECONDS
say "pytest -m db_heavy on PostgreSQL ($(redact_url "$PG_URL"))"
status=0
DATABASE_URL="$PG_URL" "$VENV/bin/pytest" -q -m db_heavy --junitxml="$RESULTS/postgres.xml" "$@" ||
    status=$?
# Exit code 5 is pytest's "no tests collected": no test is marked db_heavy yet.
if [ "$status" -eq 5 ]; then
    say "no test is marked db_heavy yet: nothing to run on PostgreSQL"
elif [ "$status" -ne 0 ]; then
    exit "$status"
fi
say "tests passed: SQLite run ${sqlite_seconds}s, PostgreSQL run $((SECONDS - started))s"
summary
