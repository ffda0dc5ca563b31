#!/usr/bin/env bash
# Install drumjam and start its main job: the jam app at http://127.0.0.1:8000/
#   bash scripts/start.sh                    # this computer only
#   bash scripts/start.sh --host 0.0.0.0     # also reachable from other devices on the network
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/drumjam serve "$@"
