// The play page: choose a song and players, practise, play, and see every hit judged live.

import { api, el, fmt, say } from "./api.js";
import { BusyError } from "./busy.js";
import { playDrum } from "./drums.js";
import { DrumPartPanel } from "./drumpart.js";
import { AudioEngine } from "./engine.js";
import { Inputs, PAD_VOICES, keyLabel } from "./inputs.js";
import { Microphone } from "./mic.js";
import { MicSetup, drumChoice, storedSetup } from "./kitcheck.js";
import { ROOM_CHECK_S, missingRoomCheck, openPairMics, recordForLink, roomCheck, roomMode, roomSummary, storedRooms } from "./roompair.js";
import { JoinLink, clockText } from "./joinlink.js";
import { singleFlight } from "./once.js";
import { PlayScreen } from "./playscreen.js";
import { Progress } from "./progress.js";

const $ = (sel) => document.querySelector(sel);
const CALIBRATION_CLICKS = 16;
const CALIBRATION_PERIOD_S = 0.6;
/** A save taking longer than this is said on the page (the server is busy). */
const SLOW_SAVE_MS = 3000;
// the join link this tab made (code, host token, URL, QR), kept across a reload of the page
const HOST_LINK_KEY = "drumjam-host-join";

const engine = new AudioEngine();
const inputs = new Inputs(onHit);
const state = {
  mode: "loading", // loading | idle | starting | playing | calibrating | listening | finishing
  songs: [], kitmaps: {}, groupOf: {},
  live: null, ws: null, seq: 0, plan: null,
  calibration: null,
  mics: [], // [{player, players, mic}] of the run (one interface streams two players)
  micSetups: [], // per player: device, stored round trip and kit check
  join: null, // player 2's own device: {link, code, token, partner, own} (two kits, one room)
};
let screen = null;
let progress = null;
let drumPart = null;

function twoPlayers() {
  return $("#two-players").checked;
}

function playerCount() {
  return twoPlayers() ? 2 : 1;
}

// ---------------------------------------------------------------- songs
async function loadSongs(selectId) {
  state.songs = await api("/api/songs");
  const select = $("#song");
  select.replaceChildren();
  for (const s of state.songs) {
    select.append(el("option", s.title, { value: s.id }));
  }
  if (selectId) select.value = selectId;
  showSongInfo();
}

function showSongInfo() {
  const song = state.songs.find((s) => s.id === $("#song").value);
  if (!song) return;
  const meter = `${song.meter}/4`;
  $("#song-info").textContent = `${Math.round(song.tempo_bpm)} BPM · ${meter} · ${song.feel} · `
    + `${song.bars} bars${song.has_chart || song.drum_part ? "" : " · played on the grid"}`;
  drumPart.show(song);
  $("#loop-last").max = song.bars;
  $("#loop-first").max = song.bars;
  $("#beatmap-fix").hidden = !song.beatmap_correctable;
  $("#beatmap-reset").disabled = !song.beatmap_corrected;
}

/** Correct the selected song's analysed beat map (kept on the server for later sessions). */
async function fixBeatmap(fix) {
  const id = $("#song").value;
  try {
    const song = await api(`/api/songs/${encodeURIComponent(id)}/beatmap`, { method: "POST", json: fix });
    state.songs = state.songs.map((s) => (s.id === id ? song : s));
    showSongInfo();
    say(`Beat map of “${song.title}”: ${Math.round(song.tempo_bpm)} BPM, ${song.meter}/4`
      + `${song.beatmap_corrected ? " (corrected)" : " (as analysed)"}.`, true);
  } catch (err) {
    say(`Could not correct the beat map: ${err.message}`);
  }
}

async function uploadSong(ev) {
  ev.preventDefault();
  const file = $("#upload-file").files[0];
  if (!file) { say("Choose an audio or MIDI file first."); return; }
  const form = new FormData();
  form.append("file", file);
  say("");
  progress.begin(`Adding and analysing ${file.name}…`);
  setMode("loading");
  try {
    const song = await api("/api/songs", { method: "POST", body: form });
    await loadSongs(song.id);
    say(`Added “${song.title}”.`, true);
  } catch (err) {
    say(`Could not add ${file.name}: ${err.message}`);
  } finally {
    progress.done();
    setMode("idle");
  }
}

