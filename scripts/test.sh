#!/usr/bin/env bash
# Install drumjam with its test tools and run every test (browser tests included).
# The database tests run on SQLite and on a throwaway PostgreSQL server started here for the
# run (tests/pgserver.py: initdb/pg_ctl in a temporary folder, as the postgres user when run
# as root) and stopped at exit; DRUMJAM_TEST_PG_URL=... uses another server instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
export DRUMJAM_HOME="${DRUMJAM_HOME:-$(mktemp -d)}"
export PATH="$PWD/.venv/bin:$PATH"
if [[ -z ${DRUMJAM_TEST_PG_URL:-} ]]; then
  pg_env=$(.venv/bin/python tests/pgserver.py start)  # stops the run if no server starts
  eval "$pg_env"
  trap '.venv/bin/python tests/pgserver.py stop "$DRUMJAM_TEST_PG_DIR"' EXIT
  echo "PostgreSQL for the tests: $DRUMJAM_TEST_PG_URL"
fi
.venv/bin/python -m pytest -q "$@"
