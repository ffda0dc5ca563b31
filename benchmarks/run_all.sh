#!/usr/bin/env bash
# Run every benchmark, one after the other, printing each table.
set -euo pipefail
cd "$(dirname "$0")/.."
# the project's environment (scripts/install.sh makes .venv), else the python3 on PATH
python=python3
[ -x .venv/bin/python ] && python=.venv/bin/python
for script in matching duet beats startup transcription kitcheck mic mic_bleed two_kits lesson_patterns ws_latency memory remote batch; do
  echo "## benchmarks/$script.py"
  "$python" "benchmarks/$script.py"
  echo
done