// ---------------------------------------------------------------- players
function playerSetup(i) {
  const box = document.querySelector(`fieldset.player[data-player="${i}"]`);
  return {
    name: box.querySelector(".name").value,
    latency_ms: Number(box.querySelector(".latency").value) || 0,
  };
}

async function loadCalibration(i) {
  const name = document.querySelector(`#name-${i}`).value.trim();
  if (!name) return;
  try {
    const stored = await api(`/api/calibration/${encodeURIComponent(name)}`);
    if (stored.latency_ms !== null) document.querySelector(`#latency-${i}`).value = Math.round(stored.latency_ms);
  } catch (_) { /* keep the field */ }
}

function refreshPlayerBlocks() {
  document.querySelector('fieldset.player[data-player="1"]').classList.toggle("off", !twoPlayers());
  screen.setPlayers([...Array(playerCount()).keys()].map((i) => ({
    name: document.querySelector(`#name-${i}`).value, local: true })));
}

// ---------------------------------------------------------------- hits
function onHit(hit) {
  if (hit.source !== "midi") playDrum(engine.ctx, engine.ctx.destination, hit.voice, hit.velocity);
  if (state.mode === "calibrating") {
    if (hit.player !== state.calibration.player) return;
    const t = engine.clock.songTimeAt(hit.timeStamp);
    if (t !== null) state.calibration.taps.push(t);
    return;
  }
  if (state.mode !== "playing" || hit.player >= playerCount()) return;
  const t = engine.clock.songTimeAt(hit.timeStamp);
  if (t === null) return;
  const msg = { type: "hit", seq: ++state.seq, player: hit.player, time_s: t, voice: hit.voice,
    velocity: hit.velocity, openness: hit.openness };
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(msg));
}

function onJudgment(msg) {
  screen.judged(msg.player, msg);
  if (msg.duet && msg.duet.pairs) {
    const [a, b] = state.live.players.map((p) => p.name);
    $("#duet-live").textContent = `together: ${a} − ${b} ${fmt(msg.duet.mean_async_ms, " ms", true)} `
      + `on average, ${fmt(msg.duet.within_20ms_pct, " %")} within 20 ms`;
  }
}

// ---------------------------------------------------------------- a run
function practiceBody() {
  const body = {
    song_id: $("#song").value,
    players: [...Array(playerCount()).keys()].map((i) => ({ ...playerSetup(i), ...micInput(i) })),
    speed: Number($("#speed").value) / 100,
    drum_part: drumPart.chosen(),
  };
  if (currentRoomMode() === "joined") body.join = { code: state.join.code, token: state.join.token };
  if ($("#loop").checked) {
    body.loop = { first_bar: Number($("#loop-first").value) - 1, last_bar: Number($("#loop-last").value) - 1,
      repeats: Number($("#loop-repeats").value) };
  }
  return body;
}

/** A microphone player's input and device (their stored round trip and kit check go by it). */
function micInput(i) {
  if (i === 1 && currentRoomMode() === "joined") return { input: "mic", device: state.join.partner.device };
  const open = state.mics.find((m) => m.players.includes(i));
  return open ? { input: "mic", device: open.mic.device } : {};
}

