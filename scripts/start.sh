#!/usr/bin/env bash
# Install drumjam and start its main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec drumjam demo "$@"
