#!/usr/bin/env bash
# Start the demo: the operator login, then every process of the Procfile (honcho).
# Run scripts/setup.sh first (make demo does).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

[ -x "$VENV/bin/honcho" ] || die "honcho is not installed; run 'make setup' first"
"$PY" scripts/demo_login.py
mkdir -p var
# The Procfile names bare commands (python, daphne, celery): the venv's come first.
export PATH="$VENV/bin:$PATH"
export PYTHONUNBUFFERED=1

# Run what exists: a 'manage.py bus <sub>' process whose subcommand has not
# landed yet (eventbus/cli/<sub>.py) is left out, since honcho stops every
# process as soon as one exits.
processes=()
while IFS= read -r line; do
    [[ "$line" =~ ^([A-Za-z0-9_-]+):[[:space:]]*(.*)$ ]] || continue
    name="${BASH_REMATCH[1]}"
    command="${BASH_REMATCH[2]}"
    if [[ "$command" =~ manage\.py[[:space:]]+bus[[:space:]]+([a-z_]+) ]] &&
        [ ! -f "eventbus/cli/${BASH_REMATCH[1]}.py" ]; then
        warn "not starting '$name': 'manage.py bus ${BASH_REMATCH[1]}' does not exist yet"
        continue
    fi
    processes+=("$name")
done <Procfile

say "starting ${processes[*]}; open http://127.0.0.1:8000/admin/ (Ctrl-C stops all)"
exec honcho start -f Procfile "${processes[@]}"
