"""Convert BeatNet's released PyTorch weights into the archive drumjam bundles.

BeatNet (https://github.com/mjhydri/BeatNet, CC BY 4.0) publishes its three trained models as
PyTorch state dicts inside its wheel. drumjam runs them with NumPy
(:mod:`drumjam.analysis.beatnet`), so they are stored once as a NumPy archive::

    pip download --no-deps BeatNet==1.1.3 -d /tmp/beatnet
    python scripts/convert_beatnet_weights.py /tmp/beatnet/BeatNet-1.1.3-py3-none-any.whl

Needs torch (``pip install torch``) to read the state dicts; writes
``src/drumjam/data/models/beatnet.npz`` (arrays named ``model_N/<state-dict name>``).
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import zipfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "drumjam" / "data" / "models" / "beatnet.npz"
MEMBER = re.compile(r"(?:^|/)models/(model_\d+)_weights\.pt$")


def state_dicts(source: Path) -> dict[str, dict[str, np.ndarray]]:
    """``{"model_1": {name: array}, ...}`` from a BeatNet wheel or a folder of ``*_weights.pt``."""
    import torch

    if source.is_dir():
        blobs = {m.group(1): p.read_bytes() for p in sorted(source.rglob("*_weights.pt"))
                 if (m := MEMBER.search(p.as_posix()))}
    else:
        with zipfile.ZipFile(source) as wheel:
            blobs = {m.group(1): wheel.read(n) for n in sorted(wheel.namelist()) if (m := MEMBER.search(n))}
    if not blobs:
        raise SystemExit(f"{source}: no models/model_N_weights.pt inside; give the BeatNet wheel")
    out = {}
    for name, blob in blobs.items():
        sd = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
        out[name] = {k: v.detach().numpy().astype(np.float32) for k, v in sd.items()}
    return out


def convert(source: Path, out: Path = OUT) -> Path:
    """Write the models of ``source`` to the archive ``out``; returns ``out``."""
    models = state_dicts(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **{f"{m}/{k}": v for m, sd in models.items() for k, v in sd.items()})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="BeatNet wheel (.whl) or a folder holding it unpacked")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if not args.source.exists():
        sys.exit(f"{args.source}: not found")
    print(convert(args.source, args.out))


if __name__ == "__main__":
    main()
