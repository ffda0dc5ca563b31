// Lessons page: record a teacher's groove against a click, show its notation, let a student
// practise it with the tempo trainer and follow their progress. Clicks, hits and the play
// screen run on the app's one audio clock (js/engine.js, js/audioclock.js): a hit's time is
// the song time heard when it was played, seconds from the first beat after a one-bar
// count-in, so hitting with the click one hears is on time. Keys, pads and an electronic kit
// over Web MIDI come from the app's input module (js/inputs.js).

import { api, errorMessage, fmt, say } from "/js/api.js";
import { playDrum } from "/js/drums.js";
import { AudioEngine } from "/js/engine.js";
import { Inputs } from "/js/inputs.js";
import { singleFlight } from "/js/once.js";
import { PlayScreen } from "/js/playscreen.js";

const $ = (id) => document.getElementById(id);
const COUNT_IN_BARS = 1;

const engine = new AudioEngine();
const inputs = new Inputs(onHit);
let screen = null;
let recording = null; // {hits, endS}

/** The notation of a lesson as SVG text. */
async function notationSvg(name) {
  const response = await fetch(`/api/lessons/${encodeURIComponent(name)}/notation.svg`);
  if (!response.ok) throw new Error(await errorMessage(response));
  return response.text();
}

/** A click track of `bars` bars at `tempo` from song time 0, as a plan for the audio engine. */
function clickPlan(tempo, bars, meter) {
  const period = 60 / tempo;
  const beats = Array.from({ length: bars * meter }, (_, k) => k * period);
  return { beatmap: { beats, downbeats: beats.filter((_, k) => k % meter === 0), meter },
    lead_in_s: 0, duration_s: bars * meter * period, looped: false };
}

/**
 * Record `bars` bars at `tempo` after a one-bar count-in, the play screen showing `notes`
 * ({time_s, voice}, from the first beat); resolves with the hits (song time, s).
 */
async function record({ tempo, bars, meter, statusEl, notes = [] }) {
  await engine.resume();
  const plan = clickPlan(tempo, bars, meter);
  engine.start({ plan, countInBars: COUNT_IN_BARS, click: true });
  screen.load({ notes, beatmap: plan.beatmap, clicks: engine.clicks });
  recording = { hits: [], endS: plan.duration_s + 30 / tempo };
  // the first beat as heard, on the performance.now() clock
  statusEl.dataset.startMs = String(engine.clock.perfMsOf(0));
  statusEl.classList.add("recording");
  const barS = meter * 60 / tempo;
  return new Promise((resolve) => {
    const tick = () => {
      const t = engine.clock.songTimeNow();
      statusEl.textContent = t < 0 ? "count-in…"
        : `recording bar ${Math.min(bars, 1 + Math.floor(t / barS))} of ${bars}`;
      screen.setState(statusEl.textContent);
      if (t < recording.endS) {
        setTimeout(tick, 50);
        return;
      }
      const { hits } = recording;
      recording = null;
      engine.stop();
      statusEl.classList.remove("recording");
      statusEl.textContent = `${hits.length} hits recorded`;
      resolve(hits);
    };
    tick();
  });
}

function onHit(hit) {
  if (hit.source !== "midi") playDrum(engine.ctx, engine.ctx.destination, hit.voice, hit.velocity);
  if (!recording) return;
  const t = engine.clock.songTimeAt(hit.timeStamp);
  if (t === null) return;
  recording.hits.push({ time_s: t, voice: hit.voice, velocity: hit.velocity });
  screen.shown(0, { time_s: t, voice: hit.voice }, `at ${t.toFixed(2)} s`);
}

function frame() {
  const t = engine.clock.songTimeNow();
  if (t !== null) screen.draw(t);
  requestAnimationFrame(frame);
}

async function loadLessons(select) {
  const lessons = await api("/api/lessons");
  const box = $("lesson");
  box.innerHTML = "";
  for (const l of lessons) box.append(new Option(`${l.name} (${l.bars} bar, ${Math.round(l.tempo_bpm)} BPM)`, l.name));
  if (select) box.value = select;
  await showLesson();
}

