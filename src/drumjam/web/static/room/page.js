// The remote duet page: open or join a room, sync the clock, start together, play, see the result.

import { api, el, fmt } from "../js/api.js";
import { AudioEngine } from "../js/engine.js";
import { buildPads, KeyMap, listenKeyboard } from "../js/inputs.js";
import { playDrum } from "../js/drums.js";
import { RoomClient } from "./room.js";
import { localNowMs } from "./clock.js";

const $ = (id) => document.getElementById(id);
const STORE = "drumjam.room.";

let engine = null;
let client = null;
let partnerConnected = false;
let backing = null;

function say(text, info = false) {
  const box = $("message");
  box.textContent = text;
  box.className = info ? "message info" : "message";
  box.hidden = !text;
}

function audio() {
  if (!engine) engine = new AudioEngine();
  engine.resume();
  return engine;
}

function codeFromHash() {
  return new URLSearchParams(location.hash.slice(1)).get("code");
}

async function showCreate() {
  $("create").hidden = false;
  const songs = await api("/api/songs");
  $("song").replaceChildren(...songs.map((s) => el("option", s.title, { value: s.id })));
}

function enter(reply) {
  sessionStorage.setItem(STORE + reply.code, JSON.stringify({ token: reply.token, seat: reply.seat }));
  history.replaceState(null, "", `#code=${encodeURIComponent(reply.code)}`);
  openRoom(reply.code, reply.token, reply.seat);
}

function openRoom(code, token, seat) {
  $("create").hidden = true;
  $("join").hidden = true;
  $("room").hidden = false;
  if (seat === "A") {
    $("invite").hidden = false;
    $("join-link").value = `${location.origin}/room/#code=${encodeURIComponent(code)}`;
  }
  client = new RoomClient({ code, token, onEvent });
  window.drumjamRoom = { client, audio: () => engine };
  client.connect();
  buildPads($("pads"), 0, ownHit, {});
  listenKeyboard(new KeyMap(), ownHit, {});
}

function ownHit({ voice, velocity, timeStamp }) {
  if (!client || client.startMs === null) return;
  const e = audio();
  playDrum(e.ctx, e.ctx.destination, voice, velocity);
  client.hit(voice, velocity, performance.timeOrigin + timeStamp);
}

function renderRoom(room) {
  if (!room) return;
  $("room-title").textContent = `${room.song.title} · ${room.players.map((p) => p.name).join(" & ")}`;
  const me = client.welcome ? client.welcome.seat : null;
  const partner = room.players.find((p) => p.seat !== me);
  partnerConnected = Boolean(partner && partner.connected);
  $("partner").textContent = partner ? `${partner.name} (${partner.connected ? "connected" : "away"})` : "not here yet";
  updateStart();
}

function updateStart() {
  $("start").disabled = !(client && client.clock.ready && partnerConnected && client.startMs === null);
}

async function loadBacking(song) {
  try {
    backing = await audio().load(song.audio_url);
  } catch (err) {
    backing = null; // no backing track: a click on every beat instead
  }
}

function scheduleSong(heardLocalMs) {
  const e = audio();
  const at = e.contextTimeAt(heardLocalMs - performance.timeOrigin);
  if (backing) {
    const src = e.ctx.createBufferSource();
    src.buffer = backing;
    src.connect(e.music);
    src.start(Math.max(at, e.ctx.currentTime), Math.max(0, e.ctx.currentTime - at));
    e.nodes.push(src);
  } else if (client.welcome) {
    for (const [i, beat] of client.welcome.song.beats_s.entries()) e.click(at + beat, i % 4 === 0, e.ctx.destination);
  }
  const tick = () => {
    if (client.ended) return;
    const left = (client.startLocalMs - localNowMs()) / 1000;
    $("countdown").textContent = left > 0 ? `starts in ${left.toFixed(1)} s` : "playing";
    requestAnimationFrame(tick);
  };
  tick();
}

function meetDelayMs() {
  const expected = client.expectedPartnerDelayMs();
  return expected === null ? null : Math.round(expected / 2);
}

function onEvent(msg) {
  switch (msg.type) {
    case "connection":
      $("conn").textContent = msg.open ? "connected" : client.ended ? "closed" : "reconnecting…";
      break;
    case "clock": {
      $("rtt").textContent = fmt(msg.estimate.rttMs, " ms", false, 1);
      const sync = $("sync");
      sync.textContent = `±${fmt(msg.estimate.spreadMs, " ms", false, 2)} (${msg.quality})`;
      sync.className = msg.quality;
      updateStart();
      break;
    }
    case "welcome":
      renderRoom(msg.room);
      loadBacking(msg.song);
      break;
    case "partner":
      renderRoom(msg.room);
      break;
    case "partner_status":
      $("meet-ms").textContent = fmt(meetDelayMs(), " ms");
      break;
    case "partner_hit": {
      const e = audio();
      playDrum(e.ctx, e.ctx.destination, msg.voice, msg.velocity);
      $("partner-delay").textContent = fmt(client.meanPartnerDelayMs(), " ms");
      break;
    }
    case "song_start":
      $("start").disabled = true;
      $("calibration").disabled = true;
      $("meet").disabled = true;
      scheduleSong(msg.heardLocalMs);
      break;
    case "error":
      say(msg.detail);
      break;
    case "end":
      showResult(msg.result);
      break;
    default:
      break;
  }
}

function showResult(result) {
  $("countdown").textContent = "the song is over";
  $("result").hidden = false;
  $("summary").textContent = result.summary + (result.absent.length ? ` (${result.absent.join(", ")} left the room)` : "");
  $("result-rows").replaceChildren(...result.players.map((p) => {
    const tr = el("tr");
    const s = p.score;
    tr.append(el("td", p.name), el("td", s.matched), el("td", s.missed), el("td", s.extra),
      el("td", fmt(s.mean_offset_ms, " ms", true, 1)));
    return tr;
  }));
  $("sync-line").textContent = result.duet
    ? `Together: A − B = ${fmt(result.duet.sync.mean_async_ms, " ms", true, 1)} on average, `
      + `${fmt(100 * result.duet.sync.within_20ms, " %")} of notes within 20 ms.`
    : "";
}

$("create-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  audio();
  try {
    enter(await api("/api/rooms", { method: "POST", json: { song_id: $("song").value, name: $("create-name").value } }));
  } catch (err) { say(err.message); }
});

$("join-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  audio();
  try {
    enter(await api("/api/rooms/join", { method: "POST", json: { code: codeFromHash(), name: $("join-name").value } }));
  } catch (err) { say(err.message); }
});

$("copy-link").addEventListener("click", () => navigator.clipboard.writeText($("join-link").value));
$("start").addEventListener("click", () => { audio(); client.start(); });
$("calibration").addEventListener("change", () => client.configure({ calibration_ms: Number($("calibration").value) }));
$("meet").addEventListener("change", () => {
  const delay = $("meet").checked ? meetDelayMs() : 0;
  if (delay === null) { say("the partner's delay is not known yet; try again in a few seconds", true); $("meet").checked = false; return; }
  client.configure({ track_delay_ms: delay });
  $("meet-ms").textContent = fmt(delay, " ms");
});

const code = codeFromHash();
if (!code) {
  showCreate().catch((err) => say(err.message));
} else {
  const saved = JSON.parse(sessionStorage.getItem(STORE + code) || "null");
  if (saved) openRoom(code, saved.token, saved.seat);
  else $("join").hidden = false;
}
