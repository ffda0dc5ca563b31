#!/usr/bin/env bash
# Run every benchmark, one after the other, printing each table.
set -euo pipefail
cd "$(dirname "$0")/.."
for script in matching duet beats startup transcription kitcheck mic mic_bleed two_kits lesson_patterns ws_latency memory remote batch; do
  echo "## benchmarks/$script.py"
  python3 "benchmarks/$script.py"
  echo
done