async function showLesson() {
  const name = $("lesson").value;
  for (const id of ["musicxml-link", "rename-lesson", "delete-lesson"]) $(id).hidden = !name;
  if (!name) {
    $("notation").textContent = "No lessons yet.";
    $("lesson-info").textContent = $("feel").textContent = "";
    return;
  }
  const lesson = await api(`/api/lessons/${encodeURIComponent(name)}`);
  const p = lesson.pattern;
  const swing = p.grid === "swing8" ? `, swing ${p.swing_ratio.toFixed(2)}:1` : "";
  $("lesson-info").textContent = `${p.bars} bar(s), grid ${p.grid}${swing}, target ${Math.round(p.tempo_bpm)} BPM, ${lesson.notes} notes`;
  $("notation").innerHTML = await notationSvg(name);
  const feel = Object.entries(p.feel_ms).map(([v, ms]) => `${v.replace("_", " ")} ${ms > 0 ? "+" : ""}${Math.round(ms)} ms`);
  $("feel").textContent = `Teacher's feel (+ behind the beat): ${feel.join(", ")}`
    + (lesson.trainer.with_feel ? " — students aim at it" : " — students aim at the grid");
  $("musicxml-link").href = `/api/lessons/${encodeURIComponent(name)}/notation.musicxml`;
  await showProgress();
}

/** Tempo of every attempt (green passed, red not yet) against the target tempo. */
function drawTempoChart(p) {
  const svg = $("tempo-chart");
  const ns = "http://www.w3.org/2000/svg";
  const node = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.append(e);
    return e;
  };
  svg.replaceChildren();
  const [w, h, left, pad] = [600, 160, 44, 14];
  const lo = Math.min(p.target_bpm * 0.4, ...p.history.map((a) => a.tempo_bpm));
  const hi = Math.max(p.target_bpm, ...p.history.map((a) => a.tempo_bpm));
  const y = (bpm) => h - pad - ((bpm - lo) / Math.max(1, hi - lo)) * (h - 2 * pad);
  const n = Math.max(2, p.history.length);
  const x = (i) => left + (i / (n - 1)) * (w - left - pad);
  node("line", { class: "target", x1: left, x2: w - pad, y1: y(p.target_bpm), y2: y(p.target_bpm) });
  node("text", { x: 4, y: y(p.target_bpm) + 4 }, `${Math.round(p.target_bpm)}`);
  node("text", { x: 4, y: y(lo) + 4 }, `${Math.round(lo)}`);
  if (!p.history.length) return;
  node("polyline", { class: "line", points: p.history.map((a, i) => `${x(i)},${y(a.tempo_bpm)}`).join(" ") });
  p.history.forEach((a, i) => {
    node("circle", { class: a.passed ? "pass" : "fail", cx: x(i), cy: y(a.tempo_bpm), r: 5 });
  });
}

async function showProgress() {
  const name = $("lesson").value;
  const student = $("student").value.trim();
  if (!name || !student) return;
  const p = await api(`/api/lessons/${encodeURIComponent(name)}/progress?student=${encodeURIComponent(student)}`);
  $("tempo-now").textContent = Math.round(p.tempo_bpm);
  $("progress-summary").textContent = `${p.student}: ${Math.round(p.tempo_bpm)} of ${Math.round(p.target_bpm)} BPM (${Math.round(p.tempo_pct_of_target)} %), ${p.passes} of ${p.attempts} attempts passed${p.mastered ? " — mastered!" : ""}`;
  drawTempoChart(p);
  const everyone = await api(`/api/lessons/${encodeURIComponent(name)}/students`);
  const list = $("students").querySelector("tbody");
  list.innerHTML = "";
  for (const s of everyone) {
    const row = list.insertRow();
    for (const v of [s.student, Math.round(s.tempo_bpm), Math.round(s.tempo_pct_of_target),
      s.passes, s.attempts, s.mastered ? "yes" : "no"]) row.insertCell().textContent = v;
  }
  const body = $("progress").querySelector("tbody");
  body.innerHTML = "";
  for (const h of p.history) {
    const row = body.insertRow();
    for (const v of [h.attempt, Math.round(h.tempo_bpm), h.passed ? "yes" : "no",
      Math.round(h.played_pct), Math.round(h.on_time_pct), Math.round(h.next_tempo_bpm)]) {
      row.insertCell().textContent = v;
    }
  }
  return p;
}

/** Controls that must wait while a take is recorded. */
function busy(on) {
  for (const id of ["record", "practise", "upload-submit", "from-session-submit", "attempt-upload-submit"]) {
    $(id).disabled = on;
  }
}