function openSocket(path) {
  return new Promise((resolve, reject) => {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}${path}`);
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error("could not connect to the server"));
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "judgment") onJudgment(msg);
      else if (msg.type === "mic_status") { if (msg.status !== "started" && msg.detail) say(msg.detail); }
      else if (msg.type === "result") onResult(msg);
      else if (msg.type === "error") onServerError(msg);
    };
    ws.onclose = () => {
      if (state.mode === "playing" && state.ws === ws) {
        say("The connection to the server was lost; press Restart to play again.");
        stopRun();
      } else if (state.mode === "finishing" && state.ws === ws) {
        say("The connection to the server was lost while the take was being saved. Every hit "
          + "played had already been written: the history lists the run once the server has "
          + "saved it (as interrupted if the server stopped).");
        state.ws = null;
        setMode("idle");
      }
    };
  });
}

/** One run: the session on the server, the backing track (stretched there first for another
 * speed), the socket, then the count-in. Start stays disabled throughout; a second click joins
 * this run instead of making another session. */
const start = singleFlight(async () => {
  if (state.mode !== "idle") return;
  setMode("starting");
  document.activeElement && document.activeElement.blur();
  say("");
  await engine.resume();
  try {
    await checkRoomPair();
    await openMics();
    await measureFirstRoundTrips();
    const live = await api("/api/sessions", { method: "POST", json: practiceBody() });
    const buffer = await loadBacking(live);
    state.ws = await openSocket(live.websocket);
    state.live = live;
    state.plan = live.plan;
    state.seq = 0;
    screen.setPlayers(live.players.map((p) => ({ name: p.name, local: true })));
    engine.start({ buffer, plan: live.plan, countInBars: Number($("#count-in").value), click: $("#click").checked });
    screen.load({ notes: live.plan.notes, beatmap: live.plan.beatmap, clicks: engine.clicks });
    setMode("playing");
    startMics();
  } catch (err) {
    say(`Could not start: ${err.message}`);
    closeMics();
    setMode("idle");
  }
});

/** Open the microphones ticked for the run's players (before the session, so that a missing
 * or refused microphone is said at once). */
async function openMics() {
  closeMics();
  const handlers = (players) => ({
    onFrame: (buffer) => { if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(buffer); },
    onEnded: (text) => { say(text); endStreams(players); },
  });
  const mode = currentRoomMode();
  if (mode) {
    state.mics = await openPairMics(engine.ctx, { mode, deviceIds: micDeviceIds(), handlers });
    return;
  }
  for (let player = 0; player < playerCount(); player++) {
    if (!document.querySelector(`#mic-${player}`).checked) continue;
    const mic = new Microphone(engine.ctx, handlers([player]));
    state.mics.push({ player, players: [player], mic });
    await mic.open(player, { deviceId: state.micSetups[player].deviceId });
  }
}

/** Before a microphone player's first take with a microphone that has no round trip stored,
 * measure it by ear on the microphone just opened (the clicks through the speakers, about
 * 5 s): the take's hits are placed by it, and the bleed canceller starts from the room's
 * response the clicks taught instead of learning it under the drums. A microphone that does
 * not hear the clicks (headphones on) is said, and the take goes ahead with the latency as
 * set; it is not tried again for that player and microphone while the page is open. Room
 * pairs have their own room check. */
async function measureFirstRoundTrips() {
  if (currentRoomMode()) return;
  for (const { players, mic } of state.mics) {
    const player = players[0];
    const { name } = playerSetup(player);
    const setup = state.micSetups[player];
    const key = `${name}\n${mic.device}`;
    if (setup.askedByEar === key) continue;
    const stored = await storedSetup(name, mic.device).catch(() => null);
    if (!stored || stored.ear.latency_ms !== null) continue;
    setup.askedByEar = key;
    say(`${name}: measuring the round trip from the speakers to the microphone before the `
      + "first take: listen to the clicks…", true);
    try {
      const result = await setup.measureByEar(mic);
      say(`${name}: round trip ${fmt(result.latency_ms, " ms")} from the speakers to the microphone.`, true);
    } catch (err) {
      say(`${name}: round trip not measured by ear: ${err.message}. Playing with `
        + `${setup.latency.value || 0} ms; with headphones on that is expected, otherwise press By ear.`, true);
    }
  }
}

/** Stream every open microphone, stamped on the audio clock: the timeline's 0 s is the audio
 * clock frame at which song time 0 is scheduled. */
function startMics() {
  const sampleRate = engine.ctx.sampleRate;
  const roomPair = Boolean(currentRoomMode());
  for (const entry of state.mics) {
    for (const player of entry.players) {
      sendJson({ type: "mic_start", player, sample_rate: sampleRate,
        timeline_zero_frame: Math.round(engine.clock.start * sampleRate), device: entry.mic.device,
        click: $("#click").checked, count_in_bars: Number($("#count-in").value), room_pair: roomPair });
    }
    entry.streaming = true;
    entry.mic.startSending();
  }
}

