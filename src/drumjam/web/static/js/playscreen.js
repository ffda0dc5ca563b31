// The one play screen of every page: per player a lane view with the upcoming notes, live marks
// and the running line; above them the count-in, a light for the click and the song clock. While
// a run is on, the page's setup gets out of the way (body[data-screen="play"]), and the screen
// fills the window, both players' lanes in view.

import { el } from "./api.js";
import { LaneView } from "./lanes.js";
import { markText, runningText, voiceLabel } from "./marks.js";
import { clickState } from "./timeline.js";

const MAX_MARKS = 12;
const PLAYERS = 2;

export class PlayScreen {
  /**
   * @param {HTMLElement} root the (empty) element to build the screen in
   * @param {object} opts
   * @param {import("./inputs.js").Inputs|null} opts.inputs builds the on-screen pads (none: no pads)
   * @param {Object<string, string>} opts.groupOf voice -> voice group
   * @param {HTMLElement[]} opts.actions the page's buttons for a run (stop, restart, ...)
   */
  constructor(root, { inputs, groupOf = {}, actions = [] }) {
    this.root = root;
    this.groupOf = groupOf;
    this.inputs = inputs;
    this.lanes = [];
    this.clicks = [];
    root.classList.add("play-screen");
    const bar = el("div", "", { class: "play-bar" });
    this.light = el("span", "", { class: "beat-light", id: "beat-light", "aria-hidden": "true" });
    this.countIn = el("b", "", { class: "count-in", id: "count-in" });
    this.clock = el("span", "", { id: "clock", class: "clock" });
    this.state = el("span", "ready", { id: "state" });
    this.duet = el("span", "", { id: "duet-live", class: "sub" });
    const buttons = el("span", "", { class: "play-actions" });
    buttons.append(...actions);
    bar.append(this.light, this.countIn, this.clock, this.state, this.duet, buttons);
    root.append(bar);
    this.blocks = [];
    for (let i = 0; i < PLAYERS; i++) {
      const block = el("div", "", { class: "lane-block", "data-player": String(i) });
      const head = el("div", "", { class: "lane-head" });
      const name = el("b", `Player ${i + 1}`, { class: "player-name", id: `player-name-${i}` });
      const running = el("span", "", { class: "running", id: `running-${i}` });
      head.append(name, running);
      const canvas = el("canvas", "", { class: "lanes", id: `lanes-${i}` });
      const marks = el("ol", "", { class: "marks", id: `marks-${i}`, "aria-label": `Player ${i + 1} hits` });
      const pads = el("div", "", { class: "pads", id: `pads-${i}` });
      block.append(head, canvas, marks, pads);
      root.append(block);
      this.blocks.push({ block, name, running, canvas, marks, pads });
    }
    this.setPlayers([{ name: "Player 1", local: true }]);
  }

  /** Who plays: [{name, local}]; local players get on-screen pads. */
  setPlayers(players) {
    this.blocks.forEach((b, i) => {
      const p = players[i];
      b.block.hidden = !p;
      if (!p) return;
      b.name.textContent = p.name;
      b.marks.setAttribute("aria-label", `${p.name} hits`);
      b.block.classList.toggle("remote", !p.local);
      if (p.local && this.inputs && !b.pads.children.length) this.inputs.pads(b.pads, i, this.groupOf);
      if (!p.local) b.pads.replaceChildren();
    });
    this.players = players;
  }

  /**
   * A new run: the notes (song time) in every player's lanes, the beats and the clicks
   * (timeline.clickSchedule) shown as the count-in and the click light.
   */
  load({ notes, beatmap, clicks }) {
    this.clicks = clicks;
    this.lanes = this.players.map((_, i) => new LaneView(this.blocks[i].canvas,
      { notes, beatmap, groupOf: this.groupOf }));
    for (const b of this.blocks) {
      b.marks.replaceChildren();
      b.running.textContent = "";
    }
    this.duet.textContent = "";
    this.countIn.textContent = "";
  }

  /** Full-screen play mode on (the page's setup hidden) or off. */
  show(on) {
    document.body.dataset.screen = on ? "play" : "setup";
    if (on) this.root.scrollIntoView({ block: "start" });
  }

  setState(text) {
    this.state.textContent = text;
  }

  setDuet(text) {
    this.duet.textContent = text;
  }

  /** Draw song time `t`: lanes, click light, count-in and clock. */
  draw(t) {
    for (const lane of this.lanes) lane.draw(t);
    const { flash, count, waitS } = clickState(this.clicks, t);
    this.light.dataset.flash = flash || "";
    this.countIn.textContent = waitS !== null && waitS > 0.5 ? `starts in ${waitS.toFixed(0)} s`
      : count === null ? "" : String(count);
    this.clock.textContent = `${Math.max(0, t).toFixed(1)} s`;
  }

  /** A judged hit: {time_s, voice, offset_ms, judgment, target_time_s, target_id, running}. */
  judged(player, result) {
    const lane = this.lanes[player];
    if (lane) lane.addMark(result);
    const judgment = result.offset_ms === null ? "extra" : result.judgment;
    this.addMark(player, markText(result), judgment,
      { "data-offset-ms": result.offset_ms === null ? "" : String(result.offset_ms) });
    if (result.running) this.setRunning(player, result.running);
  }

  /** A hit shown without a sound or judgment (a partner's stale hit, say). */
  shown(player, { time_s: timeS, voice }, note) {
    const lane = this.lanes[player];
    if (lane) lane.addMark({ time_s: timeS, voice, offset_ms: null, judgment: "shown", target_time_s: null });
    this.addMark(player, `${voiceLabel(voice)} · ${note}`, "shown");
  }

  /** A line in the player's mark list. */
  addMark(player, text, judgment, attrs = {}) {
    const list = this.blocks[player].marks;
    list.prepend(el("li", text, { class: `mark ${judgment}`, "data-judgment": judgment, ...attrs }));
    while (list.children.length > MAX_MARKS) list.lastChild.remove();
  }

  setRunning(player, running) {
    const line = this.blocks[player].running;
    line.textContent = runningText(running);
    line.dataset.accuracyPct = running.accuracy_pct === null ? "" : String(running.accuracy_pct);
  }
}
