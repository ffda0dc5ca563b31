// A microphone player's setup on the play page: which microphone, its round trip measured by
// ear and the kit check, both stored per player and microphone on the server. The kit check
// asks for each drum in turn (PROMPT_S seconds each) while recording the microphone, then the
// server learns the kit (input gain, thresholds, how each drum sounds) and says which drums it
// cannot tell apart; the player's microphone is transcribed with that profile from then on.

import { api, el, fmt } from "./api.js";
import { encodeFrame, listMicrophones, measureRoundTrip, microphoneLabel, Microphone } from "./mic.js";

/** The drums the check can ask for, as [voice, what the page calls it]. */
export const KIT_DRUMS = [
  ["kick", "bass drum"], ["snare", "snare"], ["side_stick", "side stick"],
  ["hihat_closed", "closed hi-hat"], ["hihat_open", "open hi-hat"], ["hihat_pedal", "hi-hat pedal"],
  ["tom_high", "high tom"], ["tom_mid", "mid tom"], ["tom_floor", "floor tom"],
  ["crash", "crash"], ["ride", "ride"],
];
const CHECKED_FIRST = new Set(["kick", "snare", "hihat_closed", "tom_high", "tom_floor", "crash", "ride"]);
export const PROMPT_S = 3;
export const HITS_ASKED = 4;
const LEAD_S = 1.5;

export function drumName(voice) {
  const found = KIT_DRUMS.find(([v]) => v === voice);
  return found ? found[1] : voice.replace("_", " ");
}

/** The drums to check, as checkboxes in `box`; returns a function giving the ticked ones. */
export function drumChoice(box) {
  for (const [voice, label] of KIT_DRUMS) {
    const input = el("input", "", { type: "checkbox", value: voice });
    input.checked = CHECKED_FIRST.has(voice);
    const item = el("label");
    item.append(input, ` ${label}`);
    box.append(item);
  }
  return () => [...box.querySelectorAll("input:checked")].map((input) => input.value);
}

/** One line about a player's microphone: its stored round trip and kit check. */
export function setupSummary(device, ear, kit) {
  const parts = [device ? `Microphone: ${device}` : "Microphone"];
  parts.push(ear && ear.latency_ms !== null
    ? `round trip ${fmt(ear.latency_ms, " ms")} (stored)` : "round trip not measured yet: measured by ear before the first take, or press By ear");
  if (!kit || !kit.checked) {
    parts.push("kit not checked yet");
  } else {
    parts.push(`kit checked (${kit.voices.map(drumName).join(", ")}; input gain ${fmt(kit.input_gain_db, " dB", true)})`);
    const apart = kit.confused.map(([a, b]) => `the ${drumName(a)} and the ${drumName(b)}`);
    parts.push(apart.length ? `cannot tell apart: ${apart.join("; ")}` : "every drum told apart");
  }
  return `${parts.join(" · ")}.`;
}

/** The round trip and kit profile stored for a player's microphone. */
export async function storedSetup(name, device) {
  const q = new URLSearchParams({ name, device });
  const [ear, kit] = await Promise.all([api(`/api/calibration/ear/latency?${q}`), api(`/api/kitcheck?${q}`)]);
  return { ear, kit };
}

/**
 * The kit check: ask for each drum in `voices` for PROMPT_S seconds (onPrompt(voice, index),
 * then onPrompt(null) at the end) while recording `mic`, and let the server learn the kit.
 * @returns {Promise<object>} the server's KitCheckOut
 */
