#!/usr/bin/env bash
# Install drumjam with its test tools and run every test (browser tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
export DRUMJAM_HOME="${DRUMJAM_HOME:-$(mktemp -d)}"
export PATH="$PWD/.venv/bin:$PATH"
exec .venv/bin/python -m pytest -q "$@"
