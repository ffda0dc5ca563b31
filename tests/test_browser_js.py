"""The browser's DOM-free modules under Node's test runner, and ESLint over all browser code.

``tests/js/*.test.mjs`` test the modules of ``src/drumjam/web/static`` that touch no DOM (the
audio clock, the timeline of clicks, partner hits, the start guard, the mark texts). ESLint runs
with the project's flat config when ``npm ci`` has installed it (``scripts/install.sh --test``).
"""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
JS_TESTS = sorted((ROOT / "tests" / "js").glob("*.test.mjs"))


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the browser modules")
@pytest.mark.parametrize("path", JS_TESTS, ids=[p.name for p in JS_TESTS])
def test_node_unit_tests(path):
    out = subprocess.run(["node", "--test", str(path)], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "# fail 0" in out.stdout and "# pass 0" not in out.stdout


def test_there_are_node_unit_tests():
    assert len(JS_TESTS) >= 5


@pytest.mark.skipif(not (ROOT / "node_modules" / ".bin" / "eslint").exists(),
                    reason="ESLint is not installed: run `npm ci` (scripts/install.sh --test does)")
def test_eslint_finds_nothing():
    out = subprocess.run(["npx", "--no-install", "eslint", "--max-warnings", "0",
                          "src/drumjam/web/static", "tests/js", "eslint.config.js"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