const teach = singleFlight(async () => {
  say("");
  const tempo = Number($("teach-tempo").value);
  const bars = Number($("teach-bars").value);
  busy(true);
  screen.setPlayers([{ name: "Teacher", local: true }]);
  screen.show(true);
  try {
    const hits = await record({ tempo, bars, meter: 4, statusEl: $("record-status") });
    const lesson = await api("/api/lessons", {
      method: "POST", json: { name: $("lesson-name").value, tempo_bpm: tempo, meter: 4,
        bars: $("teach-pick").value || null, hits,
        trainer: { with_feel: $("teach-feel").checked } },
    });
    say(`Lesson “${lesson.name}” made: ${lesson.pattern.bars} bar(s), grid ${lesson.pattern.grid}.`, true);
    await loadLessons(lesson.name);
  } catch (err) {
    say(err.message);
  } finally {
    screen.show(false);
    busy(false);
  }
});

async function upload(ev) {
  ev.preventDefault();
  say("");
  const file = $("upload-file").files[0];
  if (!file) { say("Choose a MIDI file or a recording first."); return; }
  const form = new FormData();
  form.append("file", file);
  form.append("name", $("lesson-name").value);
  if ($("teach-pick").value) form.append("bars", $("teach-pick").value);
  form.append("with_feel", $("teach-feel").checked ? "true" : "false");
  try {
    const lesson = await api("/api/lessons/upload", { method: "POST", body: form });
    say(`Lesson “${lesson.name}” made from ${file.name}.`, true);
    await loadLessons(lesson.name);
  } catch (err) {
    say(err.message);
  }
}

/** An attempt uploaded as a file (recordings are transcribed on the server), scored by the trainer. */
const uploadAttempt = singleFlight(async () => {
  say("");
  const name = $("lesson").value;
  const file = $("attempt-file").files[0];
  if (!name || !file) { say("Choose a lesson and the attempt's MIDI file or recording first."); return; }
  const form = new FormData();
  form.append("file", file);
  form.append("student", $("student").value.trim());
  busy(true);
  say(`Scoring ${file.name}…`, true);
  try {
    const r = await api(`/api/lessons/${encodeURIComponent(name)}/attempts/upload`, { method: "POST", body: form });
    say(`${file.name}: ${r.passed ? "passed" : "not yet"} at ${Math.round(r.tempo_bpm)} BPM `
      + `(${Math.round(r.played_pct)} % played, ${Math.round(r.on_time_pct)} % on time) — next: `
      + `${Math.round(r.next_tempo_bpm)} BPM. ${r.feedback.join(" ")}`, true);
    await showProgress();
  } catch (err) {
    say(err.message);
  } finally {
    busy(false);
  }
});

let keepGoing = false;

/** One attempt: record the loops at the trainer's tempo, score them, show the verdict. */
async function attemptOnce(name, student) {
  const progress = await showProgress();
  const lesson = await api(`/api/lessons/${encodeURIComponent(name)}`);
  const loops = Number($("loops").value);
  const bars = lesson.pattern.bars * loops;
  const chart = await api(`/api/lessons/${encodeURIComponent(name)}/chart?tempo_bpm=${progress.tempo_bpm}&loops=${loops}`);
  const hits = await record({ tempo: progress.tempo_bpm, bars, meter: lesson.pattern.meter,
    statusEl: $("practise-status"), notes: chart.notes });
  const result = await api(`/api/lessons/${encodeURIComponent(name)}/attempts`, {
    method: "POST", json: { student, tempo_bpm: progress.tempo_bpm, loops, hits,
      latency_ms: Number($("latency").value) || 0 },
  });
  const verdict = $("verdict");
  $("verdict-panel").hidden = false;
  verdict.className = `verdict ${result.passed ? "pass" : "fail"}`;
  const mean = result.mean_offset_ms === null ? "" : ` · mean offset ${fmt(result.mean_offset_ms, " ms", true, 1)}`;
  verdict.textContent = (result.change === "mastered"
    ? `Mastered at ${Math.round(result.tempo_bpm)} BPM!`
    : `${result.passed ? "Passed" : "Not yet"} at ${Math.round(result.tempo_bpm)} BPM — next: ${Math.round(result.next_tempo_bpm)} BPM`) + mean;
  verdict.dataset.meanOffsetMs = result.mean_offset_ms === null ? "" : String(result.mean_offset_ms);
  const link = $("attempt-link");
  link.hidden = result.session_id === undefined || result.session_id === null;
  link.href = `/results.html?id=${encodeURIComponent(result.session_id)}`;
  const list = $("feedback");
  list.innerHTML = "";
  for (const line of result.feedback) {
    const item = document.createElement("li");
    item.textContent = line;
    list.append(item);
  }
  await showProgress();
  return result;
}

