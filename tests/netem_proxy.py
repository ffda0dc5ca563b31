"""A delaying TCP proxy on loopback, in the spirit of Toxiproxy's latency toxic.

Every chunk of bytes, in each direction, is held for ``delay_s`` plus uniform jitter of
``+-jitter_s`` before it is passed on; chunks keep their order (a chunk never overtakes the one
before it, as on one TCP connection). Now and then a chunk stalls for a while, as when a lost
segment is sent again. :meth:`DelayProxy.cut` drops every connection and refuses new ones for a
while (a dropped link). The proxy runs its own event loop in a thread, serves only 127.0.0.1,
and stops by itself after ``lifetime_s``.

Usage::

    with DelayProxy(target_port=8000) as proxy:
        url = f"http://127.0.0.1:{proxy.port}/"
"""

from __future__ import annotations

import asyncio
import random
import threading
import time

LOOPBACK = "127.0.0.1"
CHUNK_BYTES = 65536


class DelayProxy:
    """Loopback TCP proxy adding one-way delay, jitter and occasional stalls.

    Parameters
    ----------
    target_port : int
        Port on 127.0.0.1 to forward to.
    delay_s : float
        Mean one-way delay added in each direction.
    jitter_s : float
        Half-width of the uniform jitter around ``delay_s``.
    stall_probability : float
        Chance that a chunk stalls.
    stall_s : tuple of float
        Range of a stall's extra delay.
    lifetime_s : float
        The proxy closes everything and stops after this long.
    max_connections : int
        Connections open at once; more are refused.
    seed : int or None
        Seed of the delays, for a repeatable run.
    """

    def __init__(self, target_port: int, *, delay_s: float = 0.015, jitter_s: float = 0.003,
                 stall_probability: float = 0.01, stall_s: tuple[float, float] = (0.05, 0.25),
                 lifetime_s: float = 300.0, max_connections: int = 64, seed: int | None = None) -> None:
        if not 0 <= jitter_s <= delay_s:
            raise ValueError(f"jitter {jitter_s} s must lie between 0 and the delay {delay_s} s")
        self.target_port = target_port
        self.delay_s = delay_s
        self.jitter_s = jitter_s
        self.stall_probability = stall_probability
        self.stall_s = stall_s
        self.lifetime_s = lifetime_s
        self.max_connections = max_connections
        self.rng = random.Random(seed)
        self.port = 0
        self.chunks = 0
        self.stalls = 0
        self.refused = 0
        self._cut_until = 0.0
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    # ------------------------------------------------------------------ control (any thread)
    def start(self) -> DelayProxy:
        """Start serving on a free loopback port (``self.port``)."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True,
                                        name="delay-proxy")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the delay proxy did not start")
        return self

    def stop(self) -> None:
        """Close every connection and stop (waits for the thread)."""
        if self._loop is not None and self._stopped is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(10)

    def cut(self, duration_s: float) -> None:
        """Drop every open connection now and refuse new ones for ``duration_s``."""
        self._cut_until = time.monotonic() + duration_s
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._drop_all)

    def __enter__(self) -> DelayProxy:  # noqa: PYI034 (a subclass would start the same way)
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ inside the loop
    def _run(self, ready: threading.Event) -> None:
        asyncio.run(self._main(ready))

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        server = await asyncio.start_server(self._accept, LOOPBACK, 0)
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        try:
            await asyncio.wait_for(self._stopped.wait(), timeout=self.lifetime_s)
        except TimeoutError:
            pass
        server.close()
        self._drop_all()
        # let the connections' tasks see their closed sockets and end on their own
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=5)
        await server.wait_closed()

    def _drop_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def _one_way_s(self) -> float:
        delay = self.delay_s + self.rng.uniform(-self.jitter_s, self.jitter_s)
        if self.rng.random() < self.stall_probability:
            self.stalls += 1
            delay += self.rng.uniform(*self.stall_s)
        return delay

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if time.monotonic() < self._cut_until or len(self._writers) >= 2 * self.max_connections:
            self.refused += 1
            client_w.transport.abort()
            return
        try:
            server_r, server_w = await asyncio.open_connection(LOOPBACK, self.target_port)
        except OSError:
            client_w.transport.abort()
            return
        self._writers.update((client_w, server_w))
        task = asyncio.current_task()
        self._handlers.add(task)
        try:
            await asyncio.gather(self._pipe(client_r, server_w), self._pipe(server_r, client_w))
        finally:
            self._handlers.discard(task)
            for w in (client_w, server_w):
                self._writers.discard(w)
                w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read chunks, hold each until its release time, write them in order."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def deliver() -> None:
            while True:
                release, data = await queue.get()
                if not data:
                    return
                wait = release - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()

        sender = asyncio.create_task(deliver())
        last_release = 0.0
        try:
            while True:
                data = await reader.read(CHUNK_BYTES)
                release = max(loop.time() + self._one_way_s(), last_release)
                last_release = release
                self.chunks += 1
                queue.put_nowait((release, data))
                if not data:
                    break
            await sender
        except (ConnectionError, OSError):
            pass
        finally:
            sender.cancel()
            if writer.can_write_eof():
                try:
                    writer.write_eof()
                except (OSError, RuntimeError):
                    pass
