"""The jam app: ``create_app()`` builds the FastAPI application (API, WebSocket, browser client)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from drumjam.errors import DrumjamError, NotFoundError
from drumjam.paths import db_url as default_db_url
from drumjam.paths import home_dir
from drumjam.web import (
    calibration_routes,
    history_routes,
    lesson_routes,
    room_routes,
    session_routes,
    song_routes,
    ws_routes,
)
from drumjam.web.state import JamState, ServerBusyError

STATIC_DIR = Path(__file__).parent / "static"
DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024

#: Routers of the app.
ROUTERS = (song_routes, session_routes, ws_routes, calibration_routes, history_routes,
           lesson_routes, room_routes)


def create_app(
    db_url: str | None = None,
    home: str | Path | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
) -> FastAPI:
    """Build the jam app.

    Parameters
    ----------
    db_url : str, optional
        Database of the session history (default: ``$DRUMJAM_DB_URL``, else SQLite in
        ``home``).
    home : str or Path, optional
        Folder for added songs and caches (default: ``$DRUMJAM_HOME``).
    max_upload_bytes : int
        Largest song file accepted (default 50 MB).

    Returns
    -------
    fastapi.FastAPI
    """
    home_path = Path(home) if home is not None else home_dir()
    home_path.mkdir(parents=True, exist_ok=True)
    if db_url is None:
        db_url = default_db_url() if home is None else f"sqlite:///{home_path / 'drumjam.sqlite3'}"
    app = FastAPI(title="drumjam", description="Play along and duet on drums in the browser.")
    app.state.jam = JamState(home_path, db_url, max_upload_bytes)
    app.state.db_url = db_url
    app.state.home = home_path

    @app.exception_handler(DrumjamError)
    async def _person_error(_request: Request, exc: DrumjamError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFoundError) else 503 if isinstance(exc, ServerBusyError) else 400
        return JSONResponse({"detail": str(exc)}, status_code=status)

    for module in ROUTERS:
        app.include_router(module.router)
    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static")
    return app
