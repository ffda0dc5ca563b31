#!/usr/bin/env bash
# Install drumjam and everything it needs on a fresh Debian machine (run as root or with sudo).
#   bash scripts/install.sh          # the app
#   bash scripts/install.sh --test   # the app, the test tools and Chromium for browser tests
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

apt_packages=(fluidsynth avldrums.lv2-soundfont fluid-soundfont-gm libsndfile1 libcairo2 fonts-dejavu-core)
if [[ $want_test == 1 ]]; then
  apt_packages+=(chromium chromium-driver fonts-dejavu-core nodejs)
fi

missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if (( ${#missing[@]} )); then
  SUDO=""
  [[ $(id -u) != 0 ]] && SUDO="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
if [[ $want_test == 1 ]]; then
  $PY -m pip install -q --disable-pip-version-check -e '.[test]'
  # the optional Beat This! backend is tested on a tiny checkpoint: PyTorch for the CPU and the
  # beat-this network code (drumjam computes its input itself, so torchaudio is not needed)
  $PY -m pip install -q --disable-pip-version-check 'torch==2.13.0' einops rotary-embedding-torch
  $PY -m pip install -q --disable-pip-version-check --no-deps beat-this
else
  $PY -m pip install -q --disable-pip-version-check -e .
fi
