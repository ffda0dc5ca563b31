// The one input module of every page: computer keyboard (two players on one keyboard,
// remappable), on-screen pads and electronic kits over Web MIDI, plus any other source added
// with Inputs.add (a microphone's onset detector, say). Every input calls
// onHit({player, voice, velocity, openness, timeStamp, source}) with the event's
// performance.now()-based timestamp; the page turns it into song time on the audio clock
// (audioclock.js), the same way for every source.

export const PAD_VOICES = [
  "crash", "ride", "hihat_open", "hihat_closed", "hihat_pedal", "tom_high", "tom_mid", "tom_floor",
  "snare", "kick",
];

/** Default keys (KeyboardEvent.code) for player 1 (left hand side) and player 2 (right). */
export const DEFAULT_KEYS = [
  { KeyZ: "kick", KeyX: "snare", KeyC: "hihat_closed", KeyV: "hihat_open", KeyA: "tom_high",
    KeyS: "tom_mid", KeyD: "tom_floor", KeyQ: "crash", KeyW: "ride",
    KeyF: "hihat_pedal" },
  { KeyM: "kick", Comma: "snare", Period: "hihat_closed", Slash: "hihat_open", KeyJ: "tom_high",
    KeyK: "tom_mid", KeyL: "tom_floor", KeyU: "crash", KeyI: "ride",
    Semicolon: "hihat_pedal" },
];

const STORAGE_KEY = "drumjam.keys.v2";

/** Human label of a KeyboardEvent.code. */
export function keyLabel(code) {
  const names = { Comma: ",", Period: ".", Slash: "/", Semicolon: ";", Quote: "'", Space: "Space",
    BracketLeft: "[", BracketRight: "]", Backslash: "\\", Minus: "-", Equal: "=" };
  if (names[code]) return names[code];
  if (code.startsWith("Key")) return code.slice(3);
  if (code.startsWith("Digit")) return code.slice(5);
  return code;
}

export class KeyMap {
  constructor() {
    this.players = DEFAULT_KEYS.map((m) => ({ ...m }));
    try {
      const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
      if (Array.isArray(saved) && saved.length === 2) this.players = saved;
    } catch (_) { /* keep defaults */ }
  }

  lookup(code) {
    for (let p = 0; p < this.players.length; p++) {
      if (this.players[p][code]) return { player: p, voice: this.players[p][code] };
    }
    return null;
  }

  keyOf(player, voice) {
    return Object.keys(this.players[player]).find((code) => this.players[player][code] === voice);
  }

  assign(player, voice, code) {
    for (const map of this.players) delete map[code];
    const old = this.keyOf(player, voice);
    if (old) delete this.players[player][old];
    this.players[player][code] = voice;
    localStorage.setItem(STORAGE_KEY, JSON.stringify(this.players));
  }

  reset() {
    this.players = DEFAULT_KEYS.map((m) => ({ ...m }));
    localStorage.removeItem(STORAGE_KEY);
  }
}

/**
 * Every input of a page, calling `onHit(hit)` for each hit.
 *
 * Other sources plug in with `add(source)`: an object with `start(emit)` and `stop()` that
 * calls `emit({player, voice, velocity, openness, timeStamp, source})`, timeStamp in
 * performance.now() milliseconds at which the hit was played.
 */
export class Inputs {
  constructor(onHit, { keymap = new KeyMap() } = {}) {
    this.onHit = onHit;
    this.keymap = keymap;
    this.midi = new MidiInputs(onHit);
    this.remap = null; // {player, voice, done}: the next key press is assigned instead of played
    this.sources = [];
    this.onKey = (ev) => this.key(ev);
    document.addEventListener("keydown", this.onKey);
  }

