// The page of player 2's own device, joined to a jam in the same room (two acoustic kits, a
// microphone each): opened from the link the host's page shows. It holds player 2's block only:
// the microphone, its round trip by ear, the kit check, and the room check (either page starts
// it; both record their own microphone at once). When the host starts the song, this page
// shows player 2's lanes on the song's timeline (its start on the shared clock, turned into
// this page's audio clock) and streams the microphone as player 2's half of the room pair; the
// song plays from the host's speakers only, so this page stays silent.

import { api, el, say } from "./api.js";
import { SongClock } from "./audioclock.js";
import { JoinLink, clockText, joinCode } from "./joinlink.js";
import { MicSetup, drumChoice } from "./kitcheck.js";
import { Microphone, measureRoundTrip } from "./mic.js";
import { PlayScreen } from "./playscreen.js";
import { recordForLink, roomSummary } from "./roompair.js";
import { clickSchedule } from "./timeline.js";

const $ = (sel) => document.querySelector(sel);
const PLAYER = 1;
const state = {
  ctx: null, clock: null, link: null, setup: null, screen: null, groupOf: {},
  names: ["Player 1", "Player 2"], run: null, mic: null, busy: false, results: null,
  own: null, partner: null, // clock status of this device; the host's set-up
};

function audioMs() {
  return state.clock.contextTimeAt(performance.now()) * 1000;
}

function showStatus() {
  const host = state.partner === null ? "the host's page is not connected"
    : state.partner.status === "disconnected" ? "the host's page left" : "the host is here";
  $("#link-status").textContent = `Joined as ${state.names[PLAYER]} · ${clockText(state.own)} · ${host}`;
}

function setNames(names) {
  state.names = names;
  $("#player-legend").textContent = `${names[PLAYER]} (player 2)`;
  for (const p of [0, 1]) $(`#roomcheck-${p}`).textContent = `Room check: ${names[p]} alone`;
  showStatus();
}

/** Tell the host's page this device's microphone and round trip. */
function sendSeat() {
  const latency = Number($("#latency-1").value);
  state.link.send({ type: "seat", device: state.setup.device,
    latency_ms: Number.isFinite(latency) && state.setup.measured ? latency : null });
}

async function join() {
  const code = joinCode(location.hash);
  if (!code) {
    say("This page needs the join link the host's page shows (…/join.html#code=…).");
    return;
  }
  $("#join").disabled = true;
  const key = `drumjam-join-${code}`;
  state.link = new JoinLink(audioMs, onMessage, (why) => say(`${why}; open the join link again.`));
  try {
    const welcome = await state.link.connect(code, sessionStorage.getItem(key) || "");
    sessionStorage.setItem(key, welcome.token);
    // this page's audio clock, at the host's sample rate (the two microphones are one pair)
    state.ctx = new AudioContext({ latencyHint: "interactive",
      ...(welcome.sample_rate ? { sampleRate: welcome.sample_rate } : {}) });
    await state.ctx.resume();
    state.clock = new SongClock(state.ctx);
    state.partner = welcome.partner ? { status: "connected" } : null;
    setNames(welcome.names);
    state.link.pingLoop();
    $("#player-block").hidden = false;
    $("#join").hidden = true;
    await setupMic();
  } catch (err) {
    say(`Could not join: ${err.message}`);
    $("#join").disabled = false;
  }
}

async function setupMic() {
  state.setup = new MicSetup({ engine: { ctx: state.ctx }, player: PLAYER, name: () => state.names[PLAYER],
    drums: drumChoice($("#kit-drums")), say, latency: $("#latency-1"), earButton: $("#ear-1"),
    info: $("#mic-info-1"), prompt: $("#kitcheck-prompt"), select: $("#mic-device-1") });
  await state.setup.refresh();
  state.setup.measured = Boolean(state.setup.earButton.textContent.startsWith("Recalibrate"));
  sendSeat();
}

function onMessage(msg) {
  if (msg.type === "clock_status") {
    state.own = msg;
    showStatus();
  } else if (msg.type === "join_partner") {
    state.partner = msg;
    setNames(msg.names);
  } else if (msg.type === "room_check") {
    recordRoomCheck(msg);
  } else if (msg.type === "room_checked") {
    if (msg.room) say(`Room check stored. ${roomSummary(state.names[msg.player], msg.room)}`, true);
    else say(`Room check failed: ${msg.detail}`);
  } else if (msg.type === "run") {
    startRun(msg).catch((err) => say(err.message));
  } else if (msg.type === "judgment") {
    state.screen.judged(msg.player, msg);
  } else if (msg.type === "mic_status") {
    if (msg.status !== "started" && msg.detail) say(msg.detail);
  } else if (msg.type === "join_end") {
    endRun(msg);
  } else if (msg.type === "error") {
    say(msg.detail);
  }
}

function openMic() {
  const mic = new Microphone(state.ctx, {
    onFrame: (buffer) => state.link.sendBinary(buffer),
    onEnded: (text) => { say(text); state.link.send({ type: "mic_end" }); },
  });
  return mic.open(PLAYER, { deviceId: state.setup.deviceId }).then(() => mic);
}

