"""The room page's client (room.js) under faults, run in Node with a stand-in WebSocket."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

STATIC = Path(__file__).parents[1] / "src" / "drumjam" / "web" / "static"

PRELUDE = """
globalThis.location = { protocol: "http:", host: "testserver" };
const sockets = [];
globalThis.WebSocket = class {
  static OPEN = 1;
  constructor(url) { this.url = url; this.readyState = 0; this.sent = []; sockets.push(this); }
  send(text) { this.sent.push(text); }
  open() { this.readyState = 1; this.onopen(); }
  drop(code) { this.readyState = 3; this.onclose({ code }); }
};
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const { RoomClient, RECONNECT_MS } = await import(%s);
"""

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")


def run_node(script: str) -> dict:
    """Run ``script`` after the prelude; it prints one JSON object."""
    code = PRELUDE % json.dumps((STATIC / "room" / "room.js").as_uri()) + script
    out = subprocess.run(["node", "--input-type=module", "-e", code], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@needs_node
def test_a_page_whose_seat_another_window_took_does_not_take_it_back():
    """Closed with 4409 (the room opened in a second window), the page used to connect again
    after RECONNECT_MS and take the seat back, and the other window the same, for ever; now it
    says why and stays away. Any other close (a dropped network) still reconnects."""
    out = run_node("""
const events = [];
const replaced = new RoomClient({ code: "c", token: "t", onEvent: (e) => events.push(e) });
replaced.connect();
sockets[0].open();
sockets[0].drop(4409);
const dropped = new RoomClient({ code: "c", token: "t" });
dropped.connect();
sockets[1].open();
sockets[1].drop(1006);
await sleep(RECONNECT_MS + 300);
const errors = events.filter((e) => e.type === "error").map((e) => e.detail);
console.log(JSON.stringify({ urls: sockets.length, errors, reconnected: sockets.length === 3 }));
process.exit(0);
""")
    assert out["reconnected"] and out["urls"] == 3
    assert out["errors"] and "another window" in out["errors"][0]
