// Player 2 on their own device, in the same room as the host: both pages hold a connection to
// the join link (/ws/joins) and measure their *audio clock* against the server's with the remote
// duets' clock sync (room/clock.js, the same estimator as the server's): a ping is stamped with
// the audio clock heard now, the pong's server stamps come back, and the four stamps are also
// reported to the server, which maps the joined device's microphone frames onto the host's
// audio clock. The joined page turns the song's start on the server clock into its own audio
// clock with the same estimate. No DOM here.

import { ClockSync } from "../room/clock.js";

export const PING_FAST_MS = 120;
export const FAST_UNTIL = 24;
export const PING_EVERY_MS = 1000;

/** The code in a join link's fragment (#code=...), or "". */
export function joinCode(hash) {
  return new URLSearchParams(String(hash || "").replace(/^#/, "")).get("code") || "";
}

/** What the page says about the clock sync of a device ({synced, samples, needed, spread_ms}). */
export function clockText(status) {
  if (!status) return "measuring the clock…";
  if (!status.synced) return `measuring the clock (${status.samples} of ${status.needed} round trips)…`;
  return `clock synced (±${status.spread_ms.toFixed(1)} ms)`;
}

export class JoinLink {
  /**
   * @param {() => number} audioMs the page's audio clock heard now, in ms
   * @param {(msg: object) => void} onMessage every message but pong and the welcome
   * @param {(text: string) => void} onClose the link closed (why)
   */
  constructor(audioMs, onMessage, onClose = () => {}) {
    this.audioMs = audioMs;
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.clock = new ClockSync();
    this.ws = null;
    this.timer = null;
    this.closed = false;
  }

  /** Connect and say hello; resolves with the welcome, rejects with the server's reason
   * (call pingLoop() once the audio clock runs). */
  connect(code, token = "") {
    return new Promise((resolve, reject) => {
      const proto = location.protocol === "https:" ? "wss" : "ws";
      const ws = new WebSocket(`${proto}://${location.host}/ws/joins`);
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      let welcomed = false;
      let lastError = "could not connect to drumjam";
      ws.onopen = () => ws.send(JSON.stringify({ type: "hello", code, token }));
      ws.onmessage = (ev) => {
        const msg = JSON.parse(ev.data);
        if (msg.type === "join_welcome") {
          welcomed = true;
          resolve(msg);
        } else if (msg.type === "pong") {
          const t3 = this.audioMs();
          if (t3 < msg.t0_ms) return; // the audio clock's output timestamps stepped back: dropped
          this.clock.add(msg.t0_ms, msg.t1_ms, msg.t2_ms, t3);
          this.send({ type: "clock", t0_ms: msg.t0_ms, t1_ms: msg.t1_ms, t2_ms: msg.t2_ms, t3_ms: t3 });
        } else if (!welcomed && msg.type === "error") {
          lastError = msg.detail;
        } else {
          this.onMessage(msg);
        }
      };
      ws.onclose = () => {
        clearTimeout(this.timer);
        if (!welcomed) reject(new Error(lastError));
        else if (!this.closed) this.onClose("the connection to drumjam was lost");
      };
    });
  }

  pingLoop() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.send({ type: "ping", t0_ms: this.audioMs() });
    const samples = this.clock.ready ? this.clock.est.samples : 0;
    this.timer = setTimeout(() => this.pingLoop(), samples < FAST_UNTIL ? PING_FAST_MS : PING_EVERY_MS);
  }

  /** The page's audio clock (ms) at server time `serverMs`. */
  audioMsAt(serverMs) {
    return this.clock.toLocal(serverMs);
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  sendBinary(buffer) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(buffer);
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
    this.ws = null;
  }
}
