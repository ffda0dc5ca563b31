"""ASGI middleware of the jam app: request limits, origin checks, rate limits, security headers.

- :class:`BodyLimit`: every request body is counted while it streams (never trusting
  Content-Length alone) and refused with 413 past its limit; a JSON body is also refused (400)
  when it nests deeper than :data:`drumjam.web.protocol.MAX_JSON_DEPTH`, before any parser
  recurses into it.
- :class:`SameOrigin`: a WebSocket or a state-changing request (anything but GET, HEAD and
  OPTIONS) that a page of another origin sends is refused (403; a WebSocket is closed before it
  opens), so a web page cannot drive a player's local server.
- :class:`RateLimit`: per client address, token buckets on creating sessions and rooms (429).
- :class:`SecurityHeaders`: CSP, ``nosniff``, ``frame-ancestors`` and a referrer policy on
  every response.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from drumjam.web.protocol import MAX_JSON_DEPTH, json_depth_ok

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Largest JSON body accepted (a lesson take of 20,000 hits is about 1.5 MB).
MAX_JSON_BODY_BYTES = 4 * 1024 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: ``font-src data:``: verovio's notation SVG embeds its music font as a ``data:`` URL.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "font-src 'self' data:; img-src 'self' data: blob:; media-src 'self' blob:; "
       "connect-src 'self'; "
       "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'self'")
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


async def send_json(send: Send, status: int, detail: str, headers: tuple = ()) -> None:
    """Answer an HTTP request with ``{"detail": ...}`` and a status."""
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    """Raised into the app when the body it reads passes the limit."""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` (413) while they stream, and JSON bodies over
    :data:`MAX_JSON_BODY_BYTES` or nested deeper than the protocol allows.

    Parameters
    ----------
    app : ASGI app
    max_bytes : int
        Largest body of an upload (multipart) or any other non-JSON request.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        is_json = (_header(scope, b"content-type") or "").split(";")[0].strip().lower() == "application/json"
        limit = MAX_JSON_BODY_BYTES if is_json else self.max_bytes
        too_big = f"the request body is larger than {limit / 2**20:.0f} MB; send a smaller file"
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await send_json(send, 413, too_big)
            return
        if is_json:
            await self._json(scope, receive, send, limit, too_big)
            return
        state = {"size": 0, "over": False, "started": False}

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["size"] += len(message.get("body", b""))
                if state["size"] > limit:
                    state["over"] = True
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            if state["over"]:
                return  # the app's own answer to the cut-off body is replaced by the 413
            state["started"] = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except _TooLarge:
            pass
        except Exception:
            if not state["over"]:
                raise
        if state["over"] and not state["started"]:
            await send_json(send, 413, too_big)

    async def _json(self, scope: Scope, receive: Receive, send: Send, limit: int, too_big: str) -> None:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await send_json(send, 413, too_big)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if not json_depth_ok(body):
            await send_json(send, 400, f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class SameOrigin:
    """Refuse WebSockets and state-changing requests sent by pages of another origin.

    A request without an ``Origin`` header (a command-line client, a test) passes; one whose
    origin's host and port are the request's ``Host`` passes; so does one from
    ``allowed_origins`` (e.g. a page served by a reverse proxy under another name).
    """

    def __init__(self, app: ASGIApp, allowed_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.allowed = {o.rstrip("/").lower() for o in allowed_origins}

    def _allowed(self, scope: Scope) -> bool:
        if (_header(scope, b"sec-fetch-site") or "").lower() == "cross-site":
            return False
        origin = _header(scope, b"origin")
        if origin is None:
            return True
        origin = origin.rstrip("/").lower()
        if origin in self.allowed:
            return True
        host = (_header(scope, b"host") or "").lower()
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False  # "null" (sandboxed frames, files) and other schemes
        default_port = {"http": 80, "https": 443}[parts.scheme]
        return _with_port(parts.netloc, default_port) == _with_port(host, default_port)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        checked = scope["type"] == "websocket" or (scope["type"] == "http"
                                                   and scope["method"] not in SAFE_METHODS)
        if not checked or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4403, "reason": "cross-origin"})
            return
        await send_json(send, 403, "requests from pages of another site are refused; open the "
                                   "app's own page")


def _with_port(netloc: str, default_port: int) -> str:
    netloc = netloc.rsplit("@", 1)[-1]
    if netloc.startswith("["):  # IPv6
        host, _, rest = netloc.partition("]")
        return f"{host}]:{rest[1:] or default_port}"
    host, _, port = netloc.partition(":")
    return f"{host}:{port or default_port}"


@dataclass
class Bucket:
    """A token bucket: ``burst`` at once, then ``per_minute`` a minute."""

    burst: int
    per_minute: float
    _levels: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, key: str, now_s: float) -> float:
        """Take a token for ``key``; 0 if one was there, else the seconds until one is."""
        rate_s = self.per_minute / 60.0
        with self._lock:
            level, seen_s = self._levels.get(key, (float(self.burst), now_s))
            level = min(float(self.burst), level + (now_s - seen_s) * rate_s)
            if level >= 1.0:
                self._levels[key] = (level - 1.0, now_s)
                if len(self._levels) > 100_000:  # forget full buckets of clients long gone
                    self._levels = {k: v for k, v in self._levels.items()
                                    if v[0] + (now_s - v[1]) * rate_s < self.burst}
                return 0.0
            self._levels[key] = (level, now_s)
            return (1.0 - level) / rate_s


class RateLimit:
    """Per-client token buckets on given ``(method, path)`` routes; 429 with Retry-After.

    Parameters
    ----------
    app : ASGI app
    limits : dict
        ``{("POST", "/api/rooms"): Bucket(...), ...}``.
    clock_s : callable
        Seconds, monotonic.
    """

    def __init__(self, app: ASGIApp, limits: dict[tuple[str, str], Bucket],
                 clock_s: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.limits = limits
        self.clock_s = clock_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            bucket = self.limits.get((scope["method"], scope["path"].rstrip("/")))
            if bucket is not None:
                client = (scope.get("client") or ("unknown", 0))[0]
                wait_s = bucket.take(client, self.clock_s())
                if wait_s > 0:
                    retry = str(max(1, math.ceil(wait_s))).encode()
                    await send_json(send, 429, f"too many requests from this address; try again "
                                               f"in {retry.decode()} s", ((b"retry-after", retry),))
                    return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Add CSP, nosniff, frame-ancestors and a referrer policy to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", ())}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)