/** The room check: this device records its microphone while one player plays alone. */
async function recordRoomCheck({ player, name, seconds }) {
  if (state.busy) return;
  state.busy = true;
  $("#kitcheck-prompt").hidden = false;
  $("#kitcheck-prompt").textContent = `${name}: play your drums alone now, every drum a few times `
    + `(${seconds} s); ${state.names[1 - player]} stays silent`;
  try {
    state.setup.device = await recordForLink(state.ctx, state.link, { player: PLAYER,
      deviceId: state.setup.deviceId, seconds, onEnded: say });
    say("Recorded; the room check is being learned…", true);
  } catch (err) {
    say(`Room check failed: ${err.message}`);
  } finally {
    $("#kitcheck-prompt").hidden = true;
    state.busy = false;
  }
}

/** Resolves once this device's clock is synced (at once, unless the page just joined). */
async function clockSynced() {
  for (let waited = 0; !(state.own && state.own.synced); waited += 100) {
    if (waited > 15000) throw new Error("this device's clock could not be synchronised; reload the page");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The host started the song: follow it on this page's audio clock and stream the microphone. */
async function startRun(run) {
  closeMic();
  state.results = null;
  await clockSynced();
  state.run = run;
  state.clock.startAt(state.link.audioMsAt(run.zero_server_ms) / 1000);
  const { plan } = run;
  const { beats, downbeats, meter } = plan.beatmap;
  const clicks = clickSchedule({ beats, downbeats, meter, firstS: plan.lead_in_s, endS: plan.duration_s,
    countInBars: run.count_in_bars });
  setNames(run.names);
  state.screen.setPlayers([null, { name: run.names[PLAYER], local: false }]);
  state.screen.load({ notes: plan.notes, beatmap: plan.beatmap, clicks });
  state.screen.setState("playing");
  state.screen.show(true);
  document.body.dataset.mode = "playing";
  try {
    state.mic = await openMic();
    state.link.send({ type: "mic_start", sample_rate: state.ctx.sampleRate, timeline_zero_frame: 0,
      device: state.mic.device, click: run.click, count_in_bars: run.count_in_bars });
    state.mic.startSending();
  } catch (err) {
    say(`Your microphone could not start: ${err.message}`);
  }
}

function closeMic() {
  if (state.mic) state.mic.close();
  state.mic = null;
}

function endRun(msg) {
  closeMic();
  state.run = null;
  if (state.clock) state.clock.stop();
  if (state.screen) {
    state.screen.show(false);
    state.screen.setState("ready");
  }
  document.body.dataset.mode = "idle";
  if (msg.closed) {
    state.link.close();
    if (state.results) $("#message").append(` ${msg.detail}.`); // the results stay in view
    else say(`${msg.detail}; this page can close.`);
    return;
  }
  if (msg.session_id !== null && msg.session_id !== undefined) {
    state.results = el("a", "see the results", { href: `/results.html?id=${encodeURIComponent(msg.session_id)}` });
    $("#message").replaceChildren(`The song is over (${msg.detail}): `, state.results, ".");
    $("#message").hidden = false;
    $("#message").classList.add("info");
  } else {
    say(`${msg.detail}; wait for the next start.`, true);
  }
}

async function roomCheckButton(player) {
  state.link.send({ type: "room_check", player });
}

async function byEar() {
  if (state.busy) return;
  state.busy = true;
  let mic = null;
  try {
    mic = await openMic();
    const result = await measureRoundTrip(state.ctx, mic, { name: state.names[PLAYER] });
    $("#latency-1").value = Math.round(result.latency_ms);
    state.setup.device = mic.device;
    state.setup.measured = true;
    sendSeat();
    say(`Round trip ${Math.round(result.latency_ms)} ms from this device's speaker to its microphone.`, true);
  } catch (err) {
    say(`Calibration by ear failed: ${err.message}`);
  } finally {
    if (mic) mic.close();
    state.busy = false;
  }
}

function frame() {
  if (state.run && state.clock && state.clock.running) {
    const t = state.clock.songTimeNow();
    if (t !== null) state.screen.draw(t);
  }
  requestAnimationFrame(frame);
}

async function main() {
  const kits = await api("/api/kitmaps");
  state.groupOf = kits.voice_groups;
  state.screen = new PlayScreen($("#play"), { inputs: null, groupOf: state.groupOf });
  state.screen.setPlayers([null, { name: "Player 2", local: false }]);
  state.screen.show(false);
  $("#join").addEventListener("click", join);
  $("#ear-1").addEventListener("click", byEar);
  $("#kitcheck-1").addEventListener("click", async () => {
    try { await state.setup.check(); sendSeat(); } catch (err) { say(`Kit check failed: ${err.message}`); }
  });
  $("#mic-device-1").addEventListener("change", () => state.setup.refresh().then(sendSeat));
  for (const p of [0, 1]) $(`#roomcheck-${p}`).addEventListener("click", () => roomCheckButton(p));
  if (!joinCode(location.hash)) say("This page needs the join link the host's page shows (…/join.html#code=…).");
  requestAnimationFrame(frame);
  document.body.dataset.ready = "1";
}

// Test hook, as on the play page.
window.drumjam = { state, get screen() { return state.screen; } };

main().catch((err) => say(`drumjam could not start: ${err.message}`));
