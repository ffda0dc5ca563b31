// A player's connection to a duet room: clock sync, the shared start, hits with sequence
// numbers that survive a dropped connection, and the partner's hits as they arrive.
//
// Every time here is in ms. "local" is performance.timeOrigin + performance.now(); "server" is
// the room's shared clock. A hit is sent with its server time; the server removes the player's
// calibration and backing-track delay and scores it.

import { PartnerHits } from "../js/partner.js";
import { ClockSync, localNowMs } from "./clock.js";

export const PING_BURST = 16;
export const PING_BURST_MS = 100;
export const PING_FAST_MS = 200; // until the clock has FAST_UNTIL samples
export const FAST_UNTIL = 64;
export const PING_EVERY_MS = 1000;
export const RECONNECT_MS = 500;
export const STATUS_EVERY_MS = 3000;
/** Close codes: no room for this code and token; the seat taken over by another window. */
export const CLOSE_NOT_ALLOWED = 4403;
export const CLOSE_REPLACED = 4409;

export class RoomClient {
  /**
   * @param {object} opts
   * @param {string} opts.code join code
   * @param {string} opts.token this player's token
   * @param {(event: object) => void} opts.onEvent called with every server message and with
   *   {type: "clock"}, {type: "connection", open}, {type: "song_start"}
   */
  constructor({ code, token, onEvent = () => {} }) {
    this.code = code;
    this.token = token;
    this.onEvent = onEvent;
    this.clock = new ClockSync();
    this.ws = null;
    this.nextSeq = 0;
    this.unacked = new Map();
    this.acks = new Map();
    this.startMs = null;
    this.startLocalMs = null;
    this.songStartedLocalMs = null;
    this.partnerRttMs = null;
    this.partner = new PartnerHits();
    this.settings = { calibration_ms: 0, track_delay_ms: 0 };
    this.result = null;
    this.ended = false;
    this.opens = 0;
    this.replaced = false;
    this.timers = [];
    this.welcome = null;
  }

  connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/api/rooms/ws`);
    this.ws = ws;
    ws.onmessage = (ev) => this.receive(ev.data, localNowMs());
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: "hello", code: this.code, token: this.token }));
      this.opens += 1;
      this.onEvent({ type: "connection", open: true });
      this.pingBurst();
    };
    ws.onclose = (ev) => {
      if (this.ws === ws) this.ws = null;
      this.onEvent({ type: "connection", open: false, code: ev.code });
      if (this.ended || this.replaced) return;
      if (ev.code === CLOSE_REPLACED) {
        // the same player opened the room in another window: that one plays on; connecting
        // again would take the seat back, and the two windows would do so for ever
        this.replaced = true;
        this.onEvent({ type: "error", detail: "this room is open in another window, which plays on; close this one" });
      } else if (ev.code === CLOSE_NOT_ALLOWED) this.fetchResult();
      else setTimeout(() => this.connect(), RECONNECT_MS);
    };
    if (!this.timers.length) {
      this.timers.push(setInterval(() => this.sendStatus(), STATUS_EVERY_MS));
      this.pingLoop();
    }
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(message) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  ping() {
    this.send({ type: "ping", t0_ms: localNowMs() });
  }

  pingLoop() {
    if (this.ended || this.replaced) return;
    this.ping();
    const samples = this.clock.ready ? this.clock.est.samples : 0;
    setTimeout(() => this.pingLoop(), samples < FAST_UNTIL ? PING_FAST_MS : PING_EVERY_MS);
  }

  pingBurst() {
    for (let i = 0; i < PING_BURST; i++) setTimeout(() => this.ping(), i * PING_BURST_MS);
  }

  sendStatus() {
    if (this.clock.ready) this.send({ type: "status", rtt_ms: this.clock.est.rttMs });
  }

  receive(text, arrivedLocalMs) {
    const msg = JSON.parse(text);
    switch (msg.type) {
      case "pong":
        this.clock.add(msg.t0_ms, msg.t1_ms, msg.t2_ms, arrivedLocalMs);
        this.onEvent({ type: "clock", estimate: this.clock.est, quality: this.clock.quality });
        return;
      case "welcome":
        this.welcome = msg;
        this.settings = msg.settings;
        for (const seq of msg.received_seqs) this.unacked.delete(seq);
        this.nextSeq = Math.max(this.nextSeq, ...msg.received_seqs.map((s) => s + 1), 0);
        for (const seq of [...this.unacked.keys()].sort((a, b) => a - b)) this.send(this.unacked.get(seq));
        if (msg.room.start_ms !== null) this.songStart(msg.room.start_ms);
        break;
      case "judgment":
        if (msg.mic) break; // the microphone's hits are numbered apart and never resent
        this.unacked.delete(msg.seq);
        this.acks.set(msg.seq, msg);
        break;
      case "start":
        this.songStart(msg.start_ms);
        break;
      case "partner_hit":
        // sounded while fresh, only shown once older than partner.staleMs (resent after a dropout)
        msg.fate = this.clock.ready && this.startMs !== null
          ? this.partner.arrive(this.startMs + msg.time_s * 1e3, this.clock.toServer(arrivedLocalMs))
          : { ageMs: null, sound: true };
        break;
      case "partner_status":
        this.partnerRttMs = msg.rtt_ms;
        break;
      case "settings":
        this.settings = { calibration_ms: msg.calibration_ms, track_delay_ms: msg.track_delay_ms };
        break;
      case "end":
        this.result = msg.result;
        this.ended = true;
        for (const t of this.timers) clearInterval(t);
        break;
      default:
        break;
    }
    this.onEvent(msg);
  }

  /** After the room ended while this player was away: its result, if it is still kept. */
  async fetchResult() {
    const response = await fetch("/api/rooms/result", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: this.code, token: this.token }),
    });
    if (response.ok) this.receive(JSON.stringify({ type: "end", result: await response.json() }), localNowMs());
    else this.onEvent({ type: "error", detail: "this room is closed; open a new one" });
  }

  /** The song's start on the local clock; backing track heard `track_delay_ms` later. */
  songStart(startMs) {
    if (this.startMs !== null) return;
    this.startMs = startMs;
    this.startLocalMs = this.clock.toLocal(startMs);
    this.onEvent({ type: "song_start", startMs, startLocalMs: this.startLocalMs,
                   heardLocalMs: this.startLocalMs + this.settings.track_delay_ms });
  }

  /** One's own hit, played at local time `localMs` (an input event's timestamp). */
  hit(voice, velocity, localMs) {
    if (!this.clock.ready || this.ended || this.startMs === null) return null;
    const message = { type: "hit", seq: this.nextSeq++, time_s: (this.clock.toServer(localMs) - this.startMs) / 1e3, voice, velocity };
    this.unacked.set(message.seq, message);
    this.send(message);
    return message;
  }

  /** Schedule hits [{local_ms, voice, velocity}] to be played at those local times. */
  scriptHits(hits) {
    for (const h of hits) {
      setTimeout(() => this.hit(h.voice, h.velocity ?? 100, h.local_ms), Math.max(0, h.local_ms - localNowMs()));
    }
    return hits.length;
  }

  /** A binary message (a microphone frame); false when the connection is down. */
  sendBinary(buffer) {
    if (!this.open) return false;
    this.ws.send(buffer);
    return true;
  }

  configure(settings) {
    this.send({ type: "settings", ...settings });
  }

  start() {
    this.send({ type: "start" });
  }

  /** Expected one-way delay of the partner's hits: half of each player's round trip. */
  expectedPartnerDelayMs() {
    if (!this.clock.ready || this.partnerRttMs === null) return null;
    return (this.clock.est.rttMs + this.partnerRttMs) / 2;
  }

  meanPartnerDelayMs() {
    return this.partner.meanDelayMs();
  }

  /** Delays (ms) of the partner's fresh hits, newest last. */
  get partnerDelays() {
    return this.partner.delays;
  }
}