async function loadSessions() {
  const sessions = await api("/api/history?limit=50");
  const box = $("session");
  box.replaceChildren();
  for (const s of sessions) {
    s.players.forEach((p, i) => {
      box.append(new Option(`#${s.id} ${s.song_title}: ${p.name}`, JSON.stringify([s.id, i])));
    });
  }
  $("from-session").hidden = !box.options.length;
}

async function fromSession(ev) {
  ev.preventDefault();
  say("");
  const [sessionId, player] = JSON.parse($("session").value);
  try {
    const lesson = await api("/api/lessons/from-session", {
      method: "POST", json: { name: $("lesson-name").value, session_id: sessionId, player,
        bars: $("teach-pick").value || null, trainer: { with_feel: $("teach-feel").checked } },
    });
    say(`Lesson “${lesson.name}” made from ${lesson.source}.`, true);
    await loadLessons(lesson.name);
  } catch (err) {
    say(err.message);
  }
}

const practise = singleFlight(async () => {
  say("");
  const name = $("lesson").value;
  const student = $("student").value.trim();
  if (!name) { say("Make or choose a lesson first."); return; }
  busy(true);
  screen.setPlayers([{ name: student, local: true }]);
  keepGoing = $("auto").checked;
  $("stop").hidden = !keepGoing;
  screen.show(true);
  try {
    let result;
    do {
      result = await attemptOnce(name, student);
    } while (keepGoing && result.change !== "mastered");
  } catch (err) {
    say(err.message);
  } finally {
    keepGoing = false;
    $("stop").hidden = true;
    screen.show(false);
    busy(false);
  }
});

async function renameLesson() {
  const name = $("lesson").value;
  const newName = (prompt(`New name for "${name}"`, name) || "").trim();
  if (!newName || newName === name) return;
  const info = await api(`/api/lessons/${encodeURIComponent(name)}`, {
    method: "PATCH", json: { name: newName },
  });
  await loadLessons(info.name);
  say(`Lesson "${name}" is now "${info.name}".`, true);
}

async function deleteLesson() {
  const name = $("lesson").value;
  const everyone = await api(`/api/lessons/${encodeURIComponent(name)}/students`);
  const attempts = everyone.reduce((n, s) => n + s.attempts, 0);
  if (!confirm(`Delete "${name}" and its ${attempts} attempt(s) by ${everyone.length} student(s)?`)) return;
  await api(`/api/lessons/${encodeURIComponent(name)}`, { method: "DELETE" });
  await loadLessons();
  say(`Lesson "${name}" deleted.`, true);
}

screen = new PlayScreen($("play"), { inputs, actions: [$("stop")] });
api("/api/kitmaps").then(({ kitmaps, voice_groups: groupOf }) => {
  Object.assign(screen.groupOf, groupOf);
  return inputs.chooseMidi([{ player: 0, device: $("midi-device"), kit: $("kit-map") }], kitmaps, $("midi-status"));
}).catch((err) => { $("midi-status").textContent = err.message; });
requestAnimationFrame(frame);
window.drumjamLessons = { engine, inputs, get screen() { return screen; } };
$("record").addEventListener("click", teach);
$("upload").addEventListener("submit", upload);
$("attempt-upload").addEventListener("submit", (ev) => { ev.preventDefault(); uploadAttempt(); });
$("from-session").addEventListener("submit", fromSession);
loadSessions().catch(() => { $("from-session").hidden = true; });
$("practise").addEventListener("click", practise);
$("rename-lesson").addEventListener("click", () => renameLesson().catch((e) => say(e.message)));
$("delete-lesson").addEventListener("click", () => deleteLesson().catch((e) => say(e.message)));
$("stop").addEventListener("click", () => { keepGoing = false; $("stop").hidden = true; });
$("lesson").addEventListener("change", () => showLesson().catch((e) => say(e.message)));
/** The student's latency as calibrated in the jam app (kept as typed if never calibrated). */
async function loadLatency() {
  const student = $("student").value.trim();
  if (!student) return;
  const stored = await api(`/api/calibration/${encodeURIComponent(student)}`);
  if (stored.latency_ms !== null) $("latency").value = Math.round(stored.latency_ms);
}

$("student").addEventListener("change", () => {
  loadLatency().catch((e) => say(e.message));
  showProgress().catch((e) => say(e.message));
});
loadLatency().catch(() => {});
loadLessons().catch((err) => say(err.message));
