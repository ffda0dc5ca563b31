"""``drumjam serve``: start the jam app in the browser."""

from __future__ import annotations

import ipaddress

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


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the CLI."""

    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Address to listen on (127.0.0.1 = this computer only)."),
        port: int = typer.Option(8000, help="TCP port."),
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
        from drumjam.store.db import migrate

        migrate()  # the database's schema up to date before the first request
        typer.echo(f"drumjam jam app on http://{host}:{port}/  (Ctrl+C to stop)")
        # hits are tiny JSON messages: compressing them costs more time than it saves
        uvicorn.run(create_app(), host=host, port=port, log_level="warning", ws_ping_interval=20,
                    ws_per_message_deflate=False, proxy_headers=bool(proxies),
                    forwarded_allow_ips=proxies or None)
