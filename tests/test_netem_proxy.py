"""The loopback delaying proxy used by the remote-duet tests delays, keeps order, cuts and stops."""

import socket
import socketserver
import threading
import time

import pytest
from netem_proxy import DelayProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture()
def echo_port():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def round_trips(port, n):
    times, replies = [], []
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(n):
            msg = f"{i:04d}".encode()
            t0 = time.perf_counter()
            s.sendall(msg)
            got = b""
            while len(got) < 4:
                got += s.recv(4)
            times.append(time.perf_counter() - t0)
            replies.append(got)
    return times, replies


def test_round_trip_is_two_delays_with_jitter(echo_port):
    with DelayProxy(echo_port, delay_s=0.015, jitter_s=0.003, stall_probability=0.0, seed=1) as proxy:
        times, replies = round_trips(proxy.port, 40)
    assert replies == [f"{i:04d}".encode() for i in range(40)]
    assert min(times) >= 0.024  # never faster than two 12 ms legs
    # the median sits near two 15 ms legs; the machine may only add to it
    assert 0.027 < sorted(times)[20] < 0.040
    assert max(times) - min(times) > 0.004  # there is jitter


def test_stalls_hold_some_chunks(echo_port):
    with DelayProxy(echo_port, delay_s=0.005, jitter_s=0.001, stall_probability=0.2,
                    stall_s=(0.05, 0.06), seed=2) as proxy:
        times, replies = round_trips(proxy.port, 40)
    assert replies == [f"{i:04d}".encode() for i in range(40)]
    assert proxy.stalls > 0
    assert sum(t > 0.05 for t in times) > 0


def test_burst_keeps_order(echo_port):
    payload = b"".join(f"{i:05d}".encode() for i in range(2000))
    with DelayProxy(echo_port, delay_s=0.01, jitter_s=0.009, seed=3) as proxy, \
            socket.create_connection(("127.0.0.1", proxy.port)) as s:
        for i in range(0, len(payload), 50):
            s.sendall(payload[i:i + 50])
        got = b""
        while len(got) < len(payload):
            got += s.recv(65536)
    assert got == payload


def closed(sock) -> bool:
    """True if the peer closed or reset the connection."""
    try:
        return sock.recv(4) == b""
    except ConnectionResetError:
        return True


def test_cut_drops_connections_and_refuses_for_a_while(echo_port):
    with DelayProxy(echo_port, delay_s=0.002, jitter_s=0.0) as proxy:
        s = socket.create_connection(("127.0.0.1", proxy.port))
        s.sendall(b"ping")
        assert s.recv(4) == b"ping"
        proxy.cut(0.5)
        time.sleep(0.05)
        assert closed(s)
        s.close()
        with socket.create_connection(("127.0.0.1", proxy.port)) as refused:
            refused.settimeout(2)
            assert closed(refused)
        time.sleep(0.5)
        times, _ = round_trips(proxy.port, 2)
        assert len(times) == 2
        assert proxy.refused >= 1


def test_stops_by_itself(echo_port):
    proxy = DelayProxy(echo_port, lifetime_s=0.3).start()
    port = proxy.port
    proxy._thread.join(5)
    assert not proxy._thread.is_alive()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).recv(1)
