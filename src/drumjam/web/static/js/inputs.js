// Inputs: computer keyboard (two players on one keyboard, remappable), on-screen pads and
// electronic kits over Web MIDI. Every input calls onHit({player, voice, velocity, openness,
// timeStamp}) with the event's performance.now()-based timestamp.

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

/** Keyboard hits for both players; `remap` (if set) receives the next key instead. */
export function listenKeyboard(keymap, onHit, state) {
  document.addEventListener("keydown", (ev) => {
    if (ev.repeat || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (state.remap) {
      ev.preventDefault();
      const { player, voice, done } = state.remap;
      state.remap = null;
      keymap.assign(player, voice, ev.code);
      done();
      return;
    }
    const tag = (ev.target && ev.target.tagName) || "";
    if (["INPUT", "SELECT", "TEXTAREA"].includes(tag) && ev.target.type !== "range"
        && ev.target.type !== "checkbox") return;
    const found = keymap.lookup(ev.code);
    if (!found) return;
    ev.preventDefault();
    onHit({ ...found, velocity: 100, openness: null, timeStamp: ev.timeStamp, source: "key" });
  });
}

/** On-screen pads for one player (touch or mouse). */
export function buildPads(container, player, onHit, groupOf) {
  container.replaceChildren();
  for (const voice of PAD_VOICES) {
    const pad = document.createElement("button");
    pad.type = "button";
    pad.className = `pad pad-${groupOf[voice] || voice}`;
    pad.textContent = voice.replace("_", " ");
    pad.dataset.voice = voice;
    pad.addEventListener("pointerdown", (ev) => {
      ev.preventDefault();
      onHit({ player, voice, velocity: 100, openness: null, timeStamp: ev.timeStamp, source: "pad" });
    });
    container.append(pad);
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
