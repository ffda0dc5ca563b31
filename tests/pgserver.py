"""A throwaway PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` in a temporary folder.

Used by ``scripts/test.sh`` (``eval "$(python tests/pgserver.py start)"`` exports
``DRUMJAM_TEST_PG_URL`` and ``DRUMJAM_TEST_PG_DIR``; ``python tests/pgserver.py stop DIR`` stops
it and removes its folder) and by the ``pg_admin_url`` fixture when no server was started for
the run. The server runs as the ``postgres`` user when the tests run as root (PostgreSQL refuses
root), listens on 127.0.0.1 at a free port, trusts local connections and skips fsync.
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

START_TIMEOUT_S = 60


class Unavailable(RuntimeError):
    """No PostgreSQL server can be started here (the reason says why)."""


def _binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    path = found[-1] if found else shutil.which(name)
    if path is None:
        raise Unavailable(f"{name} not found; install Debian's postgresql "
                          "(bash scripts/install.sh --test)")
    return path


def _run(args: list[str], *, as_owner: bool) -> None:
    if as_owner and os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    done = subprocess.run(args, capture_output=True, text=True, timeout=START_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise Unavailable(f"{' '.join(args)} failed: {(done.stderr or done.stdout).strip()[-500:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start() -> tuple[Path, str]:
    """Make and start a cluster in a new temporary folder.

    Returns
    -------
    folder, url
        The cluster's folder (for :func:`stop`) and the SQLAlchemy URL of its ``postgres``
        database.
    """
    folder = Path(tempfile.mkdtemp(prefix="drumjam-pg-"))  # in /tmp, so postgres reaches it
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", _free_port()
    _run([_binary("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
          "--no-locale", "--no-sync"], as_owner=True)
    options = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off")
    _run([_binary("pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-o", options,
          "-w", "-t", str(START_TIMEOUT_S), "start"], as_owner=True)
    return folder, f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"


def stop(folder: Path) -> None:
    """Stop the cluster in ``folder`` and remove the folder."""
    try:
        _run([_binary("pg_ctl"), "-D", str(Path(folder) / "data"), "-m", "fast", "-w", "stop"],
             as_owner=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["start"] and len(sys.argv) == 2:
        try:
            where, url = start()
        except Unavailable as exc:
            sys.exit(f"PostgreSQL: {exc}")
        print(f"export DRUMJAM_TEST_PG_DIR={shlex.quote(str(where))} "
              f"DRUMJAM_TEST_PG_URL={shlex.quote(url)}")
    elif sys.argv[1:2] == ["stop"] and len(sys.argv) == 3:
        stop(Path(sys.argv[2]))
    else:
        sys.exit("usage: python tests/pgserver.py start | stop FOLDER")
