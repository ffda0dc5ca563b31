"""``drumjam serve`` starts the jam app; a bad port is one line and exit code 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx

DRUMJAM = [sys.executable, "-c", "from drumjam.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_starts_the_app(tmp_path):
    port = _free_port()
    env = dict(os.environ, DRUMJAM_HOME=str(tmp_path))
    proc = subprocess.Popen([*DRUMJAM, "serve", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        page = None
        while time.monotonic() < deadline and page is None:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            except httpx.HTTPError:
                time.sleep(0.2)
        assert page is not None and page.status_code == 200 and "drumjam" in page.text
        songs = httpx.get(f"http://127.0.0.1:{port}/api/songs").json()
        assert len(songs) >= 4
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/" in out


def test_serve_rejects_a_bad_port():
    proc = subprocess.run([*DRUMJAM, "serve", "--port", "70000"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "port 70000" in proc.stderr
