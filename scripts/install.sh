#!/usr/bin/env bash
# Install drumjam and everything it needs on a fresh Debian machine (run as root or with sudo).
#   bash scripts/install.sh          # the app, in .venv/ of this checkout
#   bash scripts/install.sh --test   # the app, the test tools, Chromium and PostgreSQL for tests
#   bash scripts/install.sh --train  # the app and PyTorch (CPU) for training the drum model
# drumjam goes into a virtual environment (.venv/ beside this script's folder), never into the
# system Python, so a stock Debian Python (PEP 668, "externally-managed-environment") works.
# PYTHON=/path/to/python3.x picks the interpreter the environment is made from (3.11 or newer).
set -euo pipefail
cd "$(dirname "$0")/.."

want=app
case "${1:-}" in
  --test) want=test ;;
  --train) want=train ;;
  "") ;;
  *) echo "usage: bash scripts/install.sh [--test|--train]" >&2; exit 2 ;;
esac

PY=${PYTHON:-python3}
apt_packages=(fluidsynth avldrums.lv2-soundfont fluid-soundfont-gm libsndfile1 libcairo2 fonts-dejavu-core
              fonts-droid-fallback)
if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  apt_packages+=(python3-venv)
fi
if [[ $want == train ]]; then
  apt_packages+=(hydrogen-drumkits musescore-general-soundfont timgm6mb-soundfont)
fi
if [[ $want == test ]]; then
  apt_packages+=(chromium chromium-driver nodejs postgresql)
fi

missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
# nodejs from another repository may already bring npm; Debian's own nodejs needs its npm
if [[ $want == test ]] && ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi
if (( ${#missing[@]} )); then
  SUDO=""
  [[ $(id -u) != 0 ]] && SUDO="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "drumjam needs Python 3.11 or newer; $PY is $("$PY" --version 2>&1)." \
       "Set PYTHON=/path/to/python3.11 (or newer) and run this again." >&2
  exit 1
fi
if [[ ! -x .venv/bin/python ]]; then
  echo "making the virtual environment .venv/ with $("$PY" --version 2>&1)"
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
pip_install() { "$VPY" -m pip install -q --disable-pip-version-check "$@"; }

case $want in
  app) pip_install -e . ;;
  test)
    pip_install -e '.[test,batch]'
    # PyTorch (CPU) for the Beat This! backend test and the training scripts' tests, and the
    # beat-this network code (drumjam computes its input itself, so torchaudio is not needed)
    pip_install 'torch==2.13.0' einops rotary-embedding-torch
    pip_install --no-deps beat-this
    # ESLint for the browser code, as package-lock.json pins it (again only when that changed)
    if ! cmp -s package-lock.json node_modules/.installed-lock.json; then
      npm ci --no-audit --no-fund --loglevel=error
      cp package-lock.json node_modules/.installed-lock.json
    fi
    ;;
  train) pip_install -e '.[train]' ;;
esac
echo "drumjam is installed in $(pwd)/.venv (run it as .venv/bin/drumjam)"