/** Say `mic_end` for the streaming microphones of `players`, once (the server refuses the end
 * of a stream that never started or has ended). */
function endStreams(players) {
  for (const entry of state.mics) {
    if (!entry.streaming || !entry.players.some((p) => players.includes(p))) continue;
    entry.streaming = false;
    for (const player of entry.players) sendJson({ type: "mic_end", player });
  }
}

function closeMics() {
  for (const { mic } of state.mics) mic.close();
  endStreams([0, 1]);
  state.mics = [];
}

// ---------------------------------------------------------------- two kits in one room
function currentRoomMode() {
  return roomMode({ players: playerCount(), mics: [0, 1].map((i) => document.querySelector(`#mic-${i}`).checked),
    sameRoom: $("#same-room").checked, channelPerKit: $("#channel-per-kit").checked, joined: partnerJoined() });
}

/** The microphone chosen per player (one interface: player 1's for both). */
function micDeviceIds() {
  return [0, 1].map((i) => state.micSetups[i].deviceId);
}

/** The microphone labels the players' room checks are stored under. */
function roomDevices() {
  const labels = [0, 1].map((i) => state.micSetups[i].device);
  if (partnerJoined()) labels[1] = state.join.partner.device;
  return $("#channel-per-kit").checked ? [labels[0], labels[0]] : labels;
}

/** Refuse to start a room pair whose kits lack the room check (it would count hits twice). */
async function checkRoomPair() {
  if (!currentRoomMode()) return;
  const names = [0, 1].map((i) => playerSetup(i).name);
  const message = missingRoomCheck(names, await storedRooms(names, roomDevices()));
  if (message) throw new Error(message);
}

/** Show the room setup for two microphone players, with what is stored for each kit. */
async function refreshRoomSetup() {
  const both = playerCount() === 2 && [0, 1].every((i) => document.querySelector(`#mic-${i}`).checked);
  $("#room-setup").hidden = !both;
  await showJoinLink(both && $("#same-room").checked && !$("#channel-per-kit").checked);
  if (!both) return;
  const names = [0, 1].map((i) => playerSetup(i).name);
  for (const i of [0, 1]) document.querySelector(`#roomcheck-${i}`).textContent = `Room check: ${names[i]} alone`;
  if (!currentRoomMode()) {
    $("#room-info").textContent = "";
    return;
  }
  try {
    const rooms = await storedRooms(names, roomDevices());
    $("#room-info").textContent = `${names.map((n, i) => roomSummary(n, rooms[i])).join(" ")} `
      + `${missingRoomCheck(names, rooms) || ""}`;
  } catch (err) {
    $("#room-info").textContent = err.message;
  }
}

/** The room check of a player's kit: they play alone while both microphones record (with
 * player 2's device joined, each device records its own, started over the link). */
async function checkRoom(player) {
  if (state.mode !== "idle") return;
  if (currentRoomMode() === "joined") {
    state.join.link.send({ type: "room_check", player });
    return;
  }
  const mode = currentRoomMode() || "same";
  await engine.resume();
  setMode("listening");
  let mics = [];
  const names = [0, 1].map((i) => playerSetup(i).name);
  try {
    mics = await openPairMics(engine.ctx, { mode, deviceIds: micDeviceIds(),
      handlers: () => ({ onFrame: () => {}, onEnded: (text) => say(text) }) });
    const devices = mics.length === 1 ? [mics[0].mic.device, mics[0].mic.device] : mics.map((m) => m.mic.device);
    $("#kitcheck-prompt").hidden = false;
    $("#kitcheck-prompt").textContent = `${names[player]}: play your drums alone now, every drum a few times `
      + `(${ROOM_CHECK_S} s); ${names[1 - player]} stays silent`;
    const room = await roomCheck(engine.ctx, mics, { player, names, devices });
    say(`Room check stored. ${roomSummary(names[player], room)}`, true);
  } catch (err) {
    say(`Room check failed: ${err.message}`);
  } finally {
    for (const { mic } of mics) mic.close();
    $("#kitcheck-prompt").hidden = true;
    setMode("idle");
    refreshRoomSetup();
  }
}

