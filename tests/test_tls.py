"""Serving the room's other devices: the certificate drumjam makes, ``drumjam serve --lan``'s
plan, and the app answering over https with join links at the network address."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from drumjam.cli.web_cmds import plan_serving
from drumjam.errors import InputError
from drumjam.web.tls import RENEW_DAYS, VALID_DAYS, ensure_certificate, lan_addresses

NAMES = ["localhost", "drums.local", "127.0.0.1", "192.168.1.20"]


def _san(cert_file: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName)) | {str(a) for a in
                                                         san.get_values_for_type(x509.IPAddress)}


def test_a_certificate_for_every_name_and_address_its_key_private(tmp_path: Path) -> None:
    cert = ensure_certificate(tmp_path, names=NAMES)
    assert cert.made and _san(cert.cert_file) == set(NAMES)
    # addresses are IP entries (a browser matches an address only against those)
    loaded = x509.load_pem_x509_certificate(cert.cert_file.read_bytes())
    ips = loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("192.168.1.20") in ips.get_values_for_type(x509.IPAddress)
    assert stat.S_IMODE(os.stat(cert.key_file).st_mode) == 0o600
    days = (loaded.not_valid_after_utc - loaded.not_valid_before_utc).days
    assert VALID_DAYS <= days <= VALID_DAYS + 1
    # a TLS server can load the pair
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert.cert_file, cert.key_file)


def test_the_certificate_is_kept_while_it_covers_the_names_and_made_again_after(tmp_path: Path) -> None:
    first = ensure_certificate(tmp_path, names=NAMES)
    again = ensure_certificate(tmp_path, names=NAMES[:2])
    assert not again.made and again.fingerprint_sha256 == first.fingerprint_sha256
    # the computer got a new address: a new certificate covers it
    moved = ensure_certificate(tmp_path, names=[*NAMES, "10.0.0.7"])
    assert moved.made and moved.fingerprint_sha256 != first.fingerprint_sha256
    assert "10.0.0.7" in _san(moved.cert_file)
    # near its end, it is made again
    late = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=VALID_DAYS - RENEW_DAYS + 1)
    assert ensure_certificate(tmp_path, names=NAMES, now=late).made
    # a damaged file is replaced, not an error
    moved.cert_file.write_text("not a certificate")
    assert ensure_certificate(tmp_path, names=NAMES).made


def test_bad_names_and_an_unwritable_folder_are_said(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a host name"):
        ensure_certificate(tmp_path, names=["drums local/evil"])
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot keep the certificate"):
        ensure_certificate(blocker / "tls", names=NAMES)


def test_serve_plans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRUMJAM_HOME", str(tmp_path))
    local = plan_serving(host="", port=8000, lan=False, certfile=None, keyfile=None)
    assert local.host == "127.0.0.1" and local.certfile is None and local.public_url is None
    assert "http://127.0.0.1:8000/" in local.lines[0]
    lan = plan_serving(host="", port=8443, lan=True, certfile=None, keyfile=None)
    assert lan.host == "0.0.0.0" and Path(lan.certfile).is_file() and Path(lan.keyfile).is_file()
    addresses = lan_addresses()
    assert set(addresses) <= set(lan.allowed_hosts) and "localhost" in lan.allowed_hosts
    assert set(addresses) | {"localhost"} <= _san(Path(lan.certfile))
    if addresses:
        assert lan.public_url == f"https://{addresses[0]}:8443"
    # one address given: the links point there; loopback only: nowhere else
    named = plan_serving(host="drums.local", port=8443, lan=True, certfile=None, keyfile=None)
    assert named.public_url == "https://drums.local:8443" and "drums.local" in _san(Path(named.certfile))
    alone = plan_serving(host="127.0.0.1", port=8443, lan=True, certfile=None, keyfile=None)
    assert alone.public_url is None and "cannot reach it" in alone.lines[0]
    with pytest.raises(InputError, match="go together"):
        plan_serving(host="", port=8000, lan=False, certfile=Path(lan.certfile), keyfile=None)
    with pytest.raises(InputError, match="no such file"):
        plan_serving(host="", port=8000, lan=True, certfile=tmp_path / "missing.pem",
                     keyfile=tmp_path / "missing.key")


def serve(home: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, int]:
    """``drumjam serve --port PORT ARGS`` started as a player starts it, on a free port, with
    ``home`` as ``DRUMJAM_HOME``; the process (its output piped) and the port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen([sys.executable, "-c", "from drumjam.cli import main; main()", "serve",
                             "--port", str(port), *args],
                            env={**os.environ, "DRUMJAM_HOME": str(home), **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, port


def wait_answering(proc: subprocess.Popen, url: str) -> None:
    """Wait up to 60 s for the served app to answer at ``url`` (any certificate)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url, verify=False, timeout=2)
            return
        except httpx.HTTPError:
            if proc.poll() is not None:
                pytest.fail(f"drumjam serve stopped: {proc.stdout.read()}")
            assert time.monotonic() < deadline, f"{url} did not answer in 60 s"
            time.sleep(0.3)

def test_served_over_https_with_join_links_at_the_network_address(tmp_path: Path) -> None:
    """``drumjam serve --lan`` as a player starts it: https only, the certificate it printed,
    and a join link another device can open."""
    proc, port = serve(tmp_path, "--lan")
    try:
        base = f"https://localhost:{port}"
        wait_answering(proc, base + "/")
        trusted = ssl.create_default_context(cafile=str(tmp_path / "tls" / "drumjam-cert.pem"))
        assert httpx.get(base + "/", verify=trusted).status_code == 200
        join = httpx.post(base + "/api/joins", headers={"Origin": base}, verify=trusted).json()
        addresses = lan_addresses()
        host = addresses[0] if addresses else "localhost"
        assert join["join_url"].startswith(f"https://{host}:{port}/join.html#code=")
        if addresses:  # the certificate holds for the address the link gives
            page = httpx.get(join["join_url"].split("#")[0], verify=trusted)
            assert page.status_code == 200 and "join" in page.text.lower()
        with pytest.raises(httpx.HTTPError):  # no plain http on that port
            httpx.get(f"http://localhost:{port}/", timeout=5)
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert "SHA-256" in out and "each browser asks once" in out