export async function checkKit(ctx, mic, { name, voices, onPrompt, channel = 0 }) {
  const sr = ctx.sampleRate;
  const promptsAt = ctx.currentTime + LEAD_S;
  const recording = mic.record(LEAD_S + voices.length * PROMPT_S + 0.3);
  voices.forEach((voice, i) => setTimeout(() => onPrompt(voice, i), (LEAD_S + i * PROMPT_S) * 1000));
  setTimeout(() => onPrompt(null, voices.length), (LEAD_S + voices.length * PROMPT_S) * 1000);
  const { firstFrame, channels } = await recording;
  const samples = channels[channel];
  const q = new URLSearchParams({ sample_rate: sr, prompts_frame: Math.round(promptsAt * sr),
    prompt_s: PROMPT_S, name, device: mic.device });
  for (const voice of voices) q.append("voices", voice);
  return api(`/api/kitcheck?${q}`, { method: "POST",
    body: encodeFrame(samples, { player: mic.player, seq: 0, firstFrame }) });
}

/** The microphone part of a player's block: device, stored values, the kit check button. */
export class MicSetup {
  /**
   * @param {{engine: object, player: number, name: () => string, latency: HTMLInputElement,
   *   earButton: HTMLButtonElement, info: HTMLElement, prompt: HTMLElement,
   *   select: HTMLSelectElement, drums: () => string[],
   *   say: (text: string, info?: boolean) => void}} parts
   */
  constructor(parts) {
    Object.assign(this, parts);
    this.device = "";
  }

  /** The chosen microphone's id ("" = the browser's default). */
  get deviceId() {
    return this.select ? this.select.value : "";
  }

  /** Find the microphone (asking for permission), list the others to choose from, and show
   * what is stored for it. */
  async refresh() {
    try {
      this.device = await microphoneLabel(this.deviceId);
    } catch (err) {
      this.info.textContent = "";
      this.say(err.message);
      return;
    }
    if (this.select) {
      const chosen = this.select.value;
      const found = await listMicrophones();
      this.select.replaceChildren(el("option", "default microphone", { value: "" }),
        ...found.map((d) => el("option", d.label || d.deviceId, { value: d.deviceId })));
      this.select.value = found.some((d) => d.deviceId === chosen) ? chosen : "";
      this.select.hidden = false;
    }
    await this.showStored();
  }

  async showStored() {
    try {
      const { ear, kit } = await storedSetup(this.name(), this.device);
      if (ear.latency_ms !== null) this.latency.value = Math.round(ear.latency_ms);
      this.earButton.textContent = ear.latency_ms !== null ? "Recalibrate by ear" : "By ear";
      this.info.textContent = setupSummary(this.device, ear, kit);
    } catch (err) {
      this.info.textContent = `Microphone: ${this.device}.`;
    }
  }

  /** Measure the round trip by ear on an open microphone: it becomes the player's latency
   * and is stored for them and that microphone (the server's answer is returned). */
  async measureByEar(mic) {
    const result = await measureRoundTrip(this.engine.ctx, mic, { name: this.name() });
    this.latency.value = Math.round(result.latency_ms);
    this.device = mic.device;
    await this.showStored();
    return result;
  }

  /** Run the kit check with a microphone opened for it (`channel` given: one interface with a
   * channel per kit, of which this player's kit is heard on that channel). */
  async check({ deviceId = this.deviceId, channel } = {}) {
    const voices = this.drums();
    if (voices.length < 2) throw new Error("Tick at least two drums of your kit for the check.");
    const mic = new Microphone(this.engine.ctx, { onFrame: () => {}, onEnded: (text) => this.say(text) });
    try {
      await mic.open(this.player, channel === undefined ? { deviceId } : { deviceId, players: [0, 1] });
      this.device = mic.device;
      this.prompt.hidden = false;
      this.prompt.textContent = "Get ready…";
      const result = await checkKit(this.engine.ctx, mic, { name: this.name(), voices, channel: channel || 0, onPrompt: (voice) => {
        this.prompt.textContent = voice ? `Hit the ${drumName(voice)} ${HITS_ASKED} times` : "Listening…";
      } });
      await this.showStored();
      this.say(result.messages.length ? `Kit check: ${result.messages.join("; ")}.`
        : "Kit check: every drum told apart.", !result.clipped && !result.not_heard.length);
      return result;
    } finally {
      mic.close();
      this.prompt.hidden = true;
    }
  }
}
