"""The jam app: ``create_app()`` builds the FastAPI application (API, WebSocket, browser client)."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import IntegrityError
from starlette.middleware.trustedhost import TrustedHostMiddleware

from drumjam.analysis import cache as beatmap_cache
from drumjam.errors import DrumjamError, NotFoundError
from drumjam.paths import db_url as default_db_url
from drumjam.paths import home_dir
from drumjam.web import (
    calibration_routes,
    history_routes,
    join_routes,
    kitcheck_routes,
    lesson_routes,
    mic_routes,
    room_routes,
    session_routes,
    song_routes,
    ws_routes,
)
from drumjam.web.middleware import BodyLimit, Bucket, RateLimit, SameOrigin, SecurityHeaders
from drumjam.web.protocol import refused_detail
from drumjam.web.state import JamState, ServerBusyError

STATIC_DIR = Path(__file__).parent / "static"
DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: Host names the app answers to unless ``$DRUMJAM_ALLOWED_HOSTS`` (comma-separated) says
#: otherwise; anything else is refused (400), which stops DNS-rebinding pages.
DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "::1", "testserver")
#: Per client address: how many sessions, rooms and join links it may create at once, and
#: then a minute.
DEFAULT_RATE_LIMITS = {"sessions": (60, 30.0), "rooms": (10, 6.0), "joins": (10, 6.0)}

#: Routers of the app.
ROUTERS = (song_routes, session_routes, ws_routes, calibration_routes, mic_routes,
           kitcheck_routes, history_routes, lesson_routes, room_routes, join_routes)

log = logging.getLogger("drumjam.web")


def create_app(
    db_url: str | None = None,
    home: str | Path | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    *,
    allowed_hosts: tuple[str, ...] | None = None,
    rate_limits: dict[str, tuple[int, float]] | None = None,
    public_url: str | None = None,
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
        Largest upload accepted, counted while it streams (default 50 MB).
    allowed_hosts : tuple of str, optional
        Host names the app answers to (default: ``$DRUMJAM_ALLOWED_HOSTS``, else this
        computer's names); ``("*",)`` answers to any.
    rate_limits : dict, optional
        ``{"sessions": (burst, per_minute), "rooms": (burst, per_minute)}`` per client address
        (default :data:`DEFAULT_RATE_LIMITS`).
    public_url : str, optional
        Where the other devices of the room reach the app (``https://192.168.1.20:8000``):
        join links and their QR codes point there (default: the address the page asking for
        the link was opened at).

    Returns
    -------
    fastapi.FastAPI
    """
    home_path = Path(home) if home is not None else home_dir()
    home_path.mkdir(parents=True, exist_ok=True)
    if db_url is None:
        db_url = default_db_url() if home is None else f"sqlite:///{home_path / 'drumjam.sqlite3'}"
    jam = JamState(home_path, db_url, max_upload_bytes)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        remove_leftovers(jam)
        jam.library.resume_drum_parts()  # drum parts a stop left half made
        yield
        jam.history.close()  # every hit played is written before the app stops

    app = FastAPI(title="drumjam", description="Play along and duet on drums in the browser.",
                  lifespan=lifespan)
    app.state.jam = jam
    app.state.db_url = db_url
    app.state.home = home_path
    app.state.public_url = public_url.rstrip("/") if public_url else None

    @app.exception_handler(DrumjamError)
    async def _person_error(_request: Request, exc: DrumjamError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFoundError) else 503 if isinstance(exc, ServerBusyError) else 400
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _refused(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own answer fails on NaN, infinity or a lone surrogate given (a 500)
        return JSONResponse({"detail": refused_detail(exc.errors())}, status_code=422)

    @app.exception_handler(IntegrityError)
    async def _conflict(_request: Request, _exc: IntegrityError) -> JSONResponse:
        return JSONResponse({"detail": "something of this name was saved at the same moment; "
                                       "choose another name or try again"}, status_code=409)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal error; it was logged on the server"}, status_code=500)

    for module in ROUTERS:
        app.include_router(module.router)
    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static")

    limits = {**DEFAULT_RATE_LIMITS, **(rate_limits or {})}
    app.add_middleware(BodyLimit, max_bytes=max_upload_bytes)
    app.add_middleware(RateLimit, limits={("POST", f"/api/{kind}"): Bucket(*limits[kind])
                                          for kind in ("sessions", "rooms", "joins")})
    app.add_middleware(SameOrigin)
    app.add_middleware(TrustedHostMiddleware,
                       allowed_hosts=list(allowed_hosts or allowed_hosts_from_env()))
    app.add_middleware(SecurityHeaders)
    return app


def remove_leftovers(jam: JamState) -> list[Path]:
    """Delete what crashed processes left in the making in drumjam's own folders, as the app
    starts: upload work folders, drum parts, stretched copies
    (:meth:`drumjam.library.SongLibrary.remove_stale_temporaries`) and beat-map cache entries
    (:func:`drumjam.analysis.cache.remove_stale_temporaries`), each untouched for an hour.

    Never stops the start: a folder that cannot be read is logged and passed over, and so is
    anything else that goes wrong. Returns what was deleted.
    """
    removed: list[Path] = []
    for sweep in (jam.library.remove_stale_temporaries, beatmap_cache.remove_stale_temporaries):
        try:
            removed += sweep()
        except Exception:  # noqa: BLE001 - housekeeping: the app starts all the same; logged
            log.exception("leftovers of crashed processes not removed (%s)", sweep.__qualname__)
    return removed


def allowed_hosts_from_env() -> tuple[str, ...]:
    """The host names of ``$DRUMJAM_ALLOWED_HOSTS`` (comma-separated), else
    :data:`DEFAULT_ALLOWED_HOSTS`."""
    names = os.environ.get("DRUMJAM_ALLOWED_HOSTS", "")
    return tuple(n.strip() for n in names.split(",") if n.strip()) or DEFAULT_ALLOWED_HOSTS
