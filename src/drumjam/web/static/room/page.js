// The remote duet page: open or join a room, sync the clock, start together, play on the app's
// play screen (both players' lanes, count-in, click, live marks), see the result. The backing
// track and the click are scheduled on the one audio clock so that they are heard at the
// shared start; hits are stamped with the time they were played (the heard frame, see
// js/audioclock.js) and sent on the shared clock. A player with an acoustic kit ticks
// Microphone: its audio, stamped on the same audio clock, goes over the room's connection
// and the server transcribes it and scores it like keys (js/mic.js).

import { api, el, fmt, say } from "../js/api.js";
import { playDrum } from "../js/drums.js";
import { AudioEngine } from "../js/engine.js";
import { Inputs } from "../js/inputs.js";
import { Microphone, measureRoundTrip } from "../js/mic.js";
import { PlayScreen } from "../js/playscreen.js";
import { RoomClient } from "./room.js";

const $ = (id) => document.getElementById(id);
const STORE = "drumjam.room.";
const ME = 0; // my lane; the partner's is 1
const PARTNER = 1;

let engine = null;
let client = null;
let partnerConnected = false;
let backing = null;
let mic = null; // this player's open microphone, if ticked
let timelineZeroFrame = null; // audio-clock frame of the room's timeline 0 s, once scheduled
const groupOf = {};
const kitmaps = api("/api/kitmaps").then((kits) => Object.assign(groupOf, kits.voice_groups));
const inputs = new Inputs(ownHit);
const screen = new PlayScreen($("play"), { inputs, groupOf });

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
  window.drumjamRoom = { client, screen, audio: () => engine };
  client.connect();
  requestAnimationFrame(frame);
}

function ownHit({ voice, velocity, timeStamp }) {
  if (!client || client.startMs === null) return;
  const e = audio();
  playDrum(e.ctx, e.ctx.destination, voice, velocity);
  client.hit(voice, velocity, performance.timeOrigin + timeStamp);
}

function frame() {
  const t = engine ? engine.clock.songTimeNow() : null;
  if (t !== null && !client.ended) screen.draw(t);
  requestAnimationFrame(frame);
}