  key(ev) {
    if (ev.repeat || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (this.remap) {
      ev.preventDefault();
      const { player, voice, done } = this.remap;
      this.remap = null;
      this.keymap.assign(player, voice, ev.code);
      done();
      return;
    }
    const target = ev.target || {};
    if (["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName) && target.type !== "range"
        && target.type !== "checkbox") return;
    const found = this.keymap.lookup(ev.code);
    if (!found) return;
    ev.preventDefault();
    this.onHit({ ...found, velocity: 100, openness: null, timeStamp: ev.timeStamp, source: "key" });
  }

  /** On-screen pads for one player (touch or mouse) in `container`. */
  pads(container, player, groupOf = {}) {
    container.replaceChildren();
    for (const voice of PAD_VOICES) {
      const pad = document.createElement("button");
      pad.type = "button";
      pad.className = `pad pad-${groupOf[voice] || voice}`;
      pad.textContent = voice.replace("_", " ");
      pad.dataset.voice = voice;
      pad.addEventListener("pointerdown", (ev) => {
        ev.preventDefault();
        this.onHit({ player, voice, velocity: 100, openness: null, timeStamp: ev.timeStamp, source: "pad" });
      });
      container.append(pad);
    }
  }

  /**
   * Web MIDI for the page: each chooser {player, device, kit} is a pair of <select>s picking
   * that player's kit and its note map; `status` tells how many kits were found (or why none).
   */
  async chooseMidi(choosers, kitmaps, status) {
    for (const { player, device, kit } of choosers) {
      for (const [key, map] of Object.entries(kitmaps)) kit.append(new Option(map.name, key));
      kit.value = "roland";
      const update = () => this.midi.set(player, device.value, kitmaps[kit.value]);
      device.addEventListener("change", update);
      kit.addEventListener("change", update);
      update();
    }
    const list = (devices) => {
      status.textContent = `${devices.length} MIDI input(s) found`;
      for (const { device } of choosers) {
        const chosen = device.value;
        device.replaceChildren(new Option(device.options[0] ? device.options[0].text : "none", ""));
        for (const d of devices) device.append(new Option(d.name, d.id));
        device.value = devices.some((d) => d.id === chosen) ? chosen : "";
        device.dispatchEvent(new Event("change"));
      }
    };
    const problem = await this.midi.init();
    if (problem) {
      status.textContent = problem;
      return;
    }
    this.midi.onDevices = list;
    list(this.midi.devices());
  }

  /** Plug in another source of hits (see the class comment). */
  add(source) {
    this.sources.push(source);
    source.start((hit) => this.onHit(hit));
  }
}

/** Web MIDI: per player a device id and a kit map; hi-hat openness from the kit's CC. */
export class MidiInputs {
  constructor(onHit) {
    this.onHit = onHit;
    this.access = null;
    this.choice = [{ device: "", kit: null }, { device: "", kit: null }];
    this.openness = new Map(); // device id -> last openness 0..1
    this.onDevices = null; // called with the device list when a kit is plugged in or out
  }

  async init() {
    if (!navigator.requestMIDIAccess) return "Web MIDI is not available in this browser";
    try {
      this.access = await navigator.requestMIDIAccess();
    } catch (err) {
      return `MIDI access was refused (${err.message || err})`;
    }
    this.access.inputs.forEach((input) => this.watch(input));
    this.access.onstatechange = (ev) => {
      if (ev.port.type === "input" && ev.port.state === "connected") this.watch(ev.port);
      if (this.onDevices) this.onDevices(this.devices());
    };
    return null;
  }

  devices() {
    const list = [];
    if (this.access) this.access.inputs.forEach((input) => list.push({ id: input.id, name: input.name }));
    return list;
  }

  watch(input) {
    input.onmidimessage = (ev) => this.message(input.id, ev);
  }

  set(player, device, kit) {
    this.choice[player] = { device, kit };
  }

  message(deviceId, ev) {
    const [status, data1, data2] = ev.data;
    const kind = status & 0xf0;
    this.choice.forEach((choice, player) => {
      if (choice.device !== deviceId || !choice.kit) return;
      if (kind === 0xb0 && data1 === choice.kit.hihat_cc) {
        this.openness.set(deviceId, Math.abs(choice.kit.hihat_cc_closed_value - data2) / 127);
      } else if (kind === 0x90 && data2 > 0) {
        const voice = choice.kit.notes[String(data1)];
        if (!voice) return;
        const openness = voice.startsWith("hihat") && this.openness.has(deviceId)
          ? this.openness.get(deviceId) : null;
        this.onHit({ player, voice, velocity: data2, openness, timeStamp: ev.timeStamp, source: "midi" });
      }
    });
  }
}
