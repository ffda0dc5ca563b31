#!/usr/bin/env bash
# Install drumjam and start its main job: the jam app at http://127.0.0.1:8000/
#   bash scripts/start.sh                    # this computer only
#   bash scripts/start.sh --lan              # also the room's other devices (https, see README)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/drumjam serve "$@"