// ---------------------------------------------------------------- player 2 on another device
function partnerJoined() {
  return Boolean(state.join && state.join.partner && state.join.partner.status !== "disconnected");
}

/** The join link for player 2's own device, shown while "Same room" is chosen (made once). */
async function showJoinLink(on) {
  $("#join-box").hidden = !on;
  if (!on || state.join) {
    if (state.join) sendHostSeat();
    return;
  }
  state.join = { link: null, partner: null, own: null };
  try {
    await engine.resume(); // the audio clock runs before it is measured
    const link = new JoinLink(() => engine.clock.contextTimeAt(performance.now()) * 1000, onJoinMessage,
      (why) => { $("#join-status").textContent = `${why}; untick and tick Same room for a new link.`; });
    const made = await connectJoinLink(link);
    Object.assign(state.join, { code: made.code, token: made.token });
    $("#join-link").href = made.join_url;
    $("#join-url").textContent = made.join_url;
    $("#join-qr").src = made.qr_data_uri;
    state.join.link = link;
    link.pingLoop();
    sendHostSeat();
    showJoinStatus();
  } catch (err) {
    state.join = null;
    say(`The join link could not be made: ${err.message}`);
  }
}

/** Connect `link` to the join link this tab made before a reload, while the server still
 * keeps it (player 2's device stays joined), or else to a new one; the link's details. */
async function connectJoinLink(link) {
  const saved = JSON.parse(sessionStorage.getItem(HOST_LINK_KEY) || "null");
  if (saved) {
    try {
      await link.connect(saved.code, saved.token);
      return saved;
    } catch (_) {
      sessionStorage.removeItem(HOST_LINK_KEY); // it ended meanwhile
    }
  }
  const made = await api("/api/joins", { method: "POST" });
  sessionStorage.setItem(HOST_LINK_KEY, JSON.stringify(made));
  await link.connect(made.code, made.token);
  return made;
}

function sendHostSeat() {
  if (!state.join || !state.join.link) return;
  state.join.link.send({ type: "seat", device: state.micSetups[0].device, sample_rate: engine.ctx.sampleRate,
    names: [0, 1].map((i) => playerSetup(i).name.trim() || `Player ${i + 1}`) });
}

function showJoinStatus() {
  const { partner, own } = state.join;
  const device = !partner || partner.status === "disconnected"
    ? `Player 2's device: ${partner ? "left" : "not joined yet"}.`
    : `Player 2's device joined${partner.device ? ` (${partner.device})` : ""}: `
      + `${partner.synced ? "clock synced" : "measuring its clock…"}.`;
  $("#join-status").textContent = `${device} This page: ${clockText(own)}.`;
}

function onJoinMessage(msg) {
  if (msg.type === "clock_status") {
    state.join.own = msg;
  } else if (msg.type === "join_partner") {
    const was = partnerJoined();
    state.join.partner = msg;
    if (msg.latency_ms !== null && msg.latency_ms !== undefined) $("#latency-1").value = Math.round(msg.latency_ms);
    if (was && msg.status === "disconnected" && state.mode === "playing") {
      say("Player 2's device left: every hit it heard is kept, and yours still count.");
    }
    if (was !== partnerJoined() || msg.status === "updated") refreshRoomSetup();
  } else if (msg.type === "room_check") {
    hostRoomCheck(msg);
  } else if (msg.type === "room_checked") {
    if (msg.room) say(`Room check stored. ${roomSummary(msg.player === 0 ? playerSetup(0).name : playerSetup(1).name, msg.room)}`, true);
    else say(`Room check failed: ${msg.detail}`);
    refreshRoomSetup();
  } else if (msg.type === "error") {
    say(msg.detail);
  }
  showJoinStatus();
}

