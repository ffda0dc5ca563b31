// An added audio song's own drum part (transcribed from the mix on the server): how far it is,
// the choice to play to it or to the beat grid, its lanes before playing and its MIDI file.

import { api } from "./api.js";
import { LaneView } from "./lanes.js";

const POLL_MS = 2000;
const $ = (sel) => document.querySelector(sel);

export class DrumPartPanel {
  /**
   * @param {object} opts
   * @param {Object<string, string>} opts.groupOf voice -> voice group (for the lanes)
   * @param {function(object): void} opts.onSong called with the song's summary once its
   *   drum part is no longer being made
   */
  constructor({ groupOf, onSong }) {
    this.groupOf = groupOf;
    this.onSong = onSong;
    this.box = $("#drum-part");
    this.status = $("#drum-part-status");
    this.choice = $("#play-to");
    this.showButton = $("#drum-part-show");
    this.midi = $("#drum-part-midi");
    this.view = $("#drum-part-view");
    this.at = $("#drum-part-at");
    this.song = null;
    this.lanes = null;
    this.timer = null;
    this.showButton.addEventListener("click", () => this.preview());
    this.at.addEventListener("input", () => this.draw());
  }

  /** Show the selected song's drum part (or hide the panel for songs without one). */
  show(song) {
    if (!this.song || this.song.id !== song.id) {
      this.view.hidden = true;
      this.lanes = null;
    }
    this.song = song;
    clearTimeout(this.timer);
    const status = song.drum_part;
    this.box.hidden = !status;
    if (!status) return;
    const ready = status === "ready";
    this.choice.disabled = !ready;
    this.showButton.disabled = !ready;
    this.midi.hidden = !ready;
    if (!ready) this.choice.value = "grid";
    this.midi.href = `/api/songs/${encodeURIComponent(song.id)}/drum-part.mid`;
    const done = song.drum_part_progress == null ? "" : ` (${Math.round(100 * song.drum_part_progress)} %)`;
    this.status.textContent = {
      ready: `${song.drum_part_notes} notes transcribed from the song's own drums`,
      pending: `transcribing the drums of the song${done}…`,
      empty: "no drums could be heard in the song: it is played on the grid",
      failed: "the song's drums could not be transcribed: it is played on the grid",
    }[status] || "";
    if (status === "pending") this.timer = setTimeout(() => this.poll(song.id), POLL_MS);
  }

  async poll(id) {
    try {
      const song = await api(`/api/songs/${encodeURIComponent(id)}`);
      if (this.song && this.song.id === id) this.onSong(song);
    } catch (_) {
      this.timer = setTimeout(() => this.poll(id), POLL_MS);
    }
  }

  /** Whether the next run plays against the drum part. */
  chosen() {
    return Boolean(this.song && this.song.drum_part === "ready" && this.choice.value === "drum_part");
  }

  /** The drum part in lanes, as the play screen will show it, from the chosen second. */
  async preview() {
    const part = await api(`/api/songs/${encodeURIComponent(this.song.id)}/drum-part`);
    this.lanes = new LaneView($("#drum-part-lanes"), { notes: part.notes, beatmap: part.beatmap,
      groupOf: this.groupOf });
    const last = part.notes.length ? part.notes[part.notes.length - 1].time_s : 0;
    this.at.max = String(Math.ceil(last));
    this.view.hidden = false;
    this.draw();
  }

  draw() {
    if (this.lanes) this.lanes.draw(Number(this.at.value));
  }
}
