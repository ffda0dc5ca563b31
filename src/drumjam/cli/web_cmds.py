"""``drumjam serve``: start the jam app in the browser."""

from __future__ import annotations

import typer

from drumjam.errors import InputError


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the CLI."""

    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Address to listen on (127.0.0.1 = this computer only)."),
        port: int = typer.Option(8000, help="TCP port."),
    ) -> None:
        """Start the jam app: play along and duet in the browser at http://HOST:PORT/."""
        import uvicorn

        from drumjam.web.app import create_app

        if not 1 <= port <= 65535:
            raise InputError(f"port {port} does not exist; use 1-65535")
        from drumjam.store.db import migrate

        migrate()  # the database's schema up to date before the first request
        typer.echo(f"drumjam jam app on http://{host}:{port}/  (Ctrl+C to stop)")
        # hits are tiny JSON messages: compressing them costs more time than it saves
        uvicorn.run(create_app(), host=host, port=port, log_level="warning", ws_ping_interval=20,
                    ws_per_message_deflate=False)
