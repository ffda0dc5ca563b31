// Lessons page: record a teacher's groove against a click, show its notation, let a student
// practise it with the tempo trainer and follow their progress. Hit times are seconds from the
// first beat after a one-bar count-in, measured with performance.now() (event timeStamps).
// An electronic kit plays in over Web MIDI with its velocities (the app's MidiInputs).

import { api, errorMessage } from "/js/api.js";
import { KeyMap, MidiInputs, PAD_VOICES } from "/js/inputs.js";

const keys = new KeyMap(); // the jam app's keys, as the player set them there
const $ = (id) => document.getElementById(id);

let recording = null; // {startMs, hits, endMs}
let audio = null;

function message(text, info = false) {
  const box = $("message");
  box.textContent = text;
  box.className = info ? "message info" : "message";
  box.hidden = !text;
}

/** The notation of a lesson as SVG text. */
async function notationSvg(name) {
  const response = await fetch(`/api/lessons/${encodeURIComponent(name)}/notation.svg`);
  if (!response.ok) throw new Error(await errorMessage(response));
  return response.text();
}

function click(atMs, accent) {
  if (!audio) return;
  const when = audio.currentTime + Math.max(0, (atMs - performance.now()) / 1000);
  const osc = audio.createOscillator();
  const gain = audio.createGain();
  osc.frequency.value = accent ? 1500 : 1000;
  gain.gain.setValueAtTime(0.3, when);
  gain.gain.exponentialRampToValueAtTime(0.001, when + 0.05);
  osc.connect(gain).connect(audio.destination);
  osc.start(when);
  osc.stop(when + 0.06);
}

/** Record `bars` bars at `tempo` after a one-bar count-in; resolves with the hits. */
function record(tempo, bars, meter, statusEl) {
  try { audio = audio || new AudioContext(); } catch (_) { audio = null; }
  const beatMs = 60000 / tempo;
  const startMs = performance.now() + meter * beatMs + 100;
  const endMs = startMs + bars * meter * beatMs;
  for (let b = -meter; b < bars * meter; b++) click(startMs + b * beatMs, b % meter === 0);
  recording = { startMs, endMs, hits: [] };
  statusEl.dataset.startMs = String(startMs); // the first beat, on the performance.now() clock
  statusEl.textContent = "count-in…";
  statusEl.classList.add("recording");
  return new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (now < startMs) statusEl.textContent = "count-in…";
      else statusEl.textContent = `recording bar ${Math.min(bars, 1 + Math.floor((now - startMs) / (meter * beatMs)))} of ${bars}`;
      if (now >= endMs + beatMs / 2) {
        const hits = recording.hits;
        recording = null;
        statusEl.classList.remove("recording");
        statusEl.textContent = `${hits.length} hits recorded`;
        resolve(hits);
      } else {
        setTimeout(tick, 50);
      }
    };
    tick();
  });
}

function onHit(voice, timeStamp, velocity = 100) {
  if (!recording) return;
  const t = (timeStamp - recording.startMs) / 1000;
  if (t < -0.25) return; // count-in; a hit just before the first beat is early, kept as such
  recording.hits.push({ time_s: t, voice, velocity });
}

const midi = new MidiInputs((hit) => onHit(hit.voice, hit.timeStamp, hit.velocity));

async function setUpMidi() {
  const { kitmaps } = await api("/api/kitmaps");
  const kit = $("kit-map");
  for (const [key, map] of Object.entries(kitmaps)) kit.append(new Option(map.name, key));
  kit.value = "roland";
  const device = $("midi-device");
  const update = () => midi.set(0, device.value, kitmaps[kit.value]);
  const list = (devices) => {
    const keep = device.value;
    device.replaceChildren(new Option("none (keyboard and pads)", ""));
    for (const d of devices) device.append(new Option(d.name, d.id));
    device.value = devices.some((d) => d.id === keep) ? keep : "";
    update();
  };
  const problem = await midi.init();
  $("midi-status").textContent = problem || "";
  midi.onDevices = list;
  list(midi.devices());
  device.addEventListener("change", update);
  kit.addEventListener("change", update);
}

document.addEventListener("keydown", (ev) => {
  if (ev.repeat || ev.ctrlKey || ev.metaKey || ev.altKey || ev.target.tagName === "INPUT") return;
  const key = keys.lookup(ev.code);
  if (key) { onHit(key.voice, ev.timeStamp); ev.preventDefault(); }
});