/** This page's part of a room check over the link: player 1's microphone recorded. */
async function hostRoomCheck({ player, name, seconds }) {
  if (state.mode !== "idle") return;
  setMode("listening");
  $("#kitcheck-prompt").hidden = false;
  $("#kitcheck-prompt").textContent = `${name}: play your drums alone now, every drum a few times `
    + `(${seconds} s); ${playerSetup(1 - player).name} stays silent`;
  try {
    state.micSetups[0].device = await recordForLink(engine.ctx, state.join.link, { player: 0,
      deviceId: state.micSetups[0].deviceId, seconds, onEnded: say });
  } catch (err) {
    say(`Room check failed: ${err.message}`);
  } finally {
    $("#kitcheck-prompt").hidden = true;
    setMode("idle");
  }
}

function sendJson(msg) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(msg));
}

/** The run's backing track, or null (a click on every beat instead). While the server is
 * too busy to stretch it, the waiting line says so and the page asks again when the server
 * says to, for a while (busy.js); then it plays with the click only and says why. */
async function loadBacking(live) {
  const percent = Math.round(live.speed * 100);
  progress.begin(live.speed === 1 ? "Loading the backing track…"
    : `Stretching the backing track to ${percent} % and loading it…`);
  const onWait = ({ attempt, tries, waitS }) => progress.text(
    `The server is busy stretching other songs: preparing the ${live.speed < 1 ? "slowed-down" : "sped-up"} `
    + `song (${percent} %)… asking again in ${waitS} s (try ${attempt + 1} of ${tries}).`);
  try {
    return await engine.load(live.audio_url, (f) => progress.fraction(f), { onWait });
  } catch (err) {
    if (err instanceof BusyError) {
      say(`The server stayed too busy to prepare the song at ${percent} % (asked ${err.tries} `
        + `times over ${err.waitedS} s): playing with the click only. Press Start again in a `
        + "minute for the backing track, or play at 100 %, which needs no stretching.", true);
    } else {
      say(`${err.message}; playing with the click only.`, true);
    }
    return null;
  } finally {
    progress.done();
  }
}

function setMode(mode) {
  state.mode = mode;
  screen.setState(mode === "idle" ? "ready" : mode);
  $("#start").disabled = mode !== "idle";
  $("#restart").disabled = mode !== "playing" && mode !== "finishing";
  $("#stop").disabled = mode !== "playing";
  for (const button of document.querySelectorAll("#beatmap-fix button, #upload button, .calibrate")) {
    button.disabled = mode !== "idle";
  }
  document.body.dataset.mode = mode;
  screen.show(mode === "playing" || mode === "finishing");
  if (mode === "idle") showSongInfo();
}

function stopRun() {
  closeMics();
  engine.stop();
  if (state.ws && state.ws.readyState === WebSocket.OPEN && state.mode !== "finishing") state.ws.close();
  state.ws = null;
  setMode("idle");
}

async function restart() {
  stopRun();
  await start();
}

/** End the run: at the song's end, or where the player stopped (notes after it are not missed). */
function finish() {
  if (state.mode !== "playing") return;
  const now = engine.clock.songTimeNow();
  const stopS = now !== null && now < state.plan.duration_s ? now : null;
  setMode("finishing");
  closeMics();
  engine.stop();
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) { setMode("idle"); return; }
  const ws = state.ws;
  ws.send(JSON.stringify({ type: "finish", stop_s: stopS }));
  setTimeout(() => {
    if (state.mode === "finishing" && state.ws === ws) {
      say("Saving the take… the server is busy. Every hit played is already written; the "
        + "results open when it is done.", true);
    }
  }, SLOW_SAVE_MS);
}

function onResult(msg) {
  setMode("idle");
  state.ws = null;
  location.href = `/results.html?id=${encodeURIComponent(msg.session_id)}`;
}

function onServerError(msg) {
  if (state.mode === "finishing") {
    say(`Nothing was saved: ${msg.detail}`);
    stopRun();
  } else {
    say(msg.detail);
  }
}

