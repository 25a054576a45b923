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

say "starting every Procfile process; shop at http://127.0.0.1:8000/shop/, admin at /admin/ (Ctrl-C stops all)"
exec honcho start -f Procfile