function buildPads() {
  for (const voice of PAD_VOICES) {
    const pad = document.createElement("button");
    pad.type = "button";
    pad.className = "pad";
    pad.textContent = voice.replace("_", " ");
    pad.addEventListener("pointerdown", (ev) => onHit(voice, ev.timeStamp));
    $("pads").append(pad);
  }
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

async function teach() {
  message("");
  const tempo = Number($("teach-tempo").value);
  const bars = Number($("teach-bars").value);
  $("record").disabled = true;
  try {
    const hits = await record(tempo, bars, 4, $("record-status"));
    const lesson = await api("/api/lessons", {
      method: "POST", json: { name: $("lesson-name").value, tempo_bpm: tempo, meter: 4,
        bars: $("teach-pick").value || null, hits,
        trainer: { with_feel: $("teach-feel").checked } },
    });
    message(`Lesson “${lesson.name}” made: ${lesson.pattern.bars} bar(s), grid ${lesson.pattern.grid}.`, true);
    await loadLessons(lesson.name);
  } catch (err) {
    message(err.message);
  } finally {
    $("record").disabled = false;
  }
}

async function upload(ev) {
  ev.preventDefault();
  message("");
  const file = $("upload-file").files[0];
  if (!file) { message("Choose a MIDI file first."); return; }
  const form = new FormData();
  form.append("file", file);
  form.append("name", $("lesson-name").value);
  if ($("teach-pick").value) form.append("bars", $("teach-pick").value);
  form.append("with_feel", $("teach-feel").checked ? "true" : "false");
  try {
    const lesson = await api("/api/lessons/upload", { method: "POST", body: form });
    message(`Lesson “${lesson.name}” made from ${file.name}.`, true);
    await loadLessons(lesson.name);
  } catch (err) {
    message(err.message);
  }
}

let keepGoing = false;

/** One attempt: record the loops at the trainer's tempo, score them, show the verdict. */
async function attemptOnce(name, student) {
  const progress = await showProgress();
  const lesson = await api(`/api/lessons/${encodeURIComponent(name)}`);
  const loops = Number($("loops").value);
  const bars = lesson.pattern.bars * loops;
  const hits = await record(progress.tempo_bpm, bars, lesson.pattern.meter, $("practise-status"));
  const result = await api(`/api/lessons/${encodeURIComponent(name)}/attempts`, {
    method: "POST", json: { student, tempo_bpm: progress.tempo_bpm, loops, hits,
      latency_ms: Number($("latency").value) || 0 },
  });
  const verdict = $("verdict");
  verdict.hidden = false;
  verdict.className = `verdict ${result.passed ? "pass" : "fail"}`;
  verdict.textContent = result.change === "mastered"
    ? `Mastered at ${Math.round(result.tempo_bpm)} BPM!`
    : `${result.passed ? "Passed" : "Not yet"} at ${Math.round(result.tempo_bpm)} BPM — next: ${Math.round(result.next_tempo_bpm)} BPM`;
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
  message("");
  const [sessionId, player] = JSON.parse($("session").value);
  try {
    const lesson = await api("/api/lessons/from-session", {
      method: "POST", json: { name: $("lesson-name").value, session_id: sessionId, player,
        bars: $("teach-pick").value || null, trainer: { with_feel: $("teach-feel").checked } },
    });
    message(`Lesson “${lesson.name}” made from ${lesson.source}.`, true);
    await loadLessons(lesson.name);
  } catch (err) {
    message(err.message);
  }
}

async function practise() {
  message("");
  const name = $("lesson").value;
  const student = $("student").value.trim();
  if (!name) { message("Make or choose a lesson first."); return; }
  $("practise").disabled = true;
  keepGoing = $("auto").checked;
  $("stop").hidden = !keepGoing;
  try {
    let result;
    do {
      result = await attemptOnce(name, student);
    } while (keepGoing && result.change !== "mastered");
  } catch (err) {
    message(err.message);
  } finally {
    keepGoing = false;
    $("stop").hidden = true;
    $("practise").disabled = false;
  }
}

async function renameLesson() {
  const name = $("lesson").value;
  const newName = (prompt(`New name for "${name}"`, name) || "").trim();
  if (!newName || newName === name) return;
  const info = await api(`/api/lessons/${encodeURIComponent(name)}`, {
    method: "PATCH", json: { name: newName },
  });
  await loadLessons(info.name);
  message(`Lesson "${name}" is now "${info.name}".`, true);
}

async function deleteLesson() {
  const name = $("lesson").value;
  const everyone = await api(`/api/lessons/${encodeURIComponent(name)}/students`);
  const attempts = everyone.reduce((n, s) => n + s.attempts, 0);
  if (!confirm(`Delete "${name}" and its ${attempts} attempt(s) by ${everyone.length} student(s)?`)) return;
  await api(`/api/lessons/${encodeURIComponent(name)}`, { method: "DELETE" });
  await loadLessons();
  message(`Lesson "${name}" deleted.`, true);
}

buildPads();
setUpMidi().catch((err) => { $("midi-status").textContent = err.message; });
$("record").addEventListener("click", teach);
$("upload").addEventListener("submit", upload);
$("from-session").addEventListener("submit", fromSession);
loadSessions().catch(() => { $("from-session").hidden = true; });
$("practise").addEventListener("click", practise);
$("rename-lesson").addEventListener("click", () => renameLesson().catch((e) => message(e.message)));
$("delete-lesson").addEventListener("click", () => deleteLesson().catch((e) => message(e.message)));
$("stop").addEventListener("click", () => { keepGoing = false; $("stop").hidden = true; });
$("lesson").addEventListener("change", () => showLesson().catch((e) => message(e.message)));
/** The student's latency as calibrated in the jam app (kept as typed if never calibrated). */
async function loadLatency() {
  const student = $("student").value.trim();
  if (!student) return;
  const stored = await api(`/api/calibration/${encodeURIComponent(student)}`);
  if (stored.latency_ms !== null) $("latency").value = Math.round(stored.latency_ms);
}

$("student").addEventListener("change", () => {
  loadLatency().catch((e) => message(e.message));
  showProgress().catch((e) => message(e.message));
});
loadLatency().catch(() => {});
loadLessons().catch((err) => message(err.message));
