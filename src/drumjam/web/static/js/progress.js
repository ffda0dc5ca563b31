// A waiting line for slow steps (analysing an added song, stretching the backing track to a
// new speed, loading it): what is happening, the seconds so far and, once known, the share done.

import { el } from "./api.js";

export class Progress {
  /** @param {HTMLElement} box where the line goes (hidden while nothing waits) */
  constructor(box) {
    this.box = box;
    this.timer = null;
  }

  /** Show `text` with a running clock; returns this (call `fraction` and `done` on it). */
  begin(text) {
    this.done();
    const started = performance.now();
    this.label = el("span", text);
    this.bar = el("progress", "", { max: "1" });
    this.elapsed = el("span", "", { class: "sub" });
    this.box.replaceChildren(this.label, " ", this.bar, " ", this.elapsed);
    this.box.hidden = false;
    this.box.dataset.busy = "1";
    const tick = () => { this.elapsed.textContent = `${((performance.now() - started) / 1000).toFixed(0)} s`; };
    tick();
    this.timer = setInterval(tick, 500);
    return this;
  }

  /** Change what the line says, its clock running on. */
  text(text) {
    if (this.label) this.label.textContent = text;
  }

  /** The share done (0..1), once it is known; until then the bar is indeterminate. */
  fraction(f) {
    if (this.bar) this.bar.value = f;
  }

  done() {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.box.hidden = true;
    this.box.replaceChildren();
    delete this.box.dataset.busy;
  }
}