// ---------------------------------------------------------------- calibration
async function calibrate(player) {
  if (state.mode !== "idle") return;
  document.activeElement && document.activeElement.blur();
  await engine.resume();
  const clicks = engine.startClicks(CALIBRATION_CLICKS, CALIBRATION_PERIOD_S);
  state.calibration = { player, clicks, taps: [], end: clicks[clicks.length - 1] + 0.8 };
  setMode("calibrating");
  $("#calibration-status").textContent = `${playerSetup(player).name}: tap any of your drums along with `
    + `the ${CALIBRATION_CLICKS} clicks…`;
}

async function endCalibration() {
  const { player, clicks, taps } = state.calibration;
  state.calibration = null;
  engine.stop();
  setMode("idle");
  try {
    const result = await api("/api/calibration", { method: "POST",
      json: { name: playerSetup(player).name, clicks_s: clicks, taps_s: taps } });
    document.querySelector(`#latency-${player}`).value = Math.round(result.latency_ms);
    $("#calibration-status").textContent = `${result.name}: latency ${fmt(result.latency_ms, " ms")} `
      + `(spread ${fmt(result.spread_ms, " ms")}, ${result.matched} of ${result.taps} taps); stored.`;
    $("#calibration-status").dataset.latencyMs = String(result.latency_ms);
  } catch (err) {
    $("#calibration-status").textContent = "";
    say(`Calibration failed: ${err.message}`);
  }
}

/** A microphone player's latency: the round trip from the speakers to the microphone, heard. */
async function calibrateByEar(player) {
  if (state.mode !== "idle") return;
  await engine.resume();
  setMode("listening");
  $("#calibration-status").textContent = `${playerSetup(player).name}: listening to the clicks…`;
  const mic = new Microphone(engine.ctx, { onFrame: () => {}, onEnded: (text) => say(text) });
  try {
    await mic.open(player, { deviceId: state.micSetups[player].deviceId });
    const result = await state.micSetups[player].measureByEar(mic);
    $("#calibration-status").textContent = `${playerSetup(player).name}: round trip `
      + `${fmt(result.latency_ms, " ms")} from the speakers to the microphone`
      + `${result.stored ? `, stored for ${mic.device || "this microphone"}` : ""}.`;
  } catch (err) {
    $("#calibration-status").textContent = "";
    say(`Calibration by ear failed: ${err.message}`);
  } finally {
    mic.close();
    setMode("idle");
  }
}

/** The microphone ticked or not: its device and what is stored for it, the kit check button. */
function toggleMic(player) {
  const on = document.querySelector(`#mic-${player}`).checked;
  document.querySelector(`#kitcheck-${player}`).hidden = !on;
  $("#kit-drums").hidden = ![0, 1].some((i) => document.querySelector(`#mic-${i}`).checked);
  document.querySelector(`#mic-device-${player}`).hidden = !on;
  if (on) state.micSetups[player].refresh().then(refreshRoomSetup);
  else document.querySelector(`#mic-info-${player}`).textContent = "";
  refreshRoomSetup();
}

async function checkKit(player) {
  if (state.mode !== "idle") return;
  await engine.resume();
  setMode("listening");
  try {
    // one interface, a channel per kit: the player's kit is heard on their channel
    await state.micSetups[player].check(currentRoomMode() === "interface"
      ? { deviceId: micDeviceIds()[0], channel: player } : {});
  } catch (err) {
    say(`Kit check failed: ${err.message}`);
  } finally {
    setMode("idle");
  }
}

// ---------------------------------------------------------------- frame loop
function frame() {
  const now = engine.clock.songTimeNow();
  if (state.mode === "playing" && now !== null) {
    screen.draw(now);
    if (now > state.plan.duration_s + 1.0) finish();
  } else if (state.mode === "calibrating" && now !== null && now > state.calibration.end) {
    endCalibration();
  }
  requestAnimationFrame(frame);
}

// ---------------------------------------------------------------- keys and MIDI
function renderKeyTable() {
  const body = $("#key-table tbody");
  body.replaceChildren();
  for (const voice of PAD_VOICES) {
    const row = el("tr");
    row.append(el("td", voice.replace("_", " ")));
    for (let p = 0; p < 2; p++) {
      const code = inputs.keymap.keyOf(p, voice);
      const cell = el("td");
      cell.append(el("kbd", code ? keyLabel(code) : "–", { "data-code": code || "" }), " ");
      const change = el("button", "change", { type: "button" });
      change.addEventListener("click", () => {
        change.textContent = "press a key…";
        inputs.remap = { player: p, voice, done: renderKeyTable };
      });
      cell.append(change);
      row.append(cell);
    }
    body.append(row);
  }
}

