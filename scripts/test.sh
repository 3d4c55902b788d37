#!/usr/bin/env bash
# The whole test suite against real PostgreSQL and Redis: `bash scripts/test.sh [pytest args]`.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$ROOT"
ensure_venv
# The layers (.importlinter) first: a broken one fails the run before any test starts.
lint-imports
# Then the types (mypy.ini): a type error fails the run too.
mypy
ensure_postgres
ensure_redis
mkdir -p artifacts
set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here." >&2
  exit 1
fi
exit "$status"