function renderRoom(room) {
  if (!room) return;
  $("room-title").textContent = `${room.song.title} · ${room.players.map((p) => p.name).join(" & ")}`;
  const me = client.welcome ? client.welcome.seat : null;
  const partner = room.players.find((p) => p.seat !== me);
  partnerConnected = Boolean(partner && partner.connected);
  $("partner").textContent = partner ? `${partner.name} (${partner.connected ? "connected" : "away"})` : "not here yet";
  const mine = room.players.find((p) => p.seat === me);
  screen.setPlayers([{ name: mine ? mine.name : "me", local: true },
    { name: partner ? partner.name : "partner", local: false }]);
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

/** The song as a run for the audio engine: music and first beat at song time 0. */
function songPlan(song) {
  const beats = song.beatmap.beats;
  return { beatmap: song.beatmap, lead_in_s: 0, audio_start_s: 0, audio_end_s: beats.at(-1),
    duration_s: beats.at(-1), looped: false };
}

/** Count in, click and backing track heard from `heardLocalMs` (the shared start, plus this
 * player's own backing-track delay). */
function scheduleSong(heardLocalMs) {
  const e = audio();
  const song = client.welcome.song;
  const plan = songPlan(song);
  const click = $("click").checked || !backing;
  const start = e.start({ buffer: backing, plan, countInBars: 1, click,
    heardAtMs: heardLocalMs - performance.timeOrigin });
  timelineZeroFrame = Math.round((start - song.lead_in_s) * e.ctx.sampleRate);
  startMic();
  screen.load({ notes: song.notes, beatmap: song.beatmap, clicks: e.clicks });
  screen.setState("playing");
  screen.show(true);
}

/** Open or close the microphone as its box is ticked (so a refusal is said at once). */
async function toggleMic() {
  if (mic) { mic.close(); mic = null; }
  $("by-ear").hidden = !$("mic").checked;
  if (!$("mic").checked) return;
  const e = audio();
  const opened = new Microphone(e.ctx, {
    onFrame: (buffer) => client && client.sendBinary(buffer),
    onEnded: (text) => { say(text); mic = null; $("mic").checked = false; if (client) client.send({ type: "mic_end" }); },
  });
  try {
    await opened.open(0);
    mic = opened;
    if (timelineZeroFrame !== null) startMic();
  } catch (err) {
    $("mic").checked = false;
    $("by-ear").hidden = true;
    say(err.message);
  }
}

/** Stream the microphone on the room's timeline (again after a reconnection). */
function startMic() {
  if (!mic || timelineZeroFrame === null || !client || client.ended) return;
  client.send({ type: "mic_start", sample_rate: engine.ctx.sampleRate, timeline_zero_frame: timelineZeroFrame,
    click: $("click").checked || !backing, count_in_bars: 1, device: mic.device });
  mic.startSending();
}

/** The round trip from the speakers to the microphone, heard: this player's latency. */
async function calibrateByEar() {
  if (!mic) return;
  $("by-ear").disabled = true;
  try {
    const name = client && client.welcome ? (client.welcome.room.players.find((p) => p.seat === client.welcome.seat) || {}).name : "";
    const result = await measureRoundTrip(audio().ctx, mic, { name });
    $("calibration").value = Math.round(result.latency_ms);
    client.configure({ calibration_ms: Math.round(result.latency_ms) });
  } catch (err) {
    say(`Calibration failed: ${err.message}`);
  } finally {
    $("by-ear").disabled = false;
  }
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
      if (!backing) loadBacking(msg.song);
      startMic(); // after a reconnection: the server ended the stream when the connection dropped
      break;
    case "mic_status":
      if (msg.status === "warning" && msg.detail) say(msg.detail);
      break;
    case "partner":
      renderRoom(msg.room);
      break;
    case "partner_status":
      $("meet-ms").textContent = fmt(meetDelayMs(), " ms");
      break;
    case "judgment":
      if (!msg.duplicate && msg.judgment !== null) screen.judged(ME, msg);
      break;
    case "partner_hit": {
      const { ageMs, sound } = msg.fate;
      if (sound) {
        const e = audio();
        playDrum(e.ctx, e.ctx.destination, msg.voice, msg.velocity);
      }
      screen.shown(PARTNER, msg, ageMs === null ? "heard"
        : sound ? `heard ${fmt(ageMs, " ms")} later` : `not sounded, ${fmt(ageMs / 1000, " s", false, 1)} late`);
      $("partner-delay").textContent = fmt(client.meanPartnerDelayMs(), " ms");
      break;
    }
    case "song_start":
      $("start").disabled = true;
      $("calibration").disabled = true;
      $("meet").disabled = true;
      $("click").disabled = true;
      $("mic").disabled = true;
      $("by-ear").disabled = true;
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
  if (engine) engine.stop();
  if (mic) { mic.close(); mic = null; }
  screen.show(false);
  $("result").hidden = false;
  if (result.session_id !== undefined && result.session_id !== null) {
    $("result-link").href = `/results.html?id=${encodeURIComponent(result.session_id)}`;
    $("result-links").hidden = false;
  }
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
$("mic").addEventListener("change", () => { toggleMic(); });
$("by-ear").addEventListener("click", () => { calibrateByEar(); });
$("calibration").addEventListener("change", () => client.configure({ calibration_ms: Number($("calibration").value) }));
$("meet").addEventListener("change", () => {
  const delay = $("meet").checked ? meetDelayMs() : 0;
  if (delay === null) { say("the partner's delay is not known yet; try again in a few seconds", true); $("meet").checked = false; return; }
  client.configure({ track_delay_ms: delay });
  $("meet-ms").textContent = fmt(delay, " ms");
});

const code = codeFromHash();
kitmaps.catch((err) => say(err.message));
if (!code) {
  showCreate().catch((err) => say(err.message));
} else {
  const saved = JSON.parse(sessionStorage.getItem(STORE + code) || "null");
  if (saved) openRoom(code, saved.token, saved.seat);
  else $("join").hidden = false;
}
