"""``drumjam serve``: start the jam app in the browser."""

from __future__ import annotations

import errno
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

import typer

from drumjam.errors import InputError


def trusted_proxies(text: str) -> list[str]:
    """The reverse proxies whose ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed:
    comma-separated IP addresses or networks, or ``*`` for any; none for an empty text.

    Raises
    ------
    InputError
        For an entry that is neither an address nor a network.
    """
    entries = [e.strip() for e in text.split(",") if e.strip()]
    for entry in entries:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise InputError(f"--forwarded-allow-ips: {entry!r} is not an IP address or network; "
                             "give the proxy's address, e.g. 127.0.0.1 or 10.0.0.0/8") from None
    return entries


@dataclass(frozen=True)
class Serving:
    """How ``drumjam serve`` listens: address, the allowed host names, https files, the base
    URL of join links (None: the address each page was opened at) and what to tell the player."""

    host: str
    allowed_hosts: tuple[str, ...] | None
    certfile: str | None
    keyfile: str | None
    public_url: str | None
    lines: tuple[str, ...]


def plan_serving(*, host: str, port: int, lan: bool, certfile: Path | None,
                 keyfile: Path | None) -> Serving:
    """How to serve, from ``drumjam serve``'s options (see its help).

    Raises
    ------
    InputError
        For a certificate without its key (or the reverse), a file that does not exist, or a
        certificate that cannot be kept.
    """
    from drumjam.paths import home_dir
    from drumjam.web.app import allowed_hosts_from_env
    from drumjam.web.tls import ensure_certificate, host_names, lan_addresses

    if (certfile is None) != (keyfile is None):
        raise InputError("--ssl-certfile and --ssl-keyfile go together: give both, or neither "
                         "(--lan makes its own)")
    for option, f in (("--ssl-certfile", certfile), ("--ssl-keyfile", keyfile)):
        if f is not None and not f.is_file():
            raise InputError(f"{option} {f}: no such file; give the PEM file's path")
    chosen = host
    host = host or ("0.0.0.0" if lan else "127.0.0.1")
    if not lan:
        scheme = "https" if certfile else "http"
        return Serving(host, None, None if certfile is None else str(certfile),
                       None if keyfile is None else str(keyfile), None,
                       (f"drumjam jam app on {scheme}://{host}:{port}/  (Ctrl+C to stop)",))
    addresses = lan_addresses()
    if chosen and chosen not in ("0.0.0.0", "::"):  # one address only: the one given
        addresses = [] if _is_loopback(chosen) else [chosen]
    names = [*host_names(), "127.0.0.1", "::1", *addresses]
    lines = []
    if certfile is None:
        cert = ensure_certificate(home_dir() / "tls", names=names)
        certfile, keyfile = cert.cert_file, cert.key_file
        lines.append(f"certificate made by drumjam for this computer ({cert.cert_file}), "
                     f"SHA-256 {cert.fingerprint_sha256}: each browser asks once whether to "
                     "trust it")
    public = f"https://{addresses[0]}:{port}" if addresses else None
    lines.insert(0, f"drumjam jam app on https://localhost:{port}/ on this computer"
                    + (f", {public}/ on the other devices of this network" if public else
                       " (no network address to listen on: other devices cannot reach it)")
                    + "  (Ctrl+C to stop)")
    allowed = tuple(dict.fromkeys([*allowed_hosts_from_env(), *names]))
    return Serving(host, allowed, str(certfile), str(keyfile), public, tuple(lines))


def check_can_serve(serving: Serving, port: int) -> None:
    """Refuse at once, before the banner, what would stop the server as it starts: a
    certificate and key that do not load, an address that is not this computer's, a port in use.

    Raises
    ------
    InputError
        Naming the option, the value and what to do.
    """
    if serving.certfile is not None:
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
                serving.certfile, serving.keyfile)
        except (ssl.SSLError, OSError) as exc:
            raise InputError(f"--ssl-certfile {serving.certfile} with --ssl-keyfile "
                             f"{serving.keyfile}: not a certificate and its private key in PEM "
                             f"({exc.strerror or exc}); give the PEM files of one certificate"
                             ) from None
    try:
        infos = socket.getaddrinfo(serving.host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise InputError(f"--host {serving.host}: no such address; give one of this computer's "
                         "addresses, or leave --host out") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind(address)
        except OSError as exc:
            reason = ("is in use (is drumjam already running?); stop what uses it or give "
                      "another --port" if exc.errno == errno.EADDRINUSE else
                      f"cannot be listened on ({exc.strerror}); give another --host or --port")
            raise InputError(f"{serving.host} port {port} {reason}") from None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name
        return host.lower() == "localhost"


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the CLI."""

    @app.command()
    def serve(
        host: str = typer.Option("", help="Address to listen on (default 127.0.0.1, this computer "
                                          "only; with --lan 0.0.0.0, every network)."),
        port: int = typer.Option(8000, help="TCP port."),
        lan: bool = typer.Option(
            False, "--lan",
            help="Serve the other devices of the room too (a phone joining as player 2, a second "
                 "microphone): listen on every network, over https with a certificate drumjam "
                 "makes for this computer (each browser asks once whether to trust it: browsers "
                 "give the microphone only to https pages), and give join links and their QR "
                 "codes at this computer's network address."),
        ssl_certfile: Path | None = typer.Option(
            None, "--ssl-certfile", help="Serve over https with this certificate (PEM), e.g. one "
                                         "for a domain name, instead of the one --lan makes."),
        ssl_keyfile: Path | None = typer.Option(
            None, "--ssl-keyfile", help="The private key (PEM) of --ssl-certfile."),
        forwarded_allow_ips: str = typer.Option(
            "", "--forwarded-allow-ips",
            help="Behind a reverse proxy: its addresses (comma-separated IPs or networks, or *), "
                 "whose X-Forwarded-For and X-Forwarded-Proto headers give each client's address "
                 "(for rate limits) and scheme. Default: none, the connecting address is the client."),
    ) -> None:
        """Start the jam app: play along and duet in the browser at http://HOST:PORT/."""
        import uvicorn

        from drumjam.web.app import create_app

        if not 1 <= port <= 65535:
            raise InputError(f"port {port} does not exist; use 1-65535")
        proxies = trusted_proxies(forwarded_allow_ips)
        serving = plan_serving(host=host, port=port, lan=lan, certfile=ssl_certfile,
                               keyfile=ssl_keyfile)
        from drumjam.store.db import migrate

        check_can_serve(serving, port)
        migrate()  # the database's schema up to date before the first request
        for line in serving.lines:
            typer.echo(line)
        # hits are tiny JSON messages: compressing them costs more time than it saves
        uvicorn.run(create_app(allowed_hosts=serving.allowed_hosts, public_url=serving.public_url),
                    host=serving.host, port=port, log_level="warning", ws_ping_interval=20,
                    ws_per_message_deflate=False, proxy_headers=bool(proxies),
                    forwarded_allow_ips=proxies or None, ssl_certfile=serving.certfile,
                    ssl_keyfile=serving.keyfile)