// ---------------------------------------------------------------- start up
async function main() {
  progress = new Progress($("#progress"));
  const kits = await api("/api/kitmaps");
  state.kitmaps = kits.kitmaps;
  state.groupOf = kits.voice_groups;
  drumPart = new DrumPartPanel({ groupOf: state.groupOf, onSong: (song) => {
    state.songs = state.songs.map((s) => (s.id === song.id ? song : s));
    showSongInfo();
  } });
  await loadSongs(new URLSearchParams(location.search).get("song"));
  $("#song").addEventListener("change", showSongInfo);
  for (const button of document.querySelectorAll("#beatmap-fix button")) {
    button.addEventListener("click", () => fixBeatmap(JSON.parse(button.dataset.fix)));
  }
  $("#upload").addEventListener("submit", uploadSong);
  $("#two-players").addEventListener("change", () => { refreshPlayerBlocks(); refreshRoomSetup(); });
  for (const box of [$("#same-room"), $("#channel-per-kit")]) box.addEventListener("change", refreshRoomSetup);
  screen = new PlayScreen($("#play"), { inputs, groupOf: state.groupOf, actions: [$("#restart"), $("#stop")] });
  const drums = drumChoice($("#kit-drums"));
  for (let i = 0; i < 2; i++) {
    const name = document.querySelector(`#name-${i}`);
    state.micSetups[i] = new MicSetup({ engine, player: i, name: () => playerSetup(i).name, drums, say,
      latency: document.querySelector(`#latency-${i}`), earButton: document.querySelector(`#ear-${i}`),
      info: document.querySelector(`#mic-info-${i}`), prompt: $("#kitcheck-prompt"),
      select: document.querySelector(`#mic-device-${i}`) });
    document.querySelector(`#mic-device-${i}`).addEventListener("change", () => state.micSetups[i].refresh().then(refreshRoomSetup));
    document.querySelector(`#roomcheck-${i}`).addEventListener("click", () => checkRoom(i));
    name.addEventListener("input", refreshPlayerBlocks);
    name.addEventListener("change", () => {
      if (document.querySelector(`#mic-${i}`).checked) state.micSetups[i].showStored();
      else loadCalibration(i);
    });
    document.querySelector(`#mic-${i}`).addEventListener("change", () => toggleMic(i));
    document.querySelector(`#kitcheck-${i}`).addEventListener("click", () => checkKit(i));
    document.querySelector(`#calibrate-${i}`).addEventListener("click", () => calibrate(i));
    document.querySelector(`#ear-${i}`).addEventListener("click", () => calibrateByEar(i));
    loadCalibration(i);
  }
  $("#speed").addEventListener("input", () => { $("#speed-out").textContent = `${$("#speed").value} %`; });
  $("#click").addEventListener("change", () => engine.setClick($("#click").checked));
  $("#start").addEventListener("click", start);
  $("#restart").addEventListener("click", restart);
  $("#stop").addEventListener("click", finish);
  $("#keys-reset").addEventListener("click", () => { inputs.keymap.reset(); renderKeyTable(); });
  renderKeyTable();
  refreshPlayerBlocks();
  setMode("idle");
  inputs.chooseMidi([...document.querySelectorAll("fieldset.player")].map((box) => ({
    player: Number(box.dataset.player), device: box.querySelector(".midi-device"),
    kit: box.querySelector(".kit-map") })), state.kitmaps, $("#midi-status"));
  requestAnimationFrame(frame);
  document.body.dataset.ready = "1";
}

// Test hook: fix the song clock so scripted key presses land at known song times.
window.drumjam = { engine, state, inputs, midi: inputs.midi, start, get screen() { return screen; },
  setSongTime: (t) => engine.clock.setManual(t) };

main().catch((err) => say(`drumjam could not start: ${err.message}`));
